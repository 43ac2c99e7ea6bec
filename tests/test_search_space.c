/* The search space: each kind's text and what it holds, conditions, the space file, every
 * refusal with the place (origin and column) and the reason, the roles bind gives names
 * against the trainer's settings and the model spec's {name} placeholders, filling a
 * spec, and a trial's settings (gd_space_apply). */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

TestSuite(search_space, .init = scratch_make, .fini = scratch_remove);

static gd_space *space_of(const char *const *params, int n)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    for (int i = 0; i < n; i++) {
        char origin[32];
        snprintf(origin, sizeof origin, "--param %d", i + 1);
        gd_error err;
        cr_assert_eq(gd_space_add(sp, params[i], origin, &err), GD_OK, "%s: %s", params[i],
                     err.message);
    }
    return sp;
}

/* The text is refused with exactly this message, and the space keeps no parameter. */
static void expect_refused(const char *text, const char *message)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err = {{0}};
    cr_expect_eq(gd_space_add(sp, "optim=choice(sgd, adam)", "--param 1", &err), GD_OK);
    cr_expect_eq(gd_space_add(sp, text, "--param 2", &err), GD_ERR_INVALID_ARGUMENT, "%s",
                 text);
    cr_expect_str_eq(err.message, message, "%s", text);
    cr_expect_eq(gd_space_count(sp), 1, "%s left a parameter", text);
    gd_space_free(sp);
}

Test(search_space, each_kind_holds_its_range_or_options)
{
    const char *p[] = {"lr=loguniform(1e-4, 1e-1)", "dropout = uniform( 0 , 0.6 )",
                       "width=int(16,256)", "batch_size=logint(16, 512)",
                       "optim=choice(sgd,adam, rmsprop)"};
    gd_space *sp = space_of(p, 5);
    cr_assert_eq(gd_space_count(sp), 5);
    const gd_param_info *q = gd_space_param(sp, 0);
    cr_expect_str_eq(q->name, "lr");
    cr_expect_eq(q->kind, GD_PARAM_LOGUNIFORM);
    cr_expect(q->lo == 1e-4 && q->hi == 1e-1);
    cr_expect_eq(q->parent, -1);
    cr_expect_str_eq(q->origin, "--param 1");
    q = gd_space_param(sp, 1);
    cr_expect(q->kind == GD_PARAM_UNIFORM && q->lo == 0 && q->hi == 0.6);
    q = gd_space_param(sp, 2);
    cr_expect(q->kind == GD_PARAM_INT && q->lo == 16 && q->hi == 256);
    q = gd_space_param(sp, 3);
    cr_expect(q->kind == GD_PARAM_LOGINT && q->lo == 16 && q->hi == 512);
    q = gd_space_param(sp, 4);
    cr_expect_eq(q->kind, GD_PARAM_CHOICE);
    cr_assert_eq(q->options, 3);
    cr_expect_str_eq(q->option[0], "sgd");
    cr_expect_str_eq(q->option[1], "adam");
    cr_expect_str_eq(q->option[2], "rmsprop");
    cr_expect_eq(gd_space_find(sp, "width"), 2);
    cr_expect_eq(gd_space_find(sp, "momentum"), -1);
    cr_expect_null(gd_space_param(sp, 5));
    gd_space_free(sp);
}

Test(search_space, choice_options_may_be_numbers_or_specs_pieces)
{
    const char *p[] = {"batch_size=choice(32, 64, 128)", "schedule=choice(step:10:0.5, cosine)"};
    gd_space *sp = space_of(p, 2);
    cr_expect_str_eq(gd_space_param(sp, 0)->option[2], "128");
    cr_expect_str_eq(gd_space_param(sp, 1)->option[0], "step:10:0.5");
    gd_space_free(sp);
}

Test(search_space, a_condition_names_an_earlier_choice_and_its_options)
{
    const char *p[] = {"optim=choice(sgd, adam, rmsprop)",
                       "momentum=uniform(0.5, 0.99) if optim=sgd",
                       "weight_decay=loguniform(1e-6,1e-2) if optim in (sgd, rmsprop) # both"};
    gd_space *sp = space_of(p, 3);
    cr_expect_eq(gd_space_param(sp, 1)->parent, 0);
    cr_expect_eq(gd_space_param(sp, 1)->when, 1u);
    cr_expect_eq(gd_space_param(sp, 2)->parent, 0);
    cr_expect_eq(gd_space_param(sp, 2)->when, 5u); /* options 0 and 2 */
    gd_space_free(sp);
}

Test(search_space, blanks_and_comments_add_nothing)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err;
    cr_expect_eq(gd_space_add(sp, "", "--param 1", &err), GD_OK);
    cr_expect_eq(gd_space_add(sp, "   \t", "--param 2", &err), GD_OK);
    cr_expect_eq(gd_space_add(sp, "  # lr=uniform(0,1)", "--param 3", &err), GD_OK);
    cr_expect_eq(gd_space_count(sp), 0);
    gd_space_free(sp);
}

Test(search_space, ranges_are_refused_with_their_column)
{
    expect_refused("lr=loguniform(0, 1)", "--param 2, column 15: loguniform's lower end must "
                   "be above 0 (its logarithm is drawn): 0");
    expect_refused("lr=loguniform(-1e-3, 1)", "--param 2, column 15: loguniform's lower end "
                   "must be above 0 (its logarithm is drawn): -1e-3");
    expect_refused("n=logint(0, 8)", "--param 2, column 10: logint's lower end must be at "
                   "least 1 (its logarithm is drawn): 0");
    expect_refused("x=uniform(1, 1)", "--param 2, column 14: the upper end must be above the "
                   "lower (a fixed value is a flag, not a parameter): 1");
    expect_refused("x=uniform(2, 1)", "--param 2, column 14: the upper end must be above the "
                   "lower (a fixed value is a flag, not a parameter): 1");
    expect_refused("w=int(1.5, 8)", "--param 2, column 7: not an integer (within 2^53): 1.5");
    expect_refused("x=uniform(0, inf)", "--param 2, column 14: not a finite number: inf");
    expect_refused("x=uniform(0, 1e999)", "--param 2, column 14: not a finite number: 1e999");
    expect_refused("x=uniform(zero, 1)", "--param 2, column 11: not a finite number: zero");
    expect_refused("x=uniform(0)", "--param 2, column 12: a range needs two numbers, (lo, hi)");
    expect_refused("x=uniform(0, 1, 2)",
                   "--param 2, column 17: expected ')': a range has two ends");
}

Test(search_space, the_grammar_is_refused_where_it_breaks)
{
    expect_refused("=uniform(0, 1)", "--param 2, column 1: expected a parameter's name");
    expect_refused("weight-decay=uniform(0, 1)", "--param 2, column 7: expected '=' after the "
                   "name");
    expect_refused("x uniform(0, 1)", "--param 2, column 3: expected '=' after the name");
    expect_refused("x=normal(0, 1)", "--param 2, column 3: no kind is named this: use "
                   "uniform, loguniform, int, logint or choice");
    expect_refused("x=uniform 0, 1", "--param 2, column 11: expected '(' after the kind");
    expect_refused("x=uniform(0, 1", "--param 2, column 15: expected ',' or ')'");
    expect_refused("x=uniform(0,, 1)", "--param 2, column 13: expected a value");
    expect_refused("x=uniform(0, 1) junk", "--param 2, column 17: expected 'if', a comment "
                   "or the end");
    expect_refused("x=choice(a, \"b\")", "--param 2, column 13: expected a value");
    expect_refused("x=choice(a)", "--param 2, column 10: a choice needs two options or more "
                   "(a fixed value is a flag, not a parameter)");
    expect_refused("x=choice(a, b, a)", "--param 2, column 16: an option given twice: a");
    expect_refused("optim=choice(a, b)", "--param 2, column 1: a parameter given twice: optim");
}

Test(search_space, a_condition_is_refused_on_a_later_unknown_or_numeric_parameter)
{
    expect_refused("momentum=uniform(0.5, 0.99) if nesterov=true", "--param 2, column 32: a "
                   "condition must be on an earlier parameter; none is named nesterov");
    expect_refused("momentum=uniform(0.5, 0.99) if momentum=sgd", "--param 2, column 32: a "
                   "condition must be on an earlier parameter; none is named momentum");
    expect_refused("momentum=uniform(0.5, 0.99) if optim=sgdd", "--param 2, column 38: the "
                   "condition's parameter has no such option: sgdd");
    expect_refused("momentum=uniform(0.5, 0.99) if optim in (sgd, x)", "--param 2, column 47: "
                   "the condition's parameter has no such option: x");
    expect_refused("momentum=uniform(0.5, 0.99) if optim is sgd", "--param 2, column 38: "
                   "expected '=' or 'in' after the condition's name");
    expect_refused("momentum=uniform(0.5, 0.99) when optim=sgd", "--param 2, column 29: "
                   "expected 'if', a comment or the end");
    expect_refused("momentum=uniform(0.5, 0.99) if optim=sgd and", "--param 2, column 42: "
                   "expected a comment or the end after the condition");

    const char *p[] = {"lr=loguniform(1e-4, 1)"};
    gd_space *sp = space_of(p, 1);
    gd_error err;
    cr_expect_eq(gd_space_add(sp, "m=uniform(0, 1) if lr=1", "--param 2", &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(err.message, "--param 2, column 20: a condition must be on a choice "
                     "parameter: lr");
    gd_space_free(sp);
}

Test(search_space, more_than_32_parameters_are_refused)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err;
    for (int i = 0; i < GD_SPACE_MAX_PARAMS; i++) {
        char text[32];
        snprintf(text, sizeof text, "p%d=uniform(0, 1)", i);
        cr_assert_eq(gd_space_add(sp, text, "--param", &err), GD_OK);
    }
    cr_expect_eq(gd_space_add(sp, "extra=uniform(0, 1)", "--param 33", &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(err.message, "--param 33, column 1: more than 32 parameters");
    gd_space_free(sp);
}

/* ------------------------------------------------------------- space files */

static const char space_text[] =
    "# Fashion-MNIST, an MLP\n"
    "\n"
    "lr = loguniform(1e-4, 1e-1)   # the most important\n"
    "optim = choice(sgd, adam)\n"
    "   \n"
    "momentum = uniform(0.5, 0.99) if optim = sgd\r\n";

Test(search_space, a_file_holds_one_parameter_a_line_with_comments_and_blanks)
{
    const char *path = scratch_path("space.txt");
    scratch_write(path, space_text, strlen(space_text));
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err;
    cr_assert_eq(gd_space_read(sp, path, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_space_count(sp), 3);
    char origin[256];
    snprintf(origin, sizeof origin, "%s line 6", path);
    cr_expect_str_eq(gd_space_param(sp, 2)->origin, origin);
    cr_expect_eq(gd_space_param(sp, 2)->parent, 1);
    gd_space_free(sp);
}

Test(search_space, a_bad_line_names_the_file_line_and_column)
{
    static const char text[] = "lr = loguniform(1e-4, 1e-1)\n\n  dropout = uniform(0.6, 0)\n";
    const char *path = scratch_path("space.txt");
    scratch_write(path, text, strlen(text));
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err;
    cr_expect_eq(gd_space_read(sp, path, &err), GD_ERR_INVALID_ARGUMENT);
    char want[256];
    snprintf(want, sizeof want, "%s line 3, column 26: the upper end must be above the lower "
             "(a fixed value is a flag, not a parameter): 0", path);
    cr_expect_str_eq(err.message, want);
    gd_space_free(sp);
}

Test(search_space, a_missing_file_or_one_with_a_nul_byte_is_named)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    gd_error err;
    const char *path = scratch_path("absent.txt");
    cr_expect_eq(gd_space_read(sp, path, &err), GD_ERR_IO);
    cr_expect(strstr(err.message, path) && strstr(err.message, "No such file"), "%s",
              err.message);
    path = scratch_path("binary.txt");
    scratch_write(path, "lr=uniform(0,1)\n\0\n", 18);
    cr_expect_eq(gd_space_read(sp, path, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "holds a NUL byte"), "%s", err.message);
    gd_space_free(sp);
}

/* ----------------------------------------------------------------- binding */

static void expect_bind_refused(const char *const *params, int n, const char *spec,
                                const char *message)
{
    gd_space *sp = space_of(params, n);
    gd_error err = {{0}};
    cr_expect_eq(gd_space_bind(sp, spec, &err), GD_ERR_INVALID_ARGUMENT, "%s", params[n - 1]);
    cr_expect_str_eq(err.message, message);
    gd_space_free(sp);
}

Test(search_space, bind_tells_settings_from_placeholders)
{
    const char *p[] = {"lr=loguniform(1e-4, 1e-1)", "width=logint(16, 512)",
                       "dropout=uniform(0, 0.6)", "optim=choice(sgd, adam)",
                       "momentum=uniform(0.5, 0.99) if optim=sgd", "batch_size=int(16, 256)",
                       "hflip=choice(true, false)"};
    gd_space *sp = space_of(p, 7);
    gd_error err;
    cr_assert_eq(gd_space_bind(sp, "linear({width}) bn relu dropout({dropout}) linear(10)",
                               &err), GD_OK, "%s", err.message);
    bool want[] = {false, true, true, false, false, false, false};
    for (int i = 0; i < 7; i++)
        cr_expect_eq(gd_space_param(sp, i)->placeholder, want[i], "%s", p[i]);
    gd_space_free(sp);
}

Test(search_space, bind_refuses_a_name_that_is_neither_or_both)
{
    const char *unknown[] = {"learning_rate=loguniform(1e-4, 1)"};
    expect_bind_refused(unknown, 1, "linear(10)", "--param 1, column 1: no setting and no "
                        "{learning_rate} placeholder of --model is named learning_rate");
    const char *clash[] = {"dropout=uniform(0, 0.5)", "lr=uniform(0.1, 0.5)"};
    expect_bind_refused(clash, 2, "linear(10) dropout({dropout}) lr({lr})", "--param 2, "
                        "column 1: lr is both a setting and a {lr} placeholder of --model: "
                        "rename the placeholder");
    const char *model[] = {"model=choice(a, b)"};
    expect_bind_refused(model, 1, NULL, "--param 1, column 1: model cannot be searched: put "
                        "{name} placeholders in --model");
    const char *seed[] = {"seed=int(1, 9)"};
    expect_bind_refused(seed, 1, NULL, "--param 1, column 1: seed cannot be searched: each "
                        "trial has its own, from the study's seed");
}

Test(search_space, bind_refuses_a_spec_placeholder_no_parameter_fills)
{
    const char *p[] = {"width=int(16, 64)"};
    expect_bind_refused(p, 1, "linear({width}) relu linear({classes})", "--model, position "
                        "29: {classes} is no parameter of the space (add --param "
                        "classes=...)");
    expect_bind_refused(p, 1, "linear({width}) relu linear({})", "--model, position 29: '{' "
                        "opens no placeholder {name} (a letter or '_', then letters, digits, "
                        "'_', and '}')");
    expect_bind_refused(p, 1, "linear({width) relu", "--model, position 8: '{' opens no "
                        "placeholder {name} (a letter or '_', then letters, digits, '_', and "
                        "'}')");
}

Test(search_space, bind_refuses_a_conditional_placeholder)
{
    const char *p[] = {"act=choice(relu, tanh)", "width=int(16, 64) if act=relu"};
    expect_bind_refused(p, 2, "linear({width}) {act} linear(10)", "--param 2, column 1: "
                        "{width} has a condition, but --model needs a value for it in every "
                        "trial");
}

Test(search_space, bind_checks_each_value_by_the_settings_own_rules)
{
    const char *whole[] = {"batch_size=uniform(16, 256)"};
    expect_bind_refused(whole, 1, NULL, "--param 1, column 1: batch_size takes whole "
                        "numbers: use int, logint or choice");
    const char *text[] = {"optim=int(1, 3)"};
    expect_bind_refused(text, 1, NULL, "--param 1, column 1: optim is text: give it as a "
                        "choice(...)");
    const char *sw[] = {"hflip=choice(true, maybe)"};
    expect_bind_refused(sw, 1, NULL, "--param 1, column 1: hflip cannot take every value: "
                        "--hflip maybe: expected true or false");
    const char *range[] = {"momentum=uniform(0.5, 1)"};
    expect_bind_refused(range, 1, NULL, "--param 1, column 1: momentum cannot take every "
                        "value: --momentum 1: expected a number in [0, 1)");
    const char *low[] = {"lr=uniform(0, 0.1)"};
    expect_bind_refused(low, 1, NULL, "--param 1, column 1: lr cannot take every value: --lr "
                        "0: expected a number in (0, inf)");
    const char *batch[] = {"batch_size=choice(32, 64.5)"};
    expect_bind_refused(batch, 1, NULL, "--param 1, column 1: batch_size cannot take every "
                        "value: --batch-size 64.5: expected an integer in [1, "
                        "9007199254740991]");
}

/* --------------------------------------------------------- filling a spec */

static gd_trial_point first_point(const gd_space *sp)
{
    gd_sampler_options opt = {.kind = GD_SAMPLER_RANDOM, .seed = 7};
    gd_trial_point p;
    gd_error err;
    cr_assert_eq(gd_space_sample(sp, &opt, 0, &p, &err), GD_OK, "%s", err.message);
    return p;
}

Test(search_space, fill_spec_puts_each_value_in_its_placeholder)
{
    const char *params[] = {"width=int(16, 16000)", "dropout=uniform(0, 0.6)"};
    gd_space *sp = space_of(params, 2);
    gd_trial_point p = first_point(sp);
    char *spec = NULL;
    gd_error err;
    cr_assert_eq(gd_space_fill_spec(sp, &p, "linear({width}) bn relu dropout({dropout}) "
                                    "linear({width}) linear(10)", &spec, &err), GD_OK, "%s",
                 err.message);
    char want[256];
    snprintf(want, sizeof want, "linear(%s) bn relu dropout(%s) linear(%s) linear(10)",
             p.text[0], p.text[1], p.text[0]);
    cr_expect_str_eq(spec, want);
    free(spec);
    gd_space_free(sp);
}

Test(search_space, fill_spec_refuses_an_unknown_or_unfilled_placeholder)
{
    const char *params[] = {"optim=choice(sgd, adam)", "width=int(16, 64) if optim=sgd"};
    gd_space *sp = space_of(params, 2);
    gd_trial_point p = first_point(sp);
    p.active[1] = false; /* as in a trial where optim is adam */
    char *spec = (char *)"x";
    gd_error err;
    cr_expect_eq(gd_space_fill_spec(sp, &p, "linear({width})", &spec, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(spec);
    cr_expect_str_eq(err.message, "--model, position 8: {width} has no value in trial 0 (its "
                     "condition does not hold)");
    cr_expect_eq(gd_space_fill_spec(sp, &p, "relu linear({depth})", &spec, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(err.message, "--model, position 13: {depth} is no parameter of the space");
    gd_space_free(sp);
}

/* ------------------------------------------------------- a trial's settings */

Test(search_space, apply_sets_the_parameters_the_seed_and_the_filled_model)
{
    const char *params[] = {"lr=loguniform(1e-4, 1e-1)", "optim=choice(sgd, adam)",
                            "width=logint(16, 512)", "batch_size=choice(32, 64)"};
    gd_space *sp = space_of(params, 4);
    gd_error err;
    gd_settings s;
    gd_settings_defaults(&s);
    cr_assert_eq(gd_settings_set(&s, "model", "linear({width}) relu linear(10)", &err), GD_OK);
    cr_assert_eq(gd_space_bind(sp, s.model, &err), GD_OK, "%s", err.message);
    gd_trial_point p = first_point(sp);
    cr_assert_eq(gd_space_apply(sp, &p, &s, &err), GD_OK, "%s", err.message);
    cr_expect(s.lr == strtod(p.text[0], NULL) && s.lr == p.value[0]);
    cr_expect_str_eq(s.optim, p.text[1]);
    char model[128];
    snprintf(model, sizeof model, "linear(%s) relu linear(10)", p.text[2]);
    cr_expect_str_eq(s.model, model);
    cr_expect_eq(s.batch_size, p.value[3] == 0 ? 32 : 64);
    cr_expect_eq(s.seed, p.seed);
    cr_expect_eq(s.seed, gd_trial_seed(7, 0));
    gd_settings_free(&s);
    gd_space_free(sp);
}

Test(search_space, apply_needs_a_bound_space_and_leaves_settings_alone_on_failure)
{
    const char *params[] = {"lr=loguniform(1e-4, 1e-1)"};
    gd_space *sp = space_of(params, 1);
    gd_error err;
    gd_settings s;
    gd_settings_defaults(&s);
    gd_trial_point p = first_point(sp);
    cr_expect_eq(gd_space_apply(sp, &p, &s, &err), GD_ERR_STATE);
    cr_assert_eq(gd_space_bind(sp, s.model, &err), GD_OK, "%s", err.message);
    snprintf(p.text[0], sizeof p.text[0], "-1"); /* a point no sampler gives */
    cr_expect_eq(gd_space_apply(sp, &p, &s, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(err.message, "trial 0: --lr -1: expected a number in (0, inf)");
    cr_expect(isnan(s.lr), "lr changed to %g", s.lr);
    cr_expect_eq(s.seed, 1);
    gd_settings_free(&s);
    gd_space_free(sp);
}

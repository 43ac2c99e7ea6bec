#include "gradcheck.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gd_tensor random_tensor(uint64_t seed, double lo, double hi, int ndim, const int64_t *dims)
{
    gd_tensor t = gd_tensor_view(NULL, ndim, dims);
    int64_t n = gd_tensor_numel(&t);
    t.data = malloc((size_t)n * sizeof(float));
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, seed), GD_OK);
    for (int64_t i = 0; i < n; i++)
        t.data[i] = (float)(lo + (hi - lo) * gd_rng_uniform(rng));
    gd_rng_free(rng);
    return t;
}

/* The library's check (gd_gradcheck), judged against tol; report names the worst element. */
static bool run_gradcheck(gd_model *m, const gd_tensor *input, const gd_gradcheck_options *opt,
                          double tol, char *report, size_t report_len)
{
    size_t cap = gd_gradcheck_tensor_count(m, opt->check_input);
    gd_gradcheck_result r = {.tensors = malloc(cap * sizeof *r.tensors), .capacity = cap};
    gd_error err;
    gd_status st = gd_gradcheck(m, input, opt, &r, &err);
    cr_assert_eq(st, GD_OK, "gradient check could not run: %s", err.message);
    bool ok = r.worst_error <= tol;
    const gd_gradcheck_tensor *w = &r.tensors[r.worst];
    snprintf(report, report_len, "%s[%lld]: analytic %.7g, numeric %.7g, relative error %.3g %s %g",
             w->name, (long long)w->worst_index, w->analytic, w->numeric, w->worst_error,
             ok ? "<=" : ">", tol);
    free(r.tensors);
    return ok;
}

bool gradcheck_model(gd_model *m, const gd_tensor *input, double tol, char *report,
                     size_t report_len)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    return run_gradcheck(m, input, &opt, tol, report, report_len);
}

void expect_gradcheck(gd_model *m, const gd_tensor *input)
{
    char report[256];
    bool ok = gradcheck_model(m, input, GRADCHECK_TOL, report, sizeof report);
    cr_expect(ok, "gradient check failed: %s", report);
}

/* gradcheck_loss's objective: the caller's loss function on the identity model's output. */
typedef struct loss_objective {
    const gd_loss *loss;
    const int32_t *labels;
    const float *targets;
    gradcheck_loss_fn fn;
} loss_objective;

static gd_status call_loss(gd_model *m, void *ctx, double *value)
{
    loss_objective *o = ctx;
    return o->fn(m, o->loss, o->labels, o->targets, value);
}

bool gradcheck_loss(gd_model *m, const gd_tensor *input, const gd_loss *loss,
                    const int32_t *labels, const float *targets, gradcheck_loss_fn fn,
                    double tol, char *report, size_t report_len)
{
    loss_objective o = {loss, labels, targets, fn ? fn : gd_model_loss};
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_CALLBACK;
    opt.fn = call_loss;
    opt.ctx = &o;
    return run_gradcheck(m, input, &opt, tol, report, report_len);
}

gd_model *identity_model(const gd_tensor *x)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 0), GD_OK);
    cr_assert_eq(gd_model_add_dropout(m, 0.0), GD_OK); /* in evaluation: y = x exactly */
    cr_assert_eq(gd_model_build(m, x->ndim - 1, x->dims + 1, x->dims[0]), GD_OK, "%s",
                 gd_model_error(m));
    gd_model_set_training(m, false);
    return m;
}

void expect_loss_gradcheck(const gd_tensor *x, const gd_loss *loss, const int32_t *labels,
                           const float *targets)
{
    gd_model *m = identity_model(x);
    char report[256];
    bool ok = gradcheck_loss(m, x, loss, labels, targets, NULL, GRADCHECK_TOL, report, sizeof report);
    cr_expect(ok, "loss gradient check failed: %s", report);
    gd_model_free(m);
}

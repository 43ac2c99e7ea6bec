/* The study journal: events written as one JSON line each and read back as each trial's
 * last status; two processes appending 500 events each at once lose nothing and leave
 * whole lines only; a last line cut short by a killed writer and a malformed middle line
 * are skipped with a warning naming their line, the rest still loads; a write that
 * fails leaves nothing of its line behind. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <gradus.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(search_journal, .init = scratch_make, .fini = scratch_remove);

static const char *const params[] = {"lr=loguniform(1e-4, 1e-1)", "optim=choice(sgd, adam)",
                                     "momentum=uniform(0.5, 0.99) if optim=sgd"};

static gd_space *test_space(void)
{
    gd_space *sp;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gd_space_add(sp, params[i], "--param", NULL), GD_OK);
    return sp;
}

static gd_trial_point point(const gd_space *sp, uint64_t trial)
{
    gd_sampler_options opt = {.kind = GD_SAMPLER_RANDOM, .seed = 3};
    gd_trial_point p;
    cr_assert_eq(gd_space_sample(sp, &opt, trial, &p, NULL), GD_OK);
    return p;
}

static gd_journal *open_journal(const char *path)
{
    gd_journal *j;
    gd_error err;
    cr_assert_eq(gd_journal_open(&j, path, &err), GD_OK, "%s", err.message);
    return j;
}

static void append(gd_journal *j, gd_journal_event e)
{
    gd_error err;
    cr_assert_eq(gd_journal_append(j, &e, &err), GD_OK, "%s", err.message);
}

static void start(gd_journal *j, const gd_space *sp, const gd_trial_point *p)
{
    append(j, (gd_journal_event){.kind = GD_EVENT_STARTED, .trial = p->trial, .space = sp,
                                 .point = p});
}

static gd_journal_event figures(gd_event_kind kind, uint64_t trial, int64_t epoch)
{
    return (gd_journal_event){.kind = kind, .trial = trial, .epoch = epoch,
                              .train_loss = 1.0 / (double)epoch, .val_loss = 2.0 / (double)epoch,
                              .val_accuracy = 0.5 + 0.01 * (double)epoch};
}

static gd_study *load(const char *path)
{
    gd_study *st;
    gd_error err;
    cr_assert_eq(gd_study_load(&st, path, &err), GD_OK, "%s", err.message);
    return st;
}

static size_t count_lines(const char *path)
{
    size_t len, n = 0;
    unsigned char *text = scratch_read(path, &len);
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    free(text);
    return n;
}

Test(search_journal, a_trial_reads_back_with_its_parameters_seed_and_last_figures)
{
    const char *path = scratch_path("journal.jsonl");
    gd_space *sp = test_space();
    gd_journal *j = open_journal(path);
    gd_trial_point p = point(sp, 4);
    start(j, sp, &p);
    append(j, figures(GD_EVENT_EPOCH, 4, 1));
    append(j, figures(GD_EVENT_EPOCH, 4, 2));
    append(j, figures(GD_EVENT_FINISHED, 4, 2));
    gd_journal_close(j);
    cr_expect_eq(count_lines(path), 4);

    gd_study *st = load(path);
    cr_expect_eq(gd_study_lines(st), 4);
    cr_expect_eq(gd_study_events(st), 4);
    cr_expect_eq(gd_study_warning_count(st), 0);
    cr_assert_eq(gd_study_trial_count(st), 1);
    const gd_trial_record *r = gd_study_find(st, 4);
    cr_assert_not_null(r);
    cr_expect_eq(r, gd_study_trial(st, 0));
    cr_expect_eq(r->trial, 4);
    cr_expect_eq(r->seed, p.seed);
    cr_expect_eq(r->state, GD_TRIAL_FINISHED);
    cr_expect_eq(r->epoch, 2);
    cr_expect(r->train_loss == 0.5 && r->val_loss == 1.0 && r->val_accuracy == 0.52);
    cr_expect_eq(r->started_line, 1);
    cr_expect_eq(r->last_line, 4);
    cr_expect_str_eq(r->message, "");
    cr_assert_eq(r->params, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(r->name[i], gd_space_param(sp, i)->name);
        if (p.active[i])
            cr_expect_str_eq(r->value[i], p.text[i]);
        else
            cr_expect_null(r->value[i], "inactive %s", r->name[i]);
    }
    cr_expect_null(gd_study_find(st, 5));
    gd_study_free(st);
    gd_space_free(sp);
}

Test(search_journal, each_event_sets_the_trials_state_and_messages_are_kept)
{
    const char *path = scratch_path("journal.jsonl");
    gd_space *sp = test_space();
    gd_journal *j = open_journal(path);
    gd_event_kind last[] = {GD_EVENT_EPOCH, GD_EVENT_FINISHED, GD_EVENT_PRUNED,
                            GD_EVENT_DIVERGED, GD_EVENT_FAILED};
    gd_trial_state want[] = {GD_TRIAL_RUNNING, GD_TRIAL_FINISHED, GD_TRIAL_PRUNED,
                             GD_TRIAL_DIVERGED, GD_TRIAL_FAILED};
    for (uint64_t t = 0; t < 5; t++) {
        gd_trial_point p = point(sp, t);
        start(j, sp, &p);
        gd_journal_event e = figures(last[t], t, 3);
        if (last[t] == GD_EVENT_DIVERGED)
            e.message = "the loss became NaN at step 120";
        if (last[t] == GD_EVENT_FAILED)
            e = (gd_journal_event){.kind = GD_EVENT_FAILED, .trial = t,
                                   .message = "--model: \"linear(0)\": width 0"};
        append(j, e);
    }
    gd_journal_close(j);
    gd_study *st = load(path);
    cr_assert_eq(gd_study_trial_count(st), 5);
    for (size_t t = 0; t < 5; t++)
        cr_expect_eq(gd_study_trial(st, t)->state, want[t], "trial %zu", t);
    cr_expect_str_eq(gd_study_find(st, 3)->message, "the loss became NaN at step 120");
    cr_expect_str_eq(gd_study_find(st, 4)->message, "--model: \"linear(0)\": width 0");
    cr_expect(isnan(gd_study_find(st, 4)->val_loss), "a failed trial has no figures");
    cr_expect_eq(gd_study_find(st, 4)->epoch, 0);
    gd_study_free(st);
    gd_space_free(sp);
}

Test(search_journal, unknown_figures_are_null_and_read_back_as_nan)
{
    const char *path = scratch_path("journal.jsonl");
    gd_space *sp = test_space();
    gd_journal *j = open_journal(path);
    gd_trial_point p = point(sp, 0);
    start(j, sp, &p);
    gd_journal_event e = figures(GD_EVENT_DIVERGED, 0, 1);
    e.train_loss = NAN;
    e.val_loss = INFINITY;
    append(j, e);
    gd_journal_close(j);
    size_t len;
    char *text = (char *)scratch_read(path, &len);
    cr_expect(strstr(text, "\"train_loss\":null,\"val_loss\":null"), "%s", text);
    free(text);
    gd_study *st = load(path);
    cr_expect(isnan(gd_study_find(st, 0)->train_loss) && isnan(gd_study_find(st, 0)->val_loss));
    cr_expect_eq(gd_study_find(st, 0)->val_accuracy, 0.51);
    gd_study_free(st);
    gd_space_free(sp);
}

/* ---------------------------------------------------------- several writers */

enum { PER_WRITER = 500 };

/* A writer process: its own handle, PER_WRITER events of its own trials (each started,
 * the rest epochs), each carrying a long message so that lines are long. */
static void writer(const char *path, int id)
{
    gd_space *sp = test_space();
    gd_journal *j;
    if (gd_journal_open(&j, path, NULL) != GD_OK)
        _exit(2);
    static char message[900];
    memset(message, 'a' + id, sizeof message - 1);
    for (int i = 0; i < PER_WRITER; i++) {
        uint64_t trial = (uint64_t)id * 1000 + (uint64_t)(i / 5);
        gd_trial_point p = point(sp, trial);
        gd_journal_event e = figures(GD_EVENT_EPOCH, trial, i % 5);
        if (i % 5 == 0)
            e = (gd_journal_event){.kind = GD_EVENT_STARTED, .trial = trial, .space = sp,
                                   .point = &p};
        e.message = message;
        if (gd_journal_append(j, &e, NULL) != GD_OK)
            _exit(3);
    }
    gd_journal_close(j);
    gd_space_free(sp);
    _exit(0);
}

Test(search_journal, two_processes_appending_at_once_lose_nothing_and_write_whole_lines)
{
    const char *path = scratch_path("journal.jsonl");
    pid_t pids[2];
    for (int id = 0; id < 2; id++) {
        pids[id] = fork();
        cr_assert_neq(pids[id], -1);
        if (pids[id] == 0)
            writer(path, id);
    }
    for (int id = 0; id < 2; id++) {
        int status;
        cr_assert_eq(waitpid(pids[id], &status, 0), pids[id]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d: %d", id, status);
    }
    cr_expect_eq(count_lines(path), 2 * PER_WRITER);
    gd_study *st = load(path);
    cr_expect_eq(gd_study_lines(st), 2 * PER_WRITER);
    cr_expect_eq(gd_study_events(st), 2 * PER_WRITER);
    cr_expect_eq(gd_study_warning_count(st), 0, "first: %s", gd_study_warning(st, 0));
    cr_assert_eq(gd_study_trial_count(st), 2 * PER_WRITER / 5);
    /* Each writer's lines kept their order: its trials' last lines increase. */
    int interleaved = 0;
    for (int id = 0; id < 2; id++) {
        int64_t last = 0;
        for (uint64_t t = 0; t < PER_WRITER / 5; t++) {
            const gd_trial_record *r = gd_study_find(st, (uint64_t)id * 1000 + t);
            cr_assert_not_null(r);
            cr_expect_eq(r->epoch, 4);
            cr_expect_gt(r->last_line, last);
            interleaved += r->last_line - r->started_line != 4;
            last = r->last_line;
        }
    }
    cr_log_info("trials whose lines another writer's came between: %d of %d", interleaved,
                2 * PER_WRITER / 5);
    gd_study_free(st);
}

/* --------------------------------------------------------------- damage */

Test(search_journal, a_truncated_last_line_is_skipped_with_a_warning_and_the_next_starts_anew)
{
    const char *path = scratch_path("journal.jsonl");
    gd_space *sp = test_space();
    gd_journal *j = open_journal(path);
    gd_trial_point p = point(sp, 0);
    start(j, sp, &p);
    append(j, figures(GD_EVENT_EPOCH, 0, 1));
    gd_journal_close(j);
    /* A writer killed in the middle of its third line. */
    FILE *f = fopen(path, "ab");
    fputs("{\"event\":\"epoch\",\"trial\":0,\"epoch\":2,\"val_lo", f);
    fclose(f);

    gd_study *st = load(path);
    cr_expect_eq(gd_study_lines(st), 3);
    cr_expect_eq(gd_study_events(st), 2);
    cr_assert_eq(gd_study_warning_count(st), 1);
    char want[300];
    snprintf(want, sizeof want, "%s line 3: cut short (no end of line), as a writer killed "
             "mid-line leaves it: skipped", path);
    cr_expect_str_eq(gd_study_warning(st, 0), want);
    cr_expect_eq(gd_study_find(st, 0)->epoch, 1);
    gd_study_free(st);

    /* The next event does not join the cut line: it starts a line of its own. */
    j = open_journal(path);
    append(j, figures(GD_EVENT_FINISHED, 0, 2));
    gd_journal_close(j);
    st = load(path);
    cr_expect_eq(gd_study_lines(st), 4);
    cr_expect_eq(gd_study_events(st), 3);
    cr_assert_eq(gd_study_warning_count(st), 1);
    snprintf(want, sizeof want, "%s line 3: not JSON: skipped", path);
    cr_expect_str_eq(gd_study_warning(st, 0), want);
    cr_expect_eq(gd_study_find(st, 0)->state, GD_TRIAL_FINISHED);
    cr_expect_eq(gd_study_find(st, 0)->last_line, 4);
    gd_study_free(st);
    gd_space_free(sp);
}

Test(search_journal, malformed_middle_lines_are_named_by_number_and_the_rest_loads)
{
    static const char text[] =
        "{\"event\":\"started\",\"trial\":0,\"seed\":\"77\",\"params\":{\"lr\":\"0.01\"}}\n"
        "{\"event\":\"epoch\",\"trial\":0,\"epoch\":1,\"val_accuracy\":0.7\n"
        "{\"event\":\"epoch\",\"epoch\":2}\n"
        "\n"
        "{\"event\":\"paused\",\"trial\":0}\n"
        "{\"event\":\"epoch\",\"trial\":0,\"epoch\":-1}\n"
        "{\"event\":\"epoch\",\"trial\":0,\"epoch\":2,\"val_loss\":\"low\"}\n"
        "{\"event\":\"epoch\",\"trial\":0,\"epoch\":2} {\"event\":\"pruned\",\"trial\":0}\n"
        "{\"event\":\"started\",\"trial\":1,\"params\":{}}\n"
        "{\"event\":\"epoch\",\"trial\":9,\"epoch\":1}\n"
        "[1,2]\n"
        "{\"event\":\"epoch\",\"trial\":0,\"epoch\":3,\"val_accuracy\":0.8}\n";
    const char *path = scratch_path("journal.jsonl");
    scratch_write(path, text, strlen(text));
    gd_study *st = load(path);
    const char *want[] = {
        "line 2: not JSON: skipped",
        "line 3: no \"trial\" number (an integer from 0 below 2^53): skipped",
        "line 5: an \"event\" of no known kind: skipped",
        "line 6: an \"epoch\" that is no integer from 0 below 2^53: skipped",
        "line 7: a figure (train_loss, val_loss, val_accuracy) that is no number or null: "
        "skipped",
        "line 8: not JSON: skipped",
        "line 9: a started line without its \"seed\" (an unsigned integer as text): skipped",
        "line 10: a \"epoch\" event of trial 9, which no earlier line started: skipped",
        "line 11: not a JSON object: skipped",
    };
    size_t n = sizeof want / sizeof want[0];
    cr_expect_eq(gd_study_warning_count(st), n);
    for (size_t i = 0; i < n && i < gd_study_warning_count(st); i++) {
        char full[300];
        snprintf(full, sizeof full, "%s %s", path, want[i]);
        cr_expect_str_eq(gd_study_warning(st, i), full);
    }
    cr_expect_eq(gd_study_lines(st), 12);
    cr_expect_eq(gd_study_events(st), 2);
    cr_assert_eq(gd_study_trial_count(st), 1);
    const gd_trial_record *r = gd_study_find(st, 0);
    cr_expect_eq(r->seed, 77);
    cr_expect_eq(r->epoch, 3);
    cr_expect_eq(r->val_accuracy, 0.8);
    cr_expect_eq(r->last_line, 12);
    gd_study_free(st);
}

Test(search_journal, a_trial_started_again_keeps_its_first_parameters)
{
    static const char text[] =
        "{\"event\":\"started\",\"trial\":2,\"seed\":\"5\",\"params\":{\"lr\":\"0.01\"}}\n"
        "{\"event\":\"epoch\",\"trial\":2,\"epoch\":1}\n"
        "{\"event\":\"started\",\"trial\":2,\"seed\":\"5\",\"params\":{\"lr\":\"0.01\"}}\n"
        "{\"event\":\"started\",\"trial\":2,\"seed\":\"5\",\"params\":{\"lr\":\"0.02\"}}\n";
    const char *path = scratch_path("journal.jsonl");
    scratch_write(path, text, strlen(text));
    gd_study *st = load(path);
    cr_assert_eq(gd_study_warning_count(st), 1);
    char want[300];
    snprintf(want, sizeof want, "%s line 4: a trial started again with other parameters or "
             "seed than line 1's", path);
    cr_expect_str_eq(gd_study_warning(st, 0), want);
    const gd_trial_record *r = gd_study_find(st, 2);
    cr_expect_str_eq(r->value[0], "0.01");
    cr_expect_eq(r->state, GD_TRIAL_RUNNING);
    cr_expect_eq(r->epoch, 1, "a resumed trial keeps the epochs it did");
    gd_study_free(st);
}

Test(search_journal, only_the_first_100_warnings_are_kept_but_all_are_counted)
{
    const char *path = scratch_path("journal.jsonl");
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 250; i++)
        fputs("garbage\n", f);
    fclose(f);
    gd_study *st = load(path);
    cr_expect_eq(gd_study_warning_count(st), 250);
    cr_expect_not_null(gd_study_warning(st, GD_STUDY_MAX_WARNINGS - 1));
    cr_expect_null(gd_study_warning(st, GD_STUDY_MAX_WARNINGS));
    gd_study_free(st);
}

/* ----------------------------------------------------------------- errors */

Test(search_journal, a_missing_journal_or_folder_is_an_io_error_naming_it)
{
    gd_study *st = (gd_study *)1;
    gd_error err;
    const char *path = scratch_path("absent.jsonl");
    cr_expect_eq(gd_study_load(&st, path, &err), GD_ERR_IO);
    cr_expect_null(st);
    cr_expect(strstr(err.message, path) && strstr(err.message, "No such file"), "%s",
              err.message);
    gd_journal *j = (gd_journal *)1;
    path = scratch_path("no/such/folder.jsonl");
    cr_expect_eq(gd_journal_open(&j, path, &err), GD_ERR_IO);
    cr_expect_null(j);
    cr_expect(strstr(err.message, path), "%s", err.message);
}

Test(search_journal, an_event_without_what_its_kind_needs_is_refused)
{
    const char *path = scratch_path("journal.jsonl");
    gd_journal *j = open_journal(path);
    gd_error err;
    gd_journal_event e = {.kind = GD_EVENT_STARTED, .trial = 1};
    cr_expect_eq(gd_journal_append(j, &e, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "a started event needs the trial's space and its point"),
              "%s", err.message);
    e = (gd_journal_event){.kind = GD_EVENT_EPOCH, .trial = UINT64_C(1) << 53};
    cr_expect_eq(gd_journal_append(j, &e, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "trial 9007199254740992 beyond 2^53"), "%s", err.message);
    e = (gd_journal_event){.kind = (gd_event_kind)9};
    cr_expect_eq(gd_journal_append(j, &e, &err), GD_ERR_INVALID_ARGUMENT);
    gd_journal_close(j);
    cr_expect_eq(count_lines(path), 0);
}

/* RLIMIT_FSIZE binds root too: the write stops short, and the journal cuts it back. */
Test(search_journal, a_write_cut_short_leaves_nothing_of_its_line)
{
    const char *path = scratch_path("journal.jsonl");
    gd_space *sp = test_space();
    gd_journal *j = open_journal(path);
    gd_trial_point p = point(sp, 0);
    start(j, sp, &p);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {(rlim_t)sb.st_size + 20, RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "%s", strerror(errno));
    gd_journal_event e = figures(GD_EVENT_EPOCH, 0, 1);
    gd_error err;
    cr_expect_eq(gd_journal_append(j, &e, &err), GD_ERR_IO);
    cr_expect(strstr(err.message, path) && strstr(err.message, "could not be written"), "%s",
              err.message);
    struct stat after;
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_eq(after.st_size, sb.st_size, "%lld bytes of the line stayed",
                 (long long)(after.st_size - sb.st_size));
    gd_journal_close(j);
    gd_study *st = load(path);
    cr_expect_eq(gd_study_warning_count(st), 0);
    cr_expect_eq(gd_study_events(st), 1);
    gd_study_free(st);
    gd_space_free(sp);
}

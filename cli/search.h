/* `gradus search`: the study folder (study.json), its workers, and its results. */
#ifndef GD_CLI_SEARCH_H
#define GD_CLI_SEARCH_H

#include "cli.h"

/* A study as study.json defines it: the fixed settings, the space and the options. */
typedef struct study_def {
    gd_settings fixed;
    gd_space *space;
    gd_search_options opt;
    char **texts; /* each parameter's text, as gd_space_add took it */
    int count;
} study_def;

void study_def_free(study_def *d);
/* STUDY_DIR/study.json written atomically; EXIT_OK or a failure said. */
int study_def_save(const study_def *d, const char *dir);
/* STUDY_DIR/study.json read back and its space bound: EXIT_OK, else EXIT_FAILURE_RUN
 * (cannot be read), EXIT_USAGE (no study.json), EXIT_BAD_DATA (malformed), with a
 * message from command cmd naming the file. */
int study_def_load(study_def *d, const char *dir, const char *cmd);
const char *strategy_name(gd_strategy s);
bool strategy_parse(const char *text, gd_strategy *out);

/* search_rank.c: a configuration of the study (its repeats together), ranked. */
typedef struct search_config {
    int64_t index;
    const gd_trial_record *best; /* its repeat with the best validation accuracy */
    double mean, half;           /* over its finished repeats; half: the 95% interval's */
    int scored, trials;
    gd_trial_state state;        /* the first repeat's */
} search_config;
/* The study's configurations, best first; their count in *n (malloc'd; NULL when out
 * of memory). Pruned and unfinished ones rank by the accuracy they reached. */
search_config *search_rank(const study_def *d, const gd_study *st, int64_t *n);
/* "finished", "pruned", ... */
const char *search_state_word(gd_trial_state s);
/* "lr=0.0012 weight_decay=1e-05" of a trial, numbers to 4 digits, cut to fit room bytes. */
void search_params_text(const gd_trial_record *r, char *out, size_t room);
#define SEARCH_WARNING_MAX 400
/* The lecture's warnings about the ranked study, one sentence each, at most max into
 * out; their count. */
int search_warnings(const study_def *d, const gd_study *st, const search_config *c, int64_t n,
                    char (*out)[SEARCH_WARNING_MAX], int max);

/* search_results.c: the table of the best configurations and the warnings, for a study
 * folder; export (NULL: none) gets the best trial's `gradus train` command line. */
int search_show(const study_def *d, const char *dir, const char *export_path);
/* The `gradus train` command line of trial r (the fixed settings with its parameters
 * and seed; each flag that differs from its default), malloc'd; NULL after a message. */
char *search_trial_command(const study_def *d, const gd_trial_record *r);

#endif

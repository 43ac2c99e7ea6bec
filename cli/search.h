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
 * (cannot be read), EXIT_BAD_DATA (malformed), with a message naming the file. */
int study_def_load(study_def *d, const char *dir);
const char *strategy_name(gd_strategy s);
bool strategy_parse(const char *text, gd_strategy *out);

/* search_results.c: the table of the best configurations and the warnings, for a study
 * folder; export (NULL: none) gets the best trial's `gradus train` command line. */
int search_show(const study_def *d, const char *dir, const char *export_path);

#endif

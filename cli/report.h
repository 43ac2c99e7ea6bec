/* gradus report's two pages: a run's (report.c) and a study's (search_report.c). Both
 * write one self-contained HTML file atomically and return an exit code after a message. */
#ifndef GD_CLI_REPORT_H
#define GD_CLI_REPORT_H

#include <stdbool.h>

/* RUN_DIR's page, to out (NULL: RUN_DIR/report.html); quiet: no "report: FILE" line. */
int run_report(const char *dir, const char *out, bool quiet);
/* STUDY_DIR's page, to out (NULL: STUDY_DIR/report.html), and each trial's own page in
 * its folder (trials/NNNN/report.html), which the study's links open. */
int search_report(const char *dir, const char *out);

#endif

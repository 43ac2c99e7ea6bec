/* gradus lab: the command (lab.c) and its page (lab_page.c). */
#ifndef GD_CLI_LAB_H
#define GD_CLI_LAB_H

#include "cli.h"

struct cJSON;
/* One experiment's JSON document as a self-contained HTML page at path, written
 * atomically, its words in lang ("en" or "ko"): an exit code after a message. */
int lab_page(const struct cJSON *doc, const char *path, const char *lang);
/* The notebook of gradus lab all: a summary, then each experiment's claim, command,
 * verdicts and figures, in one page. */
int lab_notebook(struct cJSON *const *docs, int n, const char *path, const char *lang);
/* lab_ko.c: the Korean for an experiment's claim (by name), a claim's sentence (by id),
 * its metric ("id:metric") or a word of the page ("@held"); NULL without one. */
const char *lab_ko(const char *key);

#endif

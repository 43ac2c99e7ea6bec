/* gradus lab: the command (lab.c) and its page (lab_page.c). */
#ifndef GD_CLI_LAB_H
#define GD_CLI_LAB_H

#include "cli.h"

struct cJSON;
/* One experiment's JSON document as a self-contained HTML page at path, written
 * atomically: an exit code after a message. */
int lab_page(const struct cJSON *doc, const char *path);

#endif

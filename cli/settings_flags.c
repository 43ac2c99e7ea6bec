/* The settings table as getopt_long options: each setting's flag and whether it takes a
 * value come from the table, and gd_settings_set checks the value, so a new setting needs
 * no edit here. */
#include "settings_flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct option *settings_flags_options(const struct option *extra, size_t nextra)
{
    size_t n = gd_setting_count();
    struct option *o = calloc(n + nextra + 1, sizeof *o);
    for (size_t i = 0; o && i < n; i++) {
        const gd_setting_info *d = gd_setting_at(i);
        o[i] = (struct option){d->flag, d->metavar ? required_argument : no_argument, 0,
                               SETTINGS_FLAG + (int)i};
    }
    if (o && nextra)
        memcpy(o + n, extra, nextra * sizeof *o);
    return o;
}

bool settings_flags_is_setting(int opt)
{
    return opt >= SETTINGS_FLAG && (size_t)(opt - SETTINGS_FLAG) < gd_setting_count();
}

#define TEXT_MAX (1 << 20)

char *settings_flags_read_text(const char *cmd, const char *what, const char *path, int *rc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = fail(EXIT_FAILURE_RUN, cmd, "%s: %s: %s", what, path, strerror(errno));
        return NULL;
    }
    char *text = calloc(1, TEXT_MAX + 1);
    size_t len = text ? fread(text, 1, TEXT_MAX + 1, f) : 0;
    bool failed = ferror(f);
    fclose(f);
    if (!text || failed || len > TEXT_MAX) {
        *rc = !text || failed ? fail(EXIT_FAILURE_RUN, cmd, "%s: cannot read %s", what, path)
                              : fail(EXIT_BAD_DATA, cmd, "%s: %s is larger than %d bytes", what,
                                     path, TEXT_MAX);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    *rc = EXIT_OK;
    return text;
}

static int set(const char *cmd, gd_settings *s, const char *key, const char *value)
{
    gd_error err;
    if (gd_settings_set(s, key, value, &err) != GD_OK)
        return fail(EXIT_USAGE, cmd, "%s", err.message);
    return EXIT_OK;
}

int settings_flags_apply(const char *cmd, gd_settings *s, int opt, const char *value)
{
    const gd_setting_info *d = gd_setting_at((size_t)(opt - SETTINGS_FLAG));
    if (!d->metavar)
        return set(cmd, s, d->key, "true");
    if (strcmp(d->key, "model") != 0 || value[0] != '@')
        return set(cmd, s, d->key, value);
    int rc;
    char *text = settings_flags_read_text(cmd, "--model", value + 1, &rc);
    if (text)
        rc = set(cmd, s, d->key, text);
    free(text);
    return rc;
}

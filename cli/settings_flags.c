/* The settings table as getopt_long options: each setting's flag and whether it takes a
 * value come from the table, and gd_settings_set checks the value, so a new setting needs
 * no edit here. */
#include "settings_flags.h"

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

#define SPEC_MAX (1 << 20)

/* A spec file whole, or NULL after a message naming it. */
static char *read_spec(const char *cmd, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(EXIT_USAGE, cmd, "--model: cannot open %s", path);
        return NULL;
    }
    char *text = calloc(1, SPEC_MAX + 1);
    size_t len = text ? fread(text, 1, SPEC_MAX + 1, f) : 0;
    fclose(f);
    if (!text || len > SPEC_MAX) {
        fail(EXIT_USAGE, cmd, "--model: %s is larger than %d bytes", path, SPEC_MAX);
        free(text);
        return NULL;
    }
    text[len] = '\0';
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
    char *text = read_spec(cmd, value + 1);
    int rc = text ? set(cmd, s, d->key, text) : EXIT_USAGE;
    free(text);
    return rc;
}

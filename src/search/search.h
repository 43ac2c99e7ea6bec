/* What the search's sources share: the space's storage and the unit-to-value mapping. */
#ifndef GD_SEARCH_H
#define GD_SEARCH_H

#include "../core/internal.h"

/* One parameter: the public view plus what it owns. name_column says where its name
 * began in its text, for bind's messages. */
typedef struct gd_param {
    gd_param_info info;
    char *name, *origin;
    char **option;
    int name_column;
} gd_param;

struct gd_space {
    int count;
    bool bound;
    gd_param param[GD_SPACE_MAX_PARAMS];
};

/* space.c: takes p (its strings, malloc'd) as the space's next parameter. */
gd_status gd_space_take(gd_space *sp, gd_param *p, char *msg);
void gd_param_release(gd_param *p);
/* Whether parameter i is active given the values already chosen for those before it. */
bool gd_param_active(const gd_space *sp, int i, const gd_trial_point *p);

/* sampler.c: a numeric value's text (GD_PARAM_TEXT_MAX bytes) as gd_settings_set takes
 * it back exactly: an integer kind's digits, a real's shortest round-trip "%.*g". */
void gd_param_number_text(const gd_param_info *q, double v, char *text);

/* placeholders.c: whether spec (NULL: none) holds {name}; a '{' that opens no {name} is
 * an error naming --model and its position. */
gd_status gd_spec_uses(const char *spec, const char *name, bool *uses, char *msg);
/* Every {name} of spec is a parameter of sp. */
gd_status gd_spec_check_placeholders(const gd_space *sp, const char *spec, char *msg);

/* sobol.c: coordinate dim (< GD_SPACE_MAX_PARAMS) of Sobol point index, as 32 bits. */
uint32_t gd_sobol_bits(uint64_t index, int dim);

/* sampler.c: a 64-bit hash of (seed, k) for one named purpose: every stream of a study's
 * numbers (parameters, seeds, shifts) is drawn from it so that trial k needs nothing but
 * the study seed and k. */
uint64_t gd_search_derive(uint64_t seed, uint64_t k, uint64_t stream);

/* journal.c: an event kind's name in the journal ("started"), NULL for none. */
const char *gd_event_name(gd_event_kind kind);

#endif

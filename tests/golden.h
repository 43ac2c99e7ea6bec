/* Reading the PyTorch golden files in tests/reference/ (written by `make golden`, which runs every tests/reference/gen_*.py).
 *
 * Each file is {"cases": [{"name": ..., ...}]}. A tensor is {"shape": [...], "data": [...]}
 * with the numbers written out in full; scalars are plain numbers. Failures to read are
 * test failures (cr_assert), so tests need no error paths of their own. */
#ifndef GD_TEST_GOLDEN_H
#define GD_TEST_GOLDEN_H

#include <cjson/cJSON.h>
#include <gradus.h>

/* Loads tests/reference/<file> (tests run from the tests/ folder). Free with cJSON_Delete. */
cJSON *golden_load(const char *file);
/* The case named name; fails the test if absent. */
const cJSON *golden_case(const cJSON *root, const char *name);
/* Field key of obj; fails the test if absent. */
const cJSON *golden_field(const cJSON *obj, const char *key);
double golden_number(const cJSON *obj, const char *key);
/* A tensor field as a malloc'd float array and a view of it (free view.data). */
gd_tensor golden_tensor(const cJSON *obj, const char *key);
/* Copies tensor field key into dst, asserting it has exactly numel elements. */
void golden_copy(const cJSON *obj, const char *key, float *dst, int64_t numel);
/* Integer array field (labels) as a malloc'd int32 array; *n gets its length. */
int32_t *golden_labels(const cJSON *obj, const char *key, int64_t *n);

/* Asserts |got - want| <= atol + rtol * |want| element-wise, naming what and the worst
 * index on failure. */
void expect_close(const float *got, const float *want, int64_t n, double rtol, double atol,
                  const char *what);
/* expect_close against tensor field key of obj. */
void expect_close_golden(const float *got, const cJSON *obj, const char *key, double rtol,
                         double atol);

/* expect_close against tensor field key with an absolute floor of atol_of_scale times
 * the golden tensor's largest magnitude (elements that cancel to near zero carry the
 * absolute error of their larger terms); fails first if got is NULL. */
void expect_close_golden_scaled(const float *got, const cJSON *obj, const char *key, double rtol,
                                double atol_of_scale);
/* Asserts got has the shape of golden tensor field key, so comparing cannot read past it. */
void expect_golden_shape(const gd_tensor *got, const cJSON *obj, const char *key);

/* One forward and backward of a built model with input gradients on, against a golden case
 * holding "y", "dy" (the upstream gradient fed in), "dx" (layer "0"'s input gradient) and
 * "grads" by tensor name, all but the gradient named skip_grad (NULL: none), compared as
 * expect_close_golden_scaled does. */
void expect_step_as_golden(gd_model *m, const cJSON *c, const gd_tensor *x, double rtol,
                           double atol_of_scale, const char *skip_grad);

#endif

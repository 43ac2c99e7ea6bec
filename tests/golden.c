#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *golden_load(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "reference/%s", file);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open golden file %s (run tests from tests/)", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    cr_assert(text);
    size_t got = fread(text, 1, (size_t)len, f);
    fclose(f);
    text[got] = '\0';
    cJSON *root = cJSON_Parse(text);
    free(text);
    cr_assert(root, "golden file %s is not valid JSON", path);
    return root;
}

const cJSON *golden_case(const cJSON *root, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return c;
    }
    cr_assert_fail("golden case '%s' not found", name);
    return NULL;
}

const cJSON *golden_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert(v, "golden field '%s' missing", key);
    return v;
}

double golden_number(const cJSON *obj, const char *key)
{
    const cJSON *v = golden_field(obj, key);
    cr_assert(cJSON_IsNumber(v), "golden field '%s' is not a number", key);
    return v->valuedouble;
}

gd_tensor golden_tensor(const cJSON *obj, const char *key)
{
    const cJSON *t = golden_field(obj, key);
    const cJSON *shape = golden_field(t, "shape");
    const cJSON *data = golden_field(t, "data");
    gd_tensor v = {0};
    v.ndim = cJSON_GetArraySize(shape);
    cr_assert(v.ndim <= GD_MAX_DIMS, "golden tensor '%s' has %d dims", key, v.ndim);
    for (int i = 0; i < v.ndim; i++)
        v.dims[i] = (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble;
    int64_t n = gd_tensor_numel(&v);
    cr_assert_eq(n, cJSON_GetArraySize(data), "golden tensor '%s': shape and data disagree", key);
    v.data = malloc((size_t)(n ? n : 1) * sizeof(float));
    int64_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, data) v.data[i++] = (float)x->valuedouble;
    return v;
}

void golden_copy(const cJSON *obj, const char *key, float *dst, int64_t numel)
{
    gd_tensor t = golden_tensor(obj, key);
    cr_assert_eq(gd_tensor_numel(&t), numel, "golden tensor '%s' has %lld elements, want %lld",
                 key, (long long)gd_tensor_numel(&t), (long long)numel);
    memcpy(dst, t.data, (size_t)numel * sizeof(float));
    free(t.data);
}

int32_t *golden_labels(const cJSON *obj, const char *key, int64_t *n)
{
    const cJSON *arr = golden_field(obj, key);
    if (cJSON_IsObject(arr))
        arr = golden_field(arr, "data");
    *n = cJSON_GetArraySize(arr);
    int32_t *out = malloc((size_t)(*n ? *n : 1) * sizeof *out);
    int64_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) out[i++] = (int32_t)x->valuedouble;
    return out;
}

void expect_close(const float *got, const float *want, int64_t n, double rtol, double atol,
                  const char *what)
{
    int64_t worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double excess = err - (atol + rtol * fabs((double)want[i]));
        if (!(excess <= 0) && (worst < 0 || excess > worst_excess || isnan(err))) {
            worst = i;
            worst_excess = excess;
        }
    }
    if (worst >= 0)
        cr_expect(false, "%s: element %lld is %.9g, PyTorch says %.9g (rtol %g, atol %g)", what,
                (long long)worst, (double)got[worst], (double)want[worst], rtol, atol);
}

void expect_close_golden(const float *got, const cJSON *obj, const char *key, double rtol,
                         double atol)
{
    gd_tensor want = golden_tensor(obj, key);
    expect_close(got, want.data, gd_tensor_numel(&want), rtol, atol, key);
    free(want.data);
}

void expect_close_golden_scaled(const float *got, const cJSON *obj, const char *key, double rtol,
                                double atol_of_scale)
{
    gd_tensor want = golden_tensor(obj, key);
    int64_t n = gd_tensor_numel(&want);
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want.data[i]));
    cr_assert_not_null(got, "%s: gradus has no such tensor", key);
    expect_close(got, want.data, n, rtol, atol_of_scale * scale, key);
    free(want.data);
}

void expect_golden_shape(const gd_tensor *got, const cJSON *obj, const char *key)
{
    gd_tensor want = golden_tensor(obj, key);
    cr_assert_eq(got->ndim, want.ndim, "%s: %d dimensions, PyTorch has %d", key, got->ndim,
                 want.ndim);
    for (int d = 0; d < want.ndim; d++)
        cr_assert_eq(got->dims[d], want.dims[d], "%s: dimension %d is %lld, PyTorch's %lld", key,
                     d, (long long)got->dims[d], (long long)want.dims[d]);
    free(want.data);
}

void expect_step_as_golden(gd_model *m, const cJSON *c, const gd_tensor *x, double rtol,
                           double atol_of_scale, const char *skip_grad)
{
    gd_model_set_input_grad(m, true);
    cr_assert_eq(gd_model_forward(m, x), GD_OK, "%s", gd_model_error(m));
    expect_golden_shape(gd_model_output(m), c, "y");
    expect_close_golden_scaled(gd_model_output(m)->data, c, "y", rtol, atol_of_scale);
    gd_tensor *dy = gd_model_output_grad(m);
    golden_copy(c, "dy", dy->data, gd_tensor_numel(dy));
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
    gd_layer_info first;
    cr_assert_eq(gd_model_layer(m, "0", &first), GD_OK);
    expect_close_golden_scaled(first.input_grad.data, c, "dx", rtol, atol_of_scale);
    const cJSON *grads = golden_field(c, "grads"), *g;
    cJSON_ArrayForEach(g, grads)
    {
        if (skip_grad && strcmp(g->string, skip_grad) == 0)
            continue;
        gd_tensor *got = gd_model_grad(m, g->string);
        cr_assert_not_null(got, "gradus has no gradient for %s", g->string);
        expect_close_golden_scaled(got->data, grads, g->string, rtol, atol_of_scale);
    }
}

/* How far apart two model files of one architecture are, tensor by tensor: the largest
 * absolute difference of each float32 parameter and buffer, relative to the tensor's
 * largest value, and whether the files hold the very same bits. tests/mpi_test.sh uses it
 * to compare a data-parallel run's weights with one process's.
 *
 * usage: compare_models A B [TOLERANCE]
 *   prints one line per tensor and a last line "worst REL (NAME)"; exits 0 when every
 *   tensor's relative difference is at most TOLERANCE (default 0: identical), 1 when one
 *   is not, 2 when the files cannot be read or do not hold the same tensors. */
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double largest(const gd_tensor *t)
{
    double m = 0;
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        m = fmax(m, fabs(t->data[i]));
    return m;
}

/* max |a - b| over max |a|, 0 for equal bits (NaN, when one differs in NaN-ness, as 1). */
static double relative_difference(const gd_tensor *a, const gd_tensor *b)
{
    double worst = 0, scale = fmax(largest(a), 1e-30);
    for (int64_t i = 0; i < gd_tensor_numel(a); i++) {
        double d = fabs((double)a->data[i] - b->data[i]);
        worst = fmax(worst, isnan(d) ? scale : d);
    }
    return worst / scale;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: compare_models A B [TOLERANCE]\n");
        return 2;
    }
    double tolerance = argc == 4 ? strtod(argv[3], NULL) : 0;
    gd_model *a = NULL, *b = NULL;
    gd_error err;
    if (gd_model_load(&a, NULL, argv[1], 1, &err) != GD_OK ||
        gd_model_load(&b, NULL, argv[2], 1, &err) != GD_OK) {
        fprintf(stderr, "compare_models: %s\n", err.message);
        gd_model_free(a);
        return 2;
    }
    int rc = gd_model_tensor_count(a) == gd_model_tensor_count(b) ? 0 : 2;
    double worst = 0;
    const char *worst_name = "-";
    for (size_t i = 0; rc == 0 && i < gd_model_tensor_count(a); i++) {
        const gd_named_tensor *ta = gd_model_tensor_at(a, i), *tb = gd_model_tensor_at(b, i);
        if (strcmp(ta->name, tb->name) != 0 ||
            gd_tensor_numel(&ta->value) != gd_tensor_numel(&tb->value)) {
            fprintf(stderr, "compare_models: %s and %s differ in tensor %zu\n", argv[1],
                    argv[2], i);
            rc = 2;
            break;
        }
        if (ta->dtype != GD_DTYPE_F32)
            continue;
        double d = relative_difference(&ta->value, &tb->value);
        printf("%-28s %.3g\n", ta->name, d);
        if (d > worst || worst_name[0] == '-') {
            worst = d;
            worst_name = ta->name;
        }
    }
    if (rc == 0) {
        printf("worst %.3g (%s)\n", worst, worst_name);
        rc = worst <= tolerance ? 0 : 1;
    }
    gd_model_free(a);
    gd_model_free(b);
    return rc;
}

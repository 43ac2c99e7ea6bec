/* A program built against an installed gradus (tests/install_check.sh): it builds a small
 * model from a spec, runs it, fits a PCA (LAPACK through LAPACKE) and says which OpenBLAS
 * build and which libgradus the process loaded: gradus links OpenBLAS's OpenMP build, and
 * the pthread one beside it (what a wrong link line brings) would spin its own threads. */
#include <gradus.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "use_gradus: %s: %s\n", what, msg);
    return 1;
}

/* What /proc/self/maps says was loaded: the OpenBLAS folders ("openmp", "pthread",
 * "openmp+pthread" or "none") and the path of libgradus.so ("linked in" for none). */
static void loaded(const char **openblas, char *gradus, size_t len)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int omp = 0, pth = 0;
    snprintf(gradus, len, "linked in");
    while (f && fgets(line, sizeof line, f)) {
        omp |= strstr(line, "/openblas-openmp/") != NULL;
        pth |= strstr(line, "/openblas-pthread/") != NULL;
        char *path = strchr(line, '/');
        if (path && strstr(path, "/libgradus.so")) {
            path[strcspn(path, "\n")] = '\0';
            snprintf(gradus, len, "%s", path);
        }
    }
    if (f)
        fclose(f);
    *openblas = omp && pth ? "openmp+pthread" : omp ? "openmp" : pth ? "pthread" : "none";
}

int main(void)
{
    gd_model *m;
    gd_error err;
    if (gd_model_from_spec(&m, "linear(3) relu linear(2)", 1, 1, (int64_t[]){4}, 2, &err))
        return fail("spec", err.message);
    float x[8] = {1, -2, 0.5f, 3, -1, 0, 1, 2};
    gd_tensor in = gd_tensor_view(x, 2, (int64_t[]){2, 4});
    if (gd_model_forward(m, &in) != GD_OK)
        return fail("forward", gd_model_error(m));
    const float *y = gd_model_output(m)->data;
    printf("gradus %s: linear(3) relu linear(2) from seed 1: %.6f %.6f %.6f %.6f\n",
           gd_version(), y[0], y[1], y[2], y[3]);
    gd_model_free(m);

    float rows[12] = {1, 2, 0, 2, 4, 0, 3, 6, 0, 4, 8, 0}; /* on a line along (1, 2, 0) */
    gd_dataset *ds;
    gd_preprocess *pca;
    if (gd_dataset_create(&ds, 4, 1, (int64_t[]){3}, rows, NULL, 1, &err) ||
        gd_preprocess_fit(&pca, "pca:1", 0, ds, &err))
        return fail("pca", err.message);
    float first;
    gd_preprocess_apply(pca, rows, 1, &first);
    /* The first row lies 1.5 steps of |(1, 2, 0)| = sqrt(5) before the mean: |y| is 3.354. */
    printf("pca:1 of 4 rows: |first| %.3f\n", first < 0 ? -first : first);
    gd_preprocess_free(pca);
    gd_dataset_free(ds);
    const char *openblas;
    char gradus[4096];
    loaded(&openblas, gradus, sizeof gradus);
    printf("openblas: %s\nlibgradus: %s\n", openblas, gradus);
    return 0;
}

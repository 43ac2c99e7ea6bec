/* PCA, PCA whitening and ZCA whitening from the covariance's eigendecomposition.
 *
 * As in the lecture: cov = Xc^T Xc / N over the centred training rows Xc, U S U^T = cov,
 * pca:K keeps Xc U[:, :K] (the K directions of largest variance, in decreasing order),
 * whitening divides component k by sqrt(S_k + eps), and ZCA rotates the whitened data
 * back, W = U diag(1 / sqrt(S + eps)) U^T, the whitening closest to the raw data in mean
 * squared distance (Kessy, Lewin and Strimmer, 2018). Everything is fitted in double and
 * stored as float32. */
#include "transform.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows centred at a time while the covariance accumulates (chunk x d doubles). */
#define COV_CHUNK 1024

/* Copies the upper triangle of a row-major d x d matrix onto its lower one (dsyrk fills
 * only one). */
static void mirror_upper(double *a, int64_t d)
{
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i + 1; j < d; j++)
            a[j * d + i] = a[i * d + j];
}

/* cov = (1/n) sum_i (x_i - mean)(x_i - mean)^T with one dsyrk per chunk of centred rows,
 * so a 55000 x 784 set needs only a chunk of rows besides the d x d result; centring
 * before multiplying avoids the cancellation of E[x x^T] - mean mean^T. */
static void covariance(const float *x, int64_t n, int64_t d, const double *mean, double *chunk,
                       double *cov)
{
    for (int64_t start = 0; start < n; start += COV_CHUNK) {
        int64_t rows = n - start < COV_CHUNK ? n - start : COV_CHUNK;
#pragma omp parallel for num_threads(gd_threads()) if (rows * d > GD_PARALLEL_MIN) \
    schedule(static)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < d; j++)
                chunk[i * d + j] = (double)x[(start + i) * d + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows, 1.0,
                    chunk, (int)d, start ? 1.0 : 0.0, cov, (int)d);
    }
    for (int64_t i = 0; i < d * d; i++)
        cov[i] /= (double)n;
    mirror_upper(cov, d);
}

/* Eigenvalues of the symmetric a (ascending, into w) and its eigenvectors, overwriting
 * a. A symmetric matrix reads the same in either layout; handed to LAPACK as column-
 * major, eigenvector j comes back as column j, which is row j of our buffer: contiguous
 * at a + j * d, as a component row wants it. */
static gd_status eigen(double *a, int64_t d, double *w, const char *spec, char *msg)
{
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)d, a,
                                     (lapack_int)d, w);
    if (info == LAPACK_WORK_MEMORY_ERROR)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing \"%s\": no memory for the "
                                              "eigendecomposition's workspace", spec);
    if (info != 0)
        return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing \"%s\": the covariance's "
                                            "eigendecomposition failed (LAPACK info %d)",
                       spec, (int)info);
    return GD_OK;
}

/* Eigenvectors are unique only up to sign: each component is flipped so that its entry
 * of largest magnitude (the first such, on a tie) is positive, which makes the fitted
 * transform independent of LAPACK's choice (tests/reference/gen_preprocess.py applies
 * the same rule to numpy's). */
static void fix_sign(double *v, int64_t d)
{
    int64_t top = 0;
    for (int64_t i = 1; i < d; i++)
        if (fabs(v[i]) > fabs(v[top]))
            top = i;
    if (v[top] < 0)
        for (int64_t i = 0; i < d; i++)
            v[i] = -v[i];
}

/* Eigenvalues at or below d * DBL_EPSILON * S_max are zero: that is the rounding error of
 * a double eigendecomposition of a d x d matrix whose largest eigenvalue is S_max, so a
 * direction without variance (a constant pixel) comes back anywhere in +-1e-17 S_max, or
 * a little above, depending on the machine's LAPACK and BLAS kernels. Deciding "zero" by
 * that rule rather than by 1/sqrt(S) overflowing float makes the decision the same on
 * every machine. */
static double zero_tolerance(const double *w, int64_t d)
{
    return (double)d * DBL_EPSILON * fmax(w[d - 1], 0); /* w ascends */
}

static gd_status zero_variance(const gd_preprocess *p, int64_t k, double s, double tol,
                               double s_max, char *msg)
{
    return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing \"%s\": component %lld has no variance "
                                        "(eigenvalue %.2g <= %.2g); whitening it needs eps > 0, "
                                        "e.g. %.2g (1e-5 of the largest eigenvalue)",
                   p->spec, (long long)k, s, tol, 1e-5 * s_max);
}

/* 1 / sqrt(S + eps), with S = 0 for a direction without variance (rounding leaves those
 * slightly positive or negative); such a direction needs eps > 0, or its scale would be
 * rounding noise's inverse (1e8 for an eigenvalue of 1e-16). */
static gd_status whitening_scale(const gd_preprocess *p, const double *w, int64_t j, double eps,
                                 double *scale, char *msg)
{
    double tol = zero_tolerance(w, p->d), s = w[j] > tol ? w[j] : 0;
    if (s == 0 && !(eps > 0))
        return zero_variance(p, p->d - 1 - j, w[j], tol, w[p->d - 1], msg);
    *scale = 1 / sqrt(s + eps);
    if (!isfinite((float)*scale))
        return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing \"%s\": eps %g is too small to whiten "
                                            "component %lld (scale beyond float32)",
                       p->spec, eps, (long long)(p->d - 1 - j));
    return GD_OK;
}

/* pca and whiten: the top K eigenvectors as rows, in decreasing eigenvalue order (LAPACK
 * returns them ascending), with whiten's scale beside them. */
static gd_status store_components(gd_preprocess *p, double *vecs, const double *w, double eps,
                                  char *msg)
{
    for (int64_t c = 0; c < p->k; c++) {
        int64_t src = p->d - 1 - c;
        double *v = vecs + src * p->d;
        fix_sign(v, p->d);
        for (int64_t i = 0; i < p->d; i++)
            p->components[c * p->d + i] = (float)v[i];
        double scale;
        gd_status st;
        if (p->scale && (st = whitening_scale(p, w, src, eps, &scale, msg)) != GD_OK)
            return st;
        if (p->scale)
            p->scale[c] = (float)scale;
    }
    return GD_OK;
}

/* zca: W = U diag(s) U^T = B^T B with B's row j = sqrt(s_j) u_j^T, one dsyrk. Signs and
 * the order within a repeated eigenvalue cancel in W, so no convention is needed. */
static gd_status store_zca(gd_preprocess *p, double *vecs, const double *w, double eps,
                           double *out, char *msg)
{
    int64_t d = p->d;
    for (int64_t j = 0; j < d; j++) {
        double s;
        gd_status st = whitening_scale(p, w, j, eps, &s, msg);
        if (st != GD_OK)
            return st;
        double root = sqrt(s);
        for (int64_t i = 0; i < d; i++)
            vecs[j * d + i] *= root;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)d, 1.0, vecs,
                (int)d, 0.0, out, (int)d);
    mirror_upper(out, d);
    for (int64_t i = 0; i < d * d; i++)
        p->zca[i] = (float)out[i];
    return GD_OK;
}

gd_status gd_pre_fit_pca(gd_preprocess *p, const float *x, int64_t n, double eps, char *msg)
{
    int64_t d = p->d, rows = n < COV_CHUNK ? n : COV_CHUNK;
    /* mean, eigenvalues, covariance (then eigenvectors), and a chunk of centred rows,
     * sized to hold the d x d zca matrix afterwards. */
    size_t chunk_len = (size_t)(rows > d ? rows : d) * (size_t)d;
    double *work = malloc((2 * (size_t)d + (size_t)(d * d) + chunk_len) * sizeof *work);
    if (!work)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing \"%s\": no memory for the "
                                              "%lld x %lld covariance", p->spec,
                       (long long)d, (long long)d);
    double *mean = work, *w = mean + d, *cov = w + d, *chunk = cov + d * d;
    gd_status status = gd_pre_feature_means(x, n, d, mean, msg);
    if (status == GD_OK) {
        for (int64_t j = 0; j < d; j++)
            p->mean[j] = (float)mean[j];
        covariance(x, n, d, mean, chunk, cov);
        status = eigen(cov, d, w, p->spec, msg);
    }
    if (status == GD_OK)
        status = p->zca ? store_zca(p, cov, w, eps, chunk, msg)
                        : store_components(p, cov, w, eps, msg);
    free(work);
    return status;
}

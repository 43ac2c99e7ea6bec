#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gd_tensor random_tensor(uint64_t seed, double lo, double hi, int ndim, const int64_t *dims)
{
    gd_tensor t = gd_tensor_view(NULL, ndim, dims);
    int64_t n = gd_tensor_numel(&t);
    t.data = malloc((size_t)n * sizeof(float));
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, seed), GD_OK);
    for (int64_t i = 0; i < n; i++)
        t.data[i] = (float)(lo + (hi - lo) * gd_rng_uniform(rng));
    gd_rng_free(rng);
    return t;
}

/* The probe L = sum(output * r), in double; the generator is rewound first so that every
 * evaluation sees the same dropout mask. */
typedef struct probe {
    gd_model *m;
    const gd_tensor *x;
    const float *r;
    uint64_t rng_state[GD_RNG_STATE_WORDS];
} probe;

static double probe_value(probe *p)
{
    gd_rng_set_state(gd_model_rng(p->m), p->rng_state);
    gd_status st = gd_model_forward(p->m, p->x);
    cr_assert_eq(st, GD_OK, "forward failed: %s", gd_model_error(p->m));
    const gd_tensor *y = gd_model_output(p->m);
    double sum = 0;
    for (int64_t i = 0; i < gd_tensor_numel(y); i++)
        sum += (double)y->data[i] * p->r[i];
    return sum;
}

/* One central difference with step h (the step actually taken, after rounding to float). */
static double difference(probe *p, float *value, float h)
{
    float saved = *value;
    *value = saved + h;
    double up = probe_value(p);
    *value = saved - h;
    double down = probe_value(p);
    *value = saved;
    return (up - down) / ((double)(saved + h) - (double)(saved - h));
}

/* Richardson extrapolation of central differences at h and h/2: (4 D(h/2) - D(h)) / 3
 * cancels the h^2 error term, which batch normalisation's curvature makes visible at the
 * float32-friendly step h. */
static double central_difference(probe *p, float *value)
{
    float h = (float)GRADCHECK_STEP;
    return (4.0 * difference(p, value, 0.5f * h) - difference(p, value, h)) / 3.0;
}

/* Compares analytic and numeric gradients of one group of n values. The denominator has a
 * floor of 10% of the group's largest analytic entry, so entries near zero are judged on
 * the group's scale instead of on float32 noise (~3e-4 absolute after batch norm). A
 * planted 1% or sign error still shows in full on the group's large entries. */
static bool compare(const char *group, const float *analytic, const double *numeric, int64_t n,
                    double tol, double *worst, char *report, size_t len)
{
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(analytic[i]));
    bool ok = true;
    for (int64_t i = 0; i < n; i++) {
        double a = analytic[i], num = numeric[i];
        double denom = fmax(fmax(fabs(a), fabs(num)), fmax(0.1 * scale, 1e-6));
        double err = fabs(a - num) / denom;
        if (!(err <= tol))
            ok = false;
        if (!(err <= *worst)) {
            *worst = err;
            snprintf(report, len, "%s[%lld]: analytic %.7g, numeric %.7g, relative error %.3g > %g",
                     group, (long long)i, a, num, err, tol);
        }
    }
    return ok;
}

bool gradcheck_model(gd_model *m, const gd_tensor *input, double tol, char *report,
                     size_t report_len)
{
    gd_tensor x = *input;
    int64_t nx = gd_tensor_numel(input);
    x.data = malloc((size_t)nx * sizeof(float));
    memcpy(x.data, input->data, (size_t)nx * sizeof(float));
    gd_model_set_input_grad(m, true);

    probe p = {.m = m, .x = &x};
    gd_rng_get_state(gd_model_rng(m), p.rng_state);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    int64_t ny = gd_tensor_numel(gd_model_output(m));
    gd_tensor r = random_tensor(7, -1, 1, 1, (int64_t[]){ny});
    p.r = r.data;

    probe_value(&p);
    memcpy(gd_model_output_grad(m)->data, r.data, (size_t)ny * sizeof(float));
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
    gd_layer_info first;
    cr_assert_eq(gd_model_layer_at(m, 0, &first), GD_OK);
    gd_tensor params = gd_model_parameters_flat(m), grads = gd_model_gradients_flat(m);
    int64_t np = params.dims[0];
    float *dx = malloc((size_t)nx * sizeof(float)), *dp = malloc((size_t)(np + 1) * sizeof(float));
    memcpy(dx, first.input_grad.data, (size_t)nx * sizeof(float));
    if (np)
        memcpy(dp, grads.data, (size_t)np * sizeof(float));

    double *num = malloc((size_t)(nx > np ? nx : np + 1) * sizeof(double));
    double worst = 0;
    snprintf(report, report_len, "all gradients agree");
    for (int64_t i = 0; i < nx; i++)
        num[i] = central_difference(&p, &x.data[i]);
    bool ok = compare("input", dx, num, nx, tol, &worst, report, report_len);
    for (int64_t i = 0; i < np; i++)
        num[i] = central_difference(&p, &params.data[i]);
    ok = compare("parameters", dp, num, np, tol, &worst, report, report_len) && ok;

    free(num);
    free(dx);
    free(dp);
    free(r.data);
    free(x.data);
    return ok;
}

void expect_gradcheck(gd_model *m, const gd_tensor *input)
{
    char report[256];
    bool ok = gradcheck_model(m, input, GRADCHECK_TOL, report, sizeof report);
    cr_expect(ok, "gradient check failed: %s", report);
}

bool gradcheck_loss(gd_model *m, const gd_tensor *input, const gd_loss *loss,
                    const int32_t *labels, const float *targets, gradcheck_loss_fn fn,
                    double tol, char *report, size_t report_len)
{
    fn = fn ? fn : gd_model_loss;
    cr_assert_eq(gd_model_forward(m, input), GD_OK, "%s", gd_model_error(m));
    const gd_tensor *y = gd_model_output(m);
    int64_t ny = gd_tensor_numel(y);
    double value;
    cr_assert_eq(fn(m, loss, labels, targets, &value), GD_OK, "%s", gd_model_error(m));
    float *analytic = malloc((size_t)ny * sizeof(float));
    double *numeric = malloc((size_t)ny * sizeof(double));
    memcpy(analytic, gd_model_output_grad(m)->data, (size_t)ny * sizeof(float));
    for (int64_t i = 0; i < ny; i++) {
        float saved = y->data[i];
        double up, down;
        y->data[i] = saved + (float)GRADCHECK_STEP;
        fn(m, loss, labels, targets, &up);
        y->data[i] = saved - (float)GRADCHECK_STEP;
        fn(m, loss, labels, targets, &down);
        double h2 = (double)(saved + (float)GRADCHECK_STEP) - (double)(saved - (float)GRADCHECK_STEP);
        y->data[i] = saved;
        numeric[i] = (up - down) / h2;
    }
    double worst = 0;
    snprintf(report, report_len, "all gradients agree");
    bool ok = compare("dloss/doutput", analytic, numeric, ny, tol, &worst, report, report_len);
    free(analytic);
    free(numeric);
    return ok;
}

gd_model *identity_model(const gd_tensor *x)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 0), GD_OK);
    cr_assert_eq(gd_model_add_dropout(m, 0.0), GD_OK); /* in evaluation: y = x exactly */
    cr_assert_eq(gd_model_build(m, x->ndim - 1, x->dims + 1, x->dims[0]), GD_OK, "%s",
                 gd_model_error(m));
    gd_model_set_training(m, false);
    return m;
}

void expect_loss_gradcheck(const gd_tensor *x, const gd_loss *loss, const int32_t *labels,
                           const float *targets)
{
    gd_model *m = identity_model(x);
    char report[256];
    bool ok = gradcheck_loss(m, x, loss, labels, targets, NULL, GRADCHECK_TOL, report, sizeof report);
    cr_expect(ok, "loss gradient check failed: %s", report);
    gd_model_free(m);
}

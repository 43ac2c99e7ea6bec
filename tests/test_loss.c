/* The losses as pure functions: values and gradients against PyTorch (gen_loss.py), the
 * gradients against central differences, and every documented failure.
 *
 * Golden tolerance, rtol 1e-5 / atol 1e-7 for loss and gradient: both sides compute in
 * double from the same float32 inputs, so the loss differs only by summation order
 * (~1e-15 relative) and each gradient element by its two float32 roundings (gradus's and
 * the golden file's, <= 1.2e-7 relative). 1e-5 is ~100 times that, and still 1000 times
 * tighter than a 1% error in a term; atol 1e-7 covers gradients that are 0 on one side and
 * a rounding residue on the other. Measured: losses within 4e-16 relative, gradients
 * bit-identical to the golden file. */
#include "../src/loss/loss.h"
#include "golden.h"
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_RTOL 1e-5
#define GOLDEN_ATOL 1e-7

/* One signature for the three losses, so the golden and finite-difference checks serve
 * all of them. */
typedef struct loss_args {
    const int32_t *labels; /* cross-entropy, hinge */
    const float *target;   /* MSE */
    double param;          /* label smoothing or margin */
} loss_args;

typedef gd_status (*loss_fn)(const gd_tensor *x, const loss_args *a, double *loss,
                             float *grad, char *msg);

static gd_status run_cross_entropy(const gd_tensor *x, const loss_args *a, double *loss,
                                   float *grad, char *msg)
{
    return gd_cross_entropy(x, a->labels, a->param, loss, grad, msg);
}

static gd_status run_hinge(const gd_tensor *x, const loss_args *a, double *loss, float *grad,
                           char *msg)
{
    return gd_multiclass_hinge(x, a->labels, a->param, loss, grad, msg);
}

static gd_status run_mse(const gd_tensor *x, const loss_args *a, double *loss, float *grad,
                         char *msg)
{
    return gd_mse(x, a->target, loss, grad, msg);
}

/* A loss and the names of its fields in loss.json. */
typedef struct loss_spec {
    loss_fn fn;
    const char *input, *param, *grad;
    bool labels; /* "labels" (int) or "target" (tensor) */
} loss_spec;

static const loss_spec CROSS_ENTROPY = {run_cross_entropy, "logits", "label_smoothing",
                                        "dlogits", true};
static const loss_spec HINGE = {run_hinge, "scores", "margin", "dscores", true};
static const loss_spec MSE = {run_mse, "pred", NULL, "dpred", false};

/* A golden case loaded for one loss; release with golden_inputs_free. */
typedef struct golden_inputs {
    cJSON *root;
    const cJSON *c;
    gd_tensor x;
    loss_args args;
} golden_inputs;

static golden_inputs golden_inputs_load(const loss_spec *s, const char *name)
{
    golden_inputs g = {0};
    g.root = golden_load("loss.json");
    g.c = golden_case(g.root, name);
    g.x = golden_tensor(g.c, s->input);
    if (s->param)
        g.args.param = golden_number(g.c, s->param);
    if (s->labels) {
        int64_t n;
        g.args.labels = golden_labels(g.c, "labels", &n);
        cr_assert_eq(n, g.x.dims[0], "%s: %lld labels for %lld rows", name, (long long)n,
                     (long long)g.x.dims[0]);
    } else {
        gd_tensor t = golden_tensor(g.c, "target");
        cr_assert_eq(gd_tensor_numel(&t), gd_tensor_numel(&g.x), "%s: target size", name);
        g.args.target = t.data;
    }
    return g;
}

static void golden_inputs_free(golden_inputs *g)
{
    free(g->x.data);
    free((void *)g->args.labels);
    free((void *)g->args.target);
    cJSON_Delete(g->root);
}

static void expect_loss_close(double got, double want, const char *what)
{
    double tol = GOLDEN_ATOL + GOLDEN_RTOL * fabs(want);
    cr_expect(fabs(got - want) <= tol, "%s: loss %.17g, PyTorch says %.17g", what, got, want);
}

static void expect_golden(const loss_spec *s, const char *name)
{
    golden_inputs g = golden_inputs_load(s, name);
    float *grad = malloc((size_t)gd_tensor_numel(&g.x) * sizeof *grad);
    double loss;
    char msg[GD_MSG_MAX];
    gd_status st = s->fn(&g.x, &g.args, &loss, grad, msg);
    cr_assert_eq(st, GD_OK, "%s: %s", name, msg);
    expect_loss_close(loss, golden_number(g.c, "loss"), name);
    expect_close_golden(grad, g.c, s->grad, GOLDEN_RTOL, GOLDEN_ATOL);
    free(grad);
    golden_inputs_free(&g);
}

/* The loss alone (gradient pointer NULL) is bit-identical to the loss with its gradient. */
static void expect_same_loss_without_gradient(const loss_spec *s, const char *name)
{
    golden_inputs g = golden_inputs_load(s, name);
    float *grad = malloc((size_t)gd_tensor_numel(&g.x) * sizeof *grad);
    double with, without;
    char msg[GD_MSG_MAX];
    cr_assert_eq(s->fn(&g.x, &g.args, &with, grad, msg), GD_OK, "%s", msg);
    cr_assert_eq(s->fn(&g.x, &g.args, &without, NULL, msg), GD_OK, "%s", msg);
    cr_expect_eq(with, without, "%s: %.17g with a gradient, %.17g without", name, with, without);
    free(grad);
    golden_inputs_free(&g);
}

/* ----------------------------------------------------------- against PyTorch */

Test(loss, cross_entropy_matches_pytorch) { expect_golden(&CROSS_ENTROPY, "cross_entropy"); }

Test(loss, cross_entropy_with_label_smoothing_matches_pytorch)
{
    expect_golden(&CROSS_ENTROPY, "cross_entropy_smoothing");
}

/* eps = 1 is inside the domain: the target is uniform over the classes. */
Test(loss, cross_entropy_with_label_smoothing_1_matches_pytorch)
{
    expect_golden(&CROSS_ENTROPY, "cross_entropy_smoothing_1");
}

/* A naive exp(1000) overflows to inf and the loss to NaN; the golden loss is ~1000 and a
 * NaN fails the comparison. */
Test(loss, cross_entropy_is_finite_and_matches_pytorch_at_logits_of_1000)
{
    expect_golden(&CROSS_ENTROPY, "cross_entropy_extreme");
}

Test(loss, cross_entropy_with_smoothing_matches_pytorch_at_logits_of_1000)
{
    expect_golden(&CROSS_ENTROPY, "cross_entropy_extreme_smoothing");
}

/* The lecture's sum over classes: PyTorch's MultiMarginLoss times C (see gen_loss.py). */
Test(loss, hinge_matches_pytorch_multi_margin_loss_times_classes)
{
    expect_golden(&HINGE, "hinge");
}

Test(loss, hinge_with_margin_0_25_matches_pytorch) { expect_golden(&HINGE, "hinge_margin"); }

/* Integer scores put terms exactly on the hinge: their subgradient is 0, as PyTorch's;
 * counting them as active changes row 0's gradient from 0 to 0.25. */
Test(loss, hinge_subgradient_is_zero_at_the_kink) { expect_golden(&HINGE, "hinge_at_kink"); }

Test(loss, mse_matches_pytorch) { expect_golden(&MSE, "mse"); }

/* The mean runs over every element (K = 24), not over the 2 samples. */
Test(loss, mse_averages_over_every_element_of_a_3d_pred) { expect_golden(&MSE, "mse_3d"); }

Test(loss, cross_entropy_needs_no_gradient_buffer)
{
    expect_same_loss_without_gradient(&CROSS_ENTROPY, "cross_entropy_smoothing");
}

Test(loss, hinge_needs_no_gradient_buffer)
{
    expect_same_loss_without_gradient(&HINGE, "hinge");
}

Test(loss, mse_needs_no_gradient_buffer) { expect_same_loss_without_gradient(&MSE, "mse"); }

/* ------------------------------------------------------ gradient checks */

/* Through the shared helper (tests/gradcheck.h), whose tolerance note applies: the
 * analytic gradient must match central differences of the loss over its input. */
#define GC_N 6
#define GC_C 5

/* Uniform inputs in [-2, 2) and labels from a fixed seed. */
static void random_inputs(uint64_t seed, float *x, int64_t k, int32_t *labels, int64_t n)
{
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, seed), GD_OK);
    for (int64_t i = 0; i < k; i++)
        x[i] = (float)(4 * gd_rng_uniform(rng) - 2);
    for (int64_t i = 0; labels && i < n; i++)
        labels[i] = (int32_t)(gd_rng_next_u64(rng) % GC_C);
    gd_rng_free(rng);
}

static void expect_cross_entropy_gradcheck(double smoothing)
{
    float data[GC_N * GC_C];
    int32_t labels[GC_N];
    random_inputs(11, data, GC_N * GC_C, labels, GC_N);
    gd_tensor x = gd_tensor_view(data, 2, (int64_t[]){GC_N, GC_C});
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = smoothing};
    expect_loss_gradcheck(&x, &loss, labels, NULL);
}

Test(loss, cross_entropy_gradient_matches_central_differences)
{
    expect_cross_entropy_gradcheck(0.0);
}

Test(loss, cross_entropy_smoothed_gradient_matches_central_differences)
{
    expect_cross_entropy_gradcheck(0.3);
}

Test(loss, hinge_gradient_matches_central_differences)
{
    float data[GC_N * GC_C];
    int32_t labels[GC_N];
    random_inputs(12, data, GC_N * GC_C, labels, GC_N);
    double margin = 1.0;
    /* The check needs every term off its kink by more than the step, and some terms on
     * and some off so that both branches are checked. */
    int active = 0;
    for (int i = 0; i < GC_N; i++)
        for (int j = 0; j < GC_C; j++) {
            double z = margin - data[i * GC_C + labels[i]] + data[i * GC_C + j];
            cr_assert(j == labels[i] || fabs(z) > 2 * GRADCHECK_STEP,
                      "test input: row %d, class %d is %g from its kink", i, j, z);
            active += j != labels[i] && z > 0;
        }
    cr_assert(active > 0 && active < GC_N * (GC_C - 1), "test input: %d active terms", active);
    gd_tensor x = gd_tensor_view(data, 2, (int64_t[]){GC_N, GC_C});
    gd_loss loss = {.kind = GD_LOSS_MULTICLASS_HINGE, .margin = margin};
    expect_loss_gradcheck(&x, &loss, labels, NULL);
}

Test(loss, mse_gradient_matches_central_differences)
{
    float data[GC_N * GC_C], target[GC_N * GC_C];
    random_inputs(13, data, GC_N * GC_C, NULL, 0);
    random_inputs(14, target, GC_N * GC_C, NULL, 0);
    gd_tensor x = gd_tensor_view(data, 2, (int64_t[]){GC_N, GC_C});
    gd_loss loss = {.kind = GD_LOSS_MSE};
    expect_loss_gradcheck(&x, &loss, NULL, target);
}

/* ------------------------------------------------------------------ failures */

#define EN 4
#define EC 10

/* Valid inputs for a 4 x 10 loss that each failure test then spoils in one place. */
typedef struct fixture {
    float x[EN * EC], target[EN * EC], grad[EN * EC];
    int32_t labels[EN];
    gd_tensor t;
    double loss;
    char msg[GD_MSG_MAX];
} fixture;

static void fixture_init(fixture *f)
{
    for (int i = 0; i < EN * EC; i++) {
        f->x[i] = (float)sin(i);
        f->target[i] = (float)cos(i);
    }
    for (int i = 0; i < EN; i++)
        f->labels[i] = i;
    f->t = gd_tensor_view(f->x, 2, (int64_t[]){EN, EC});
    f->msg[0] = '\0';
}

static void expect_failure(gd_status got, gd_status want, const char *msg, const char *says)
{
    cr_assert_eq(got, want, "status %d (%s), want %d (%s); message '%s'", got, gd_strerror(got),
                 want, gd_strerror(want), msg);
    cr_expect(strstr(msg, says), "message '%s' does not say '%s'", msg, says);
}

Test(loss, cross_entropy_rejects_a_label_above_the_classes)
{
    fixture f;
    fixture_init(&f);
    f.labels[3] = 12;
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "label 12 at row 3 is outside 0..9");
}

Test(loss, cross_entropy_rejects_a_negative_label)
{
    fixture f;
    fixture_init(&f);
    f.labels[1] = -1;
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "label -1 at row 1 is outside 0..9");
}

/* Label C itself is one past the last class. */
Test(loss, hinge_rejects_a_label_equal_to_the_classes)
{
    fixture f;
    fixture_init(&f);
    f.labels[2] = EC;
    expect_failure(gd_multiclass_hinge(&f.t, f.labels, 1, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "label 10 at row 2 is outside 0..9");
}

Test(loss, cross_entropy_rejects_1d_logits)
{
    fixture f;
    fixture_init(&f);
    f.t = gd_tensor_view(f.x, 1, (int64_t[]){EN * EC});
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg), GD_ERR_SHAPE,
                   f.msg, "logits must be 2-D (N x C), not 1-D");
}

Test(loss, hinge_rejects_3d_scores)
{
    fixture f;
    fixture_init(&f);
    f.t = gd_tensor_view(f.x, 3, (int64_t[]){EN, 2, EC / 2});
    expect_failure(gd_multiclass_hinge(&f.t, f.labels, 1, &f.loss, f.grad, f.msg),
                   GD_ERR_SHAPE, f.msg, "scores must be 2-D (N x C), not 3-D");
}

Test(loss, cross_entropy_rejects_an_empty_batch)
{
    fixture f;
    fixture_init(&f);
    f.t.dims[0] = 0;
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg), GD_ERR_SHAPE,
                   f.msg, "logits is 0 x 10");
}

Test(loss, cross_entropy_rejects_label_smoothing_outside_0_1)
{
    const double bad[] = {-0.1, 1.5, NAN};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        fixture f;
        fixture_init(&f);
        expect_failure(gd_cross_entropy(&f.t, f.labels, bad[k], &f.loss, f.grad, f.msg),
                       GD_ERR_INVALID_ARGUMENT, f.msg, "label smoothing");
    }
}

Test(loss, hinge_rejects_a_margin_that_is_not_finite)
{
    fixture f;
    fixture_init(&f);
    expect_failure(gd_multiclass_hinge(&f.t, f.labels, INFINITY, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "margin inf");
}

Test(loss, cross_entropy_rejects_a_nan_logit_naming_its_row)
{
    fixture f;
    fixture_init(&f);
    f.x[2 * EC + 4] = NAN;
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg), GD_ERR_NUMERIC,
                   f.msg, "logits is nan at row 2, column 4");
}

Test(loss, cross_entropy_rejects_an_infinite_logit_naming_its_row)
{
    fixture f;
    fixture_init(&f);
    f.x[1 * EC + 7] = -INFINITY;
    expect_failure(gd_cross_entropy(&f.t, f.labels, 0.1, &f.loss, f.grad, f.msg),
                   GD_ERR_NUMERIC, f.msg, "logits is -inf at row 1, column 7");
}

Test(loss, hinge_rejects_a_nan_score_naming_its_row)
{
    fixture f;
    fixture_init(&f);
    f.x[3 * EC] = NAN;
    expect_failure(gd_multiclass_hinge(&f.t, f.labels, 1, &f.loss, f.grad, f.msg),
                   GD_ERR_NUMERIC, f.msg, "scores is nan at row 3, column 0");
}

Test(loss, mse_rejects_a_nan_prediction_naming_its_row)
{
    fixture f;
    fixture_init(&f);
    f.x[2 * EC + 9] = NAN;
    expect_failure(gd_mse(&f.t, f.target, &f.loss, f.grad, f.msg), GD_ERR_NUMERIC, f.msg,
                   "pred is nan at row 2, column 9");
}

Test(loss, mse_rejects_an_infinite_target_naming_its_row)
{
    fixture f;
    fixture_init(&f);
    f.target[EC + 1] = INFINITY;
    expect_failure(gd_mse(&f.t, f.target, &f.loss, f.grad, f.msg), GD_ERR_NUMERIC, f.msg,
                   "target is inf at row 1, column 1");
}

Test(loss, cross_entropy_rejects_null_labels)
{
    fixture f;
    fixture_init(&f);
    expect_failure(gd_cross_entropy(&f.t, NULL, 0, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "labels are NULL");
}

Test(loss, hinge_rejects_null_labels)
{
    fixture f;
    fixture_init(&f);
    expect_failure(gd_multiclass_hinge(&f.t, NULL, 1, &f.loss, f.grad, f.msg),
                   GD_ERR_INVALID_ARGUMENT, f.msg, "labels are NULL");
}

Test(loss, mse_rejects_null_targets)
{
    fixture f;
    fixture_init(&f);
    expect_failure(gd_mse(&f.t, NULL, &f.loss, f.grad, f.msg), GD_ERR_INVALID_ARGUMENT, f.msg,
                   "targets are NULL");
}

/* Every check runs before the first write: a bad label in the last row leaves the loss
 * and the gradient buffer as they were. */
Test(loss, a_failed_loss_writes_neither_loss_nor_gradient)
{
    fixture f;
    fixture_init(&f);
    f.labels[EN - 1] = EC;
    f.loss = -7;
    for (int i = 0; i < EN * EC; i++)
        f.grad[i] = -7;
    cr_assert_neq(gd_cross_entropy(&f.t, f.labels, 0, &f.loss, f.grad, f.msg), GD_OK);
    cr_expect_eq(f.loss, -7);
    for (int i = 0; i < EN * EC; i++)
        cr_expect_eq(f.grad[i], -7, "gradient element %d was written", i);
}

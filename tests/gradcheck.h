/* The numerical gradient check that every layer and loss passes (one helper, many callers).
 *
 * Central differences in float32: each input and parameter element x is moved by +-h and
 * the scalar L = sum(output * R) (R fixed random weights, accumulated in double) is
 * re-evaluated; differences at h and h/2 are combined by Richardson extrapolation, which
 * leaves a truncation error of O(h^4) ~ 1e-8 (batch norm's curvature makes plain O(h^2)
 * visible). Float32 rounding of L contributes ~ 1e-7 * sqrt(numel) / h ~ 1e-4 relative, so
 * GRADCHECK_TOL = 2e-3 passes correct code while a 1% scale error (relative error 1e-2)
 * or a flipped sign (relative error 2) fails it. Inputs must stay away from kinks (ReLU
 * at 0, max ties) by more than h. Loss checks use plain central differences. */
#ifndef GD_TEST_GRADCHECK_H
#define GD_TEST_GRADCHECK_H

#include <gradus.h>
#include <stdbool.h>

#define GRADCHECK_TOL 2e-3
#define GRADCHECK_STEP 1e-2

/* Checks dL/dinput and dL/dparam of every float32 parameter of a built model in its
 * current mode (dropout masks are replayed by restoring the generator before each
 * forward). Returns true when every element agrees within tol; otherwise false with the
 * worst element described in report. */
bool gradcheck_model(gd_model *m, const gd_tensor *input, double tol, char *report,
                     size_t report_len);

/* Asserts gradcheck_model passes (a Criterion failure names the worst element). */
void expect_gradcheck(gd_model *m, const gd_tensor *input);

/* A loss evaluated on the model's output, writing dL/doutput: gd_model_loss, or a test's
 * wrapper around it. */
typedef gd_status (*gradcheck_loss_fn)(gd_model *m, const gd_loss *loss, const int32_t *labels,
                                       const float *targets, double *value);

/* Checks the loss's gradient dL/doutput (as written by fn; NULL: gd_model_loss) against
 * central differences of the loss value over the model's output. */
bool gradcheck_loss(gd_model *m, const gd_tensor *input, const gd_loss *loss,
                    const int32_t *labels, const float *targets, gradcheck_loss_fn fn,
                    double tol, char *report, size_t report_len);

/* Asserts gradcheck_loss passes for the loss applied directly to the values in x (an
 * identity model feeds them through), with labels or targets as the loss needs. */
void expect_loss_gradcheck(const gd_tensor *x, const gd_loss *loss, const int32_t *labels,
                           const float *targets);
/* The identity model gradcheck_loss runs on: x's values become the output unchanged. */
gd_model *identity_model(const gd_tensor *x);

/* A tensor of n uniform values in [lo, hi) from a fixed seed (malloc'd; free t.data). */
gd_tensor random_tensor(uint64_t seed, double lo, double hi, int ndim, const int64_t *dims);

#endif

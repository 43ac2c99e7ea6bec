/* The numerical gradient check that every layer and loss passes, as Criterion helpers over
 * the library's gd_gradcheck (include/gradus.h states the method: Richardson-extrapolated
 * central differences in float32, the relative error with its floor, and why float32
 * correct code measures up to ~1e-4). GRADCHECK_TOL = GD_GRADCHECK_FLOAT32_TOL = 2e-3
 * passes correct code while a 1% scale error (relative error 1e-2) or a flipped sign
 * (relative error 2) fails it. Inputs must stay away from kinks (ReLU at 0, max ties) by
 * more than h. */
#ifndef GD_TEST_GRADCHECK_H
#define GD_TEST_GRADCHECK_H

#include <gradus.h>
#include <stdbool.h>

#define GRADCHECK_TOL GD_GRADCHECK_FLOAT32_TOL
#define GRADCHECK_STEP GD_GRADCHECK_DEFAULT_STEP

/* gd_gradcheck with its defaults (the probe objective L = sum(output * R), every element of
 * the input and of every float32 parameter, in the model's current mode, dropout masks
 * replayed). Returns true when the worst relative error is within tol; report describes
 * the worst element either way. */
bool gradcheck_model(gd_model *m, const gd_tensor *input, double tol, char *report,
                     size_t report_len);

/* Asserts gradcheck_model passes (a Criterion failure names the worst element). */
void expect_gradcheck(gd_model *m, const gd_tensor *input);

/* A loss evaluated on the model's output, writing dL/doutput: gd_model_loss, or a test's
 * wrapper around it. */
typedef gd_status (*gradcheck_loss_fn)(gd_model *m, const gd_loss *loss, const int32_t *labels,
                                       const float *targets, double *value);

/* Checks the loss's gradient dL/doutput (as written by fn; NULL: gd_model_loss) against
 * differences of the loss value. m must be identity_model(input), so that dL/dinput,
 * which gd_gradcheck's callback objective checks, is dL/doutput. */
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

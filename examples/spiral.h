/* The lecture's toy data: three spiral arms in the plane, one class each (CS231n's
 * "Putting it together" example). Shared by examples/spiral.c and the smoke test. */
#ifndef GD_EXAMPLE_SPIRAL_H
#define GD_EXAMPLE_SPIRAL_H

#include <gradus.h>
#include <math.h>

#define SPIRAL_POINTS 100 /* per arm */
#define SPIRAL_ARMS 3

/* x gets SPIRAL_POINTS * SPIRAL_ARMS rows of (x, y); labels the arm of each. */
static inline void spiral_make(float *x, int32_t *labels, uint64_t seed)
{
    gd_rng *rng;
    gd_rng_create(&rng, seed);
    for (int arm = 0; arm < SPIRAL_ARMS; arm++)
        for (int i = 0; i < SPIRAL_POINTS; i++) {
            int row = arm * SPIRAL_POINTS + i;
            double r = (double)i / (SPIRAL_POINTS - 1);
            double t = arm * 4.0 + 4.0 * i / (SPIRAL_POINTS - 1) + 0.2 * gd_rng_normal(rng);
            x[2 * row] = (float)(r * sin(t));
            x[2 * row + 1] = (float)(r * cos(t));
            labels[row] = arm;
        }
    gd_rng_free(rng);
}

/* Trains a 2-100-3 ReLU network on the spiral with full-batch Adam; returns the training
 * accuracy, or -1 on an error (printed by the caller from gd_model_error). */
static inline double spiral_train(gd_model *m, int steps, double *final_loss)
{
    enum { N = SPIRAL_POINTS * SPIRAL_ARMS };
    static float x[2 * N];
    static int32_t labels[N];
    spiral_make(x, labels, 1);
    gd_optimizer *opt = NULL;
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    cfg.lr = 1e-2;
    if (gd_model_add_linear(m, 2, 100, true) || gd_model_add_activation(m, GD_ACT_RELU) ||
        gd_model_add_linear(m, 100, SPIRAL_ARMS, true) || gd_model_build(m, 1, (int64_t[]){2}, N) ||
        gd_optim_create(&opt, m, &cfg))
        return -1;
    gd_tensor input = gd_tensor_view(x, 2, (int64_t[]){N, 2});
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    for (int step = 0; step < steps; step++)
        if (gd_model_forward(m, &input) || gd_model_loss(m, &loss, labels, NULL, final_loss) ||
            gd_model_backward(m) || gd_optim_step(opt)) {
            gd_optim_free(opt);
            return -1;
        }
    gd_optim_free(opt);
    gd_model_set_training(m, false);
    if (gd_model_forward(m, &input))
        return -1;
    const float *y = gd_model_output(m)->data;
    int correct = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int c = 1; c < SPIRAL_ARMS; c++)
            if (y[i * SPIRAL_ARMS + c] > y[i * SPIRAL_ARMS + best])
                best = c;
        correct += best == labels[i];
    }
    return (double)correct / N;
}

#endif

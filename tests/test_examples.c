/* The lecture's own examples, as tests. */
#include "../examples/spiral.h"

#include <criterion/criterion.h>
#include <math.h>

/* Linear(5, 3) + ReLU with xavier_uniform_ weight and zeros_ bias: the weight lies within
 * the Xavier bound sqrt(6 / (5 + 3)), the bias is zero, the output is relu(x W^T), and
 * backward of sum(output) gives the bias gradient = count of active units per column. */
Test(examples, lecture_linear_relu_with_xavier_and_zeros)
{
    gd_model *m;
    gd_model_create(&m, 0);
    gd_model_add_linear(m, 5, 3, true);
    gd_model_add_activation(m, GD_ACT_RELU);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){5}, 2), GD_OK, "%s", gd_model_error(m));
    gd_tensor *w = gd_model_param(m, "0.weight"), *b = gd_model_param(m, "0.bias");
    cr_assert_eq(gd_init_xavier_uniform_(w, 1.0, gd_model_rng(m)), GD_OK);
    cr_assert_eq(gd_init_zeros_(b), GD_OK);
    double bound = sqrt(6.0 / 8.0);
    for (int i = 0; i < 15; i++)
        cr_expect_leq(fabs(w->data[i]), bound);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(b->data[i], 0.0f);

    float x[10] = {1, -2, 0.5f, 3, -1, 0, 1, -1, 2, 0.5f};
    gd_tensor in = gd_tensor_view(x, 2, (int64_t[]){2, 5});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK);
    const float *y = gd_model_output(m)->data;
    int active[3] = {0};
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 3; j++) {
            double z = 0;
            for (int k = 0; k < 5; k++)
                z += (double)x[r * 5 + k] * w->data[j * 5 + k];
            cr_expect_float_eq(y[r * 3 + j], z > 0 ? z : 0.0, 1e-5);
            active[j] += z > 0;
        }
    for (int i = 0; i < 6; i++)
        gd_model_output_grad(m)->data[i] = 1.0f;
    cr_assert_eq(gd_model_backward(m), GD_OK);
    for (int j = 0; j < 3; j++)
        cr_expect_float_eq(gd_model_grad(m, "0.bias")->data[j], (float)active[j], 1e-6);
    gd_model_free(m);
}

/* The lecture's three-arm spiral is not linearly separable (a linear classifier reaches
 * about 50%); a 100-unit ReLU layer must fit it to at least 95%. */
Test(examples, small_mlp_learns_the_spiral)
{
    gd_model *m;
    gd_model_create(&m, 0);
    double loss = 0;
    double accuracy = spiral_train(m, 1000, &loss);
    cr_assert_geq(accuracy, 0.0, "%s", gd_model_error(m));
    cr_expect_geq(accuracy, 0.95, "training accuracy %.3f, loss %.4f", accuracy, loss);
    gd_model_free(m);
}

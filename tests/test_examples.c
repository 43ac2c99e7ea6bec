/* The lecture's own examples, as tests. */
#include "../examples/spiral.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* examples/train_api, built beside this binary (BUILD/examples beside BUILD/tests), runs
 * and prints a finite, positive update/weight ratio for the first layer's weight at its
 * first step and each epoch's end, and a test accuracy well above chance (it reaches 81%
 * on Fashion-MNIST, 89% on its toy blobs; chance is 10% and 33%). make test builds the
 * examples first; make test-unit does not, and then this test is skipped. GOMP_SPINCOUNT
 * as the command sets it (cli/main.c): libgomp's spinning threads made it 8x slower on a
 * busy 2-core machine. */
Test(examples, train_api_trains_and_prints_update_weight_ratios, .timeout = 60)
{
    char self[PATH_MAX], exe[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    snprintf(exe, sizeof exe, "%s/../examples/train_api", dirname(self));
    if (access(exe, X_OK) != 0)
        cr_skip_test("%s is not built (make examples)", exe);
    setenv("GOMP_SPINCOUNT", "10000", 0);
    FILE *out = popen(exe, "r");
    cr_assert_not_null(out);
    char line[1024];
    int ratios = 0, epochs = 0;
    double accuracy = -1;
    while (fgets(line, sizeof line, out)) {
        const char *w = strstr(line, " 0.weight ");
        double ratio = 0;
        if (strncmp(line, "step ", 5) == 0) {
            cr_assert(w && sscanf(w, " 0.weight %lf", &ratio) == 1, "%s", line);
            cr_expect(isfinite(ratio) && ratio > 0, "%s", line);
            ratios++;
        }
        epochs += strncmp(line, "epoch ", 6) == 0;
        sscanf(line, "test accuracy %lf%%", &accuracy);
    }
    int status = pclose(out);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "train_api: status %d", status);
    cr_expect_geq(ratios, 3, "step 1 and each epoch's last step at least");
    cr_expect_eq(epochs, 2);
    cr_expect_geq(accuracy, 70.0);
}

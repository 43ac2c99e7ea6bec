/* The lecture's example, in C: a Linear(5, 3) and a ReLU, the weight initialised with
 * xavier_uniform_ and the bias with zeros_, one forward and one backward pass, printed.
 *
 *   PyTorch                                  gradus
 *   net = nn.Sequential(nn.Linear(5, 3),     gd_model_add_linear(m, 5, 3, true);
 *                       nn.ReLU())           gd_model_add_activation(m, GD_ACT_RELU);
 *   nn.init.xavier_uniform_(net[0].weight)   gd_init_xavier_uniform_(w, 1.0, rng);
 *   nn.init.zeros_(net[0].bias)              gd_init_zeros_(b);
 */
#include <gradus.h>
#include <stdio.h>

static void print_matrix(const char *name, const gd_tensor *t)
{
    printf("%s (%lld x %lld):\n", name, (long long)t->dims[0], (long long)t->dims[1]);
    for (int64_t i = 0; i < t->dims[0]; i++) {
        for (int64_t j = 0; j < t->dims[1]; j++)
            printf(" %8.4f", t->data[i * t->dims[1] + j]);
        printf("\n");
    }
}

static int fail(gd_model *m, gd_status st)
{
    fprintf(stderr, "lecture: %s: %s\n", gd_strerror(st), gd_model_error(m));
    gd_model_free(m);
    return 1;
}

int main(void)
{
    gd_model *m;
    gd_status st;
    if (gd_model_create(&m, 0) != GD_OK)
        return 1;
    if ((st = gd_model_add_linear(m, 5, 3, true)) || (st = gd_model_add_activation(m, GD_ACT_RELU)) ||
        (st = gd_model_build(m, 1, (int64_t[]){5}, 2)))
        return fail(m, st);

    gd_tensor *w = gd_model_param(m, "0.weight"), *b = gd_model_param(m, "0.bias");
    gd_init_xavier_uniform_(w, 1.0, gd_model_rng(m));
    gd_init_zeros_(b);
    print_matrix("0.weight after xavier_uniform_", w);

    float x[2 * 5] = {1, -2, 0.5f, 3, -1, 0, 1, -1, 2, 0.5f};
    gd_tensor input = gd_tensor_view(x, 2, (int64_t[]){2, 5});
    if ((st = gd_model_forward(m, &input)))
        return fail(m, st);
    print_matrix("output = relu(x W^T + b)", gd_model_output(m));

    /* dL/doutput = 1 everywhere: the gradient of sum(output). */
    gd_tensor *dy = gd_model_output_grad(m);
    for (int64_t i = 0; i < gd_tensor_numel(dy); i++)
        dy->data[i] = 1.0f;
    if ((st = gd_model_backward(m)))
        return fail(m, st);
    gd_tensor db = *gd_model_grad(m, "0.bias");
    db.ndim = 2, db.dims[1] = db.dims[0], db.dims[0] = 1;
    print_matrix("d sum(output) / d 0.weight", gd_model_grad(m, "0.weight"));
    print_matrix("d sum(output) / d 0.bias", &db);
    gd_model_free(m);
    return 0;
}

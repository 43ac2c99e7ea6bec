/* calculate_gain and _calculate_fan_in_and_fan_out, as torch.nn.init defines them. */
#include "init.h"

#include <math.h>

/* The gain keeps activations' variance steady through the nonlinearity: linear maps
 * and sigmoid 1, tanh 5/3, ReLU sqrt(2) (it zeroes half its input), leaky ReLU
 * sqrt(2 / (1 + slope^2)), SELU 3/4 (found empirically, pytorch#50664). An unknown
 * nonlinearity, where PyTorch raises, gives NaN. */
double gd_calculate_gain(gd_nonlinearity nonlinearity, double param)
{
    switch (nonlinearity) {
    case GD_NONLIN_LINEAR:
    case GD_NONLIN_CONV1D:
    case GD_NONLIN_CONV2D:
    case GD_NONLIN_CONV3D:
    case GD_NONLIN_CONV_TRANSPOSE1D:
    case GD_NONLIN_CONV_TRANSPOSE2D:
    case GD_NONLIN_CONV_TRANSPOSE3D:
    case GD_NONLIN_SIGMOID: return 1.0;
    case GD_NONLIN_TANH: return 5.0 / 3;
    case GD_NONLIN_RELU: return sqrt(2.0);
    case GD_NONLIN_LEAKY_RELU: {
        double slope = param < 0 ? 0.01 : param; /* negative stands for PyTorch's None */
        return sqrt(2.0 / (1 + slope * slope));
    }
    case GD_NONLIN_SELU: return 3.0 / 4;
    }
    return NAN;
}

/* A shape the library can describe: any pointer problem is GD_ERR_INVALID_ARGUMENT,
 * any dimension problem GD_ERR_SHAPE. */
static gd_status check_shape(const gd_tensor *t)
{
    if (!t)
        return GD_ERR_INVALID_ARGUMENT;
    if (t->ndim < 0 || t->ndim > GD_MAX_DIMS)
        return GD_ERR_SHAPE;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0)
            return GD_ERR_SHAPE;
    return GD_OK;
}

gd_status gd_init_check_tensor(const gd_tensor *t)
{
    if (t && !t->data)
        return GD_ERR_INVALID_ARGUMENT;
    return check_shape(t);
}

/* Reads only the shape, so t->data may be NULL. Returns GD_ERR_INVALID_ARGUMENT for a
 * NULL pointer and GD_ERR_SHAPE for fewer than two dimensions (where PyTorch raises), more
 * than GD_MAX_DIMS or a negative one. */
gd_status gd_calculate_fan_in_and_fan_out(const gd_tensor *t, int64_t *fan_in,
                                          int64_t *fan_out)
{
    if (!fan_in || !fan_out)
        return GD_ERR_INVALID_ARGUMENT;
    gd_status status = check_shape(t);
    if (status != GD_OK)
        return status;
    if (t->ndim < 2)
        return GD_ERR_SHAPE;
    int64_t receptive_field = 1; /* a convolution kernel's spatial size */
    for (int i = 2; i < t->ndim; i++)
        receptive_field *= t->dims[i];
    *fan_in = t->dims[1] * receptive_field;
    *fan_out = t->dims[0] * receptive_field;
    return GD_OK;
}

/* Declarations shared by the initialisers' sources (src/init/); never installed. */
#ifndef GD_INIT_H
#define GD_INIT_H

#include "gradus.h"

/* A tensor an initialiser may fill: GD_ERR_INVALID_ARGUMENT for a NULL tensor or NULL
 * data, GD_ERR_SHAPE for ndim outside [0, GD_MAX_DIMS] or a negative dimension. */
gd_status gd_init_check_tensor(const gd_tensor *t);

/* The inverse error function, to ~1e-15 relative: erfinv(+-1) = +-inf, NaN outside
 * [-1, 1]. C99 has erf but no inverse; trunc_normal_ needs one, as PyTorch's does. */
double gd_erfinv(double y);

#endif

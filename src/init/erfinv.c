/* The inverse error function, for trunc_normal_'s inverse-CDF sampling. */
#include "init.h"

#include <math.h>

#define TWO_OVER_SQRT_PI 1.12837916709551257390 /* erf'(x) = TWO_OVER_SQRT_PI exp(-x^2) */
#define SQRT_PI 1.77245385090551602730

/* Giles's single-precision fit covers w = -log(1 - y^2) up to float's last step below 1
 * (w ~ 16.6); past w = 16 it drifts (0.1 off at 1 - y = 1e-16). */
#define GILES_W_MAX 16.0

/* M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade (2011): his
 * single-precision polynomials in w, within ~1e-7 relative for w < GILES_W_MAX.
 * (1 - y)(1 + y) rather than 1 - y*y keeps w accurate as y nears 1. */
static double erfinv_giles(double y, double w)
{
    double p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w;
        p = -3.5233877e-06 + p * w;
        p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w;
        p = -0.00125372503 + p * w;
        p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w;
        p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3.0;
        p = -0.000200214257;
        p = 0.000100950558 + p * w;
        p = 0.00134934322 + p * w;
        p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w;
        p = -0.0076224613 + p * w;
        p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w;
        p = 2.83297682 + p * w;
    }
    return p * y;
}

/* The far tail, q = 1 - y < 6e-8 (x > 3.8): the asymptotic series
 * erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2)) solved for x by two fixed-point steps
 * on x^2 = -log(q sqrt(pi)) - log(x) + log(1 - 1/(2x^2)), within 1.1e-4 relative. */
static double erfinv_tail(double q)
{
    double l = -log(q * SQRT_PI);
    double x = sqrt(l);
    for (int step = 0; step < 2; step++)
        x = sqrt(l - log(x) + log1p(-0.5 / (x * x)));
    return x;
}

/* Halley's method on f(x) = erf(x) - y refines the estimate: since f'' = -2x f', its step
 * is d / (1 + x d) with d = f / f', and its error contracts as e' ~ (x^2 + 1)/3 e^3, so two
 * steps take 1e-4 (x < 6 for every double y < 1) to the last bit. For y >= 1/2, f is
 * written (1 - y) - erfc(x): 1 - y is exact there (Sterbenz) and erfc keeps its relative
 * accuracy in the tail, where erf(x) - y would cancel to nothing. */
double gd_erfinv(double y)
{
    double ay = fabs(y);
    if (!(ay <= 1.0))
        return NAN; /* |y| > 1 or NaN, as PyTorch's erfinv */
    if (ay == 1.0)
        return copysign(INFINITY, y);
    double w = -log((1.0 - ay) * (1.0 + ay));
    double x = w < GILES_W_MAX ? erfinv_giles(ay, w) : erfinv_tail(1.0 - ay);
    for (int step = 0; step < 2; step++) {
        double f = ay < 0.5 ? erf(x) - ay : (1.0 - ay) - erfc(x);
        double d = f / (TWO_OVER_SQRT_PI * exp(-x * x));
        x -= d / (1.0 + x * d);
    }
    return copysign(x, y);
}

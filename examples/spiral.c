/* Trains the lecture's spiral classifier and prints its training accuracy. */
#include "spiral.h"

#include <stdio.h>

int main(void)
{
    gd_model *m;
    double loss = 0;
    if (gd_model_create(&m, 0) != GD_OK)
        return 1;
    double accuracy = spiral_train(m, 1000, &loss);
    if (accuracy < 0) {
        fprintf(stderr, "spiral: %s\n", gd_model_error(m));
        gd_model_free(m);
        return 1;
    }
    printf("spiral: final loss %.4f, training accuracy %.1f%%\n", loss, 100 * accuracy);
    gd_model_free(m);
    return 0;
}

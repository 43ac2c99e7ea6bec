/* Using a trained model from C: load a model file (gradus train's model.safetensors, or
 * one PyTorch wrote, docs/pytorch.md) with its preprocessing, list its layers, evaluate
 * it on labelled IDX images and print the first predictions with their probabilities,
 * what `gradus summary`, `gradus eval` and `gradus predict --probs` print.
 *
 * usage: evaluate_model MODEL [IMAGES LABELS]   (default: Fashion-MNIST's test set) */
#include <gradus.h>
#include <stdio.h>
#include <stdlib.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"
#define BATCH 256 /* samples per forward: any size works, larger is faster */
#define SHOWN 3   /* predictions printed */

static void print_layers(const gd_model *m)
{
    gd_summary s;
    gd_layer_summary l;
    printf("%-8s %-16s %-14s %10s\n", "layer", "kind", "output", "parameters");
    for (size_t i = 0; gd_model_layer_summary(m, i, &l) == GD_OK; i++) {
        char shape[64] = "";
        for (int d = 0, at = 0; d < l.ndim && at < (int)sizeof shape; d++)
            at += snprintf(shape + at, sizeof shape - at, d ? "x%lld" : "%lld",
                           (long long)l.dims[d]);
        printf("%-8s %-16s %-14s %10lld\n", l.name, l.kind, shape, (long long)l.parameters);
    }
    if (gd_model_summary(m, &s) == GD_OK)
        printf("%lld parameters; %.1f KiB of activations for batches of %lld\n",
               (long long)s.parameters, (double)s.activation_bytes / 1024, (long long)s.batch);
}

static gd_status predict_first(gd_model *m, gd_dataset *ds, gd_error *err)
{
    int64_t dims[GD_MAX_DIMS], n = gd_dataset_size(ds);
    int classes = gd_model_output_shape(m, dims) == 1 ? (int)dims[0] : 0;
    int32_t *guess = malloc((size_t)n * sizeof *guess);
    double *probs = malloc((size_t)n * (size_t)classes * sizeof *probs);
    gd_status st = GD_ERR_NO_MEMORY;
    if (guess && probs)
        st = gd_predict(m, ds, guess, probs, err);
    else
        snprintf(err->message, sizeof err->message, "no memory for %lld predictions", (long long)n);
    for (int64_t i = 0; st == GD_OK && i < n && i < SHOWN; i++) {
        printf("sample %lld: class %d (label %d), probabilities", (long long)i, guess[i],
               gd_dataset_labels(ds)[i]);
        for (int c = 0; c < classes; c++)
            printf(" %.3f", probs[i * classes + c]);
        printf("\n");
    }
    free(guess);
    free(probs);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL [IMAGES LABELS]\n", argv[0]);
        return 2;
    }
    const char *images = argc == 4 ? argv[2] : FASHION "t10k-images-idx3-ubyte.gz";
    const char *labels = argc == 4 ? argv[3] : FASHION "t10k-labels-idx1-ubyte.gz";
    gd_dataset *ds = NULL;
    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_error err;
    /* The data first: a file PyTorch wrote may not record the input shape, and then the
     * model is built for the images' (1 x 28 x 28). */
    gd_status st = gd_dataset_read_idx(&ds, images, labels, &err);
    int64_t dims[GD_MAX_DIMS];
    int ndim = ds ? gd_dataset_sample_shape(ds, dims) : 0;
    if (st == GD_OK)
        st = gd_model_load_as(&m, &pre, argv[1], ndim, dims, BATCH, &err);
    if (st == GD_OK && pre) /* the statistics fitted on the training split, from the file */
        st = gd_preprocess_apply_dataset(pre, ds, &err);
    gd_evaluation ev;
    if (st == GD_OK) {
        print_layers(m);
        st = gd_evaluate(m, ds, NULL, &ev, &err);
    }
    if (st == GD_OK) {
        printf("%lld samples: loss %.4f, accuracy %.4f\n", (long long)ev.samples, ev.loss,
               ev.accuracy);
        st = predict_first(m, ds, &err);
    }
    if (st != GD_OK)
        fprintf(stderr, "evaluate_model: %s: %s\n", gd_strerror(st), err.message);
    gd_preprocess_free(pre);
    gd_model_free(m);
    gd_dataset_free(ds);
    return st == GD_OK ? 0 : 1;
}

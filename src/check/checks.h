/* What the setup checks share (checks.c): results, fresh models, the examples as a
 * batch, a few plain training steps and an evaluation. The checks themselves are in
 * check_model.c (on one fresh model: initial loss, gradients, batch independence) and
 * check_training.c (short trainings: overfit, baseline, determinism). */
#ifndef GD_CHECKS_H
#define GD_CHECKS_H

#include "../core/internal.h"

/* Clears out and names it. */
void gd_check_begin(gd_check_result *out, int number, const char *name, const char *title);
/* Appends a figure (silently dropped past GD_CHECK_MAX_FIGURES). */
void gd_check_figure_add(gd_check_result *out, const char *name, double value);
/* Sets the verdict and, formatted, the advice. */
void gd_check_judge(gd_check_result *out, gd_check_verdict verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends formatted text to the summary (cut at its size). */
void gd_check_say(gd_check_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fresh model from the setup (its make_model, else the settings' spec and seed). */
gd_status gd_check_model(const gd_check_setup *s, gd_model **out, char *msg);

/* The first n examples of the data as a flat batch: x (n x sample values) and labels
 * point into the data set. n is cut to the data's size. */
typedef struct gd_check_examples {
    float *x;
    const int32_t *labels;
    int64_t n, width;
} gd_check_examples;
gd_status gd_check_take(const gd_check_setup *s, int64_t n, gd_check_examples *out, char *msg);

/* A view of rows [first, first + rows) of a flat batch with the model's sample shape. */
gd_tensor gd_check_rows(const gd_model *m, const float *x, int64_t width, int64_t first,
                        int64_t rows);

/* The loss the checks judge: the setup's, with label smoothing off. */
gd_loss gd_check_loss(const gd_check_setup *s);
/* True when some layer is a batch norm. */
bool gd_check_has_batchnorm(const gd_model *m);
/* The model's classes: its per-sample output size. */
int64_t gd_check_classes(const gd_model *m);

/* The settings' optimiser over m at a constant rate, weight decay as given. */
gd_status gd_check_optimizer(const gd_check_setup *s, gd_model *m, double weight_decay,
                             gd_optimizer **out, char *msg);

/* steps optimiser steps in training mode over ex, in order and round again, in batches of
 * up to the model's planned size (a last batch of one sample joins the next round's
 * first when the model has batch norm). losses (may be NULL) gets each step's loss. */
gd_status gd_check_train(gd_model *m, gd_optimizer *opt, const gd_loss *loss,
                         const gd_check_examples *ex, int64_t steps, double *losses, char *msg);

/* Mean loss and accuracy on ex in evaluation mode (the mode is put back). */
gd_status gd_check_evaluate(gd_model *m, const gd_loss *loss, const gd_check_examples *ex,
                            double *mean_loss, double *accuracy, char *msg);

#endif

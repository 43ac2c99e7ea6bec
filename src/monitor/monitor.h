/* The training monitor's parts: the handle shared by its callbacks (monitor.c), the
 * figures it computes (stats.c) and the lines it writes (record.c). */
#ifndef GD_MONITOR_H
#define GD_MONITOR_H

#include "../core/internal.h"

/* How a layer's outputs are judged. */
typedef enum mon_act { MON_OTHER, MON_SIGMOID, MON_TANH, MON_RELU } mon_act;

typedef struct mon_layer {
    gd_monitor_layer pub;
    size_t index;   /* gd_model_layer_at's */
    mon_act act;
    uint8_t *fired; /* relu: one byte per unit, set when it was > 0 on any sample since the
                       last record (a byte, not a bit: the update loop vectorises) */
    bool warned;    /* its warning fired at the last record and has not cleared */
} mon_layer;

typedef struct mon_tensor {
    gd_monitor_tensor pub;
    float *value, *grad; /* the model's flat buffers' views */
    size_t offset;       /* into the flat parameters, for the copy before the step */
    int64_t numel;
    int ndim;
    double grad_level; /* the gradient norm's recent level: a moving average over the
                          records (NaN before the first) */
    bool warned_low, warned_high;
} mon_tensor;

struct gd_monitor {
    gd_run *run;
    gd_monitor_options opt;
    mon_layer *layers;
    size_t nlayers;
    mon_tensor *tensors;
    size_t ntensors;
    float *before; /* the flat parameters before a record step's update */
    size_t param_count;
    int64_t steps, records, since, warnings;
    bool recording; /* the step in progress ends an interval */
    double first_loss, loss;
    double base_lr; /* the settings' rate, which a schedule scales */
    bool stopped;
    gd_monitor_warning stop_warning;
    char stop_message[512];
    int fd; /* monitor.jsonl, or -1 */
    char *line;
    size_t line_cap, line_len;
    bool line_overflow;
    char message[512];
    gd_status status;
    char msg[GD_MSG_MAX];
};

/* stats.c */
void gd_monitor_mark_fired(mon_layer *l, const gd_tensor *out);
void gd_monitor_layer_stats(mon_layer *l, const gd_tensor *out, int64_t steps);
double gd_monitor_norm(const float *x, int64_t n);
double gd_monitor_distance(const float *a, const float *b, int64_t n);

/* record.c: a line is begun, appended to and written whole by one write(). */
void gd_monitor_line_begin(gd_monitor *m, const char *type, const gd_step_info *step);
void gd_monitor_put(gd_monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gd_monitor_put_string(gd_monitor *m, const char *key, const char *value);
void gd_monitor_put_number(gd_monitor *m, const char *key, double value);
void gd_monitor_line_end(gd_monitor *m);
void gd_monitor_write_start(gd_monitor *m, int64_t step);
void gd_monitor_write_record(gd_monitor *m, const gd_step_info *step);
/* Formats a warning's sentence into m->message, writes its line and calls the callback. */
void gd_monitor_warn(gd_monitor *m, const gd_step_info *step, gd_monitor_warning_kind kind,
                     const char *subject, double value, double threshold, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
const char *gd_monitor_warning_code(gd_monitor_warning_kind kind);

#endif

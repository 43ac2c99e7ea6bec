/* monitor.jsonl: one JSON object per line (docs/monitor.md), each formatted into a buffer
 * sized at creation and written by one write() on a file opened O_APPEND, so that a reader
 * never sees half a line unless the process dies inside that call. Numbers that JSON
 * cannot hold (NaN, infinities) are written null. */
#include "monitor.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void gd_monitor_put(gd_monitor *m, const char *fmt, ...)
{
    if (m->line_overflow)
        return;
    size_t room = m->line_cap - m->line_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->line + m->line_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        m->line_overflow = true;
    else
        m->line_len += (size_t)n;
}

/* "key":"value" with JSON's escapes (names come from the model; kinds are constants). */
void gd_monitor_put_string(gd_monitor *m, const char *key, const char *value)
{
    gd_monitor_put(m, "%s\"%s\":\"", m->line[m->line_len - 1] == '{' ? "" : ",", key);
    for (const unsigned char *c = (const unsigned char *)value; *c && !m->line_overflow; c++) {
        if (*c == '"' || *c == '\\')
            gd_monitor_put(m, "\\%c", *c);
        else if (*c < 0x20)
            gd_monitor_put(m, "\\u%04x", *c);
        else
            gd_monitor_put(m, "%c", *c);
    }
    gd_monitor_put(m, "\"");
}

static void put_value(gd_monitor *m, double value)
{
    if (isfinite(value))
        gd_monitor_put(m, "%.7g", value);
    else
        gd_monitor_put(m, "null");
}

void gd_monitor_put_number(gd_monitor *m, const char *key, double value)
{
    gd_monitor_put(m, "%s\"%s\":", m->line[m->line_len - 1] == '{' ? "" : ",", key);
    put_value(m, value);
}

void gd_monitor_line_begin(gd_monitor *m, const char *type, const gd_step_info *step)
{
    m->line_len = 0;
    m->line_overflow = false;
    gd_monitor_put(m, "{\"type\":\"%s\"", type);
    if (step)
        gd_monitor_put(m, ",\"step\":%lld,\"epoch\":%lld,\"batch\":%lld", (long long)step->step + 1,
                       (long long)step->epoch + 1, (long long)step->batch);
}

static void fail_write(gd_monitor *m, gd_status st, const char *what)
{
    if (m->status == GD_OK)
        m->status = gd_fail(m->msg, st, "monitor.jsonl: %s", what);
}

void gd_monitor_line_end(gd_monitor *m)
{
    gd_monitor_put(m, "}\n");
    if (m->fd < 0 || m->status != GD_OK)
        return;
    if (m->line_overflow) { /* a sizing mistake in this file: never half a record */
        fail_write(m, GD_ERR_STATE, "a record outgrew its buffer");
        return;
    }
    size_t done = 0;
    while (done < m->line_len) {
        ssize_t n = write(m->fd, m->line + done, m->line_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail_write(m, GD_ERR_IO, strerror(n < 0 ? errno : EIO));
            return;
        }
        done += (size_t)n;
    }
}

/* What a reader needs to read the records: the interval, the thresholds, every layer's
 * kind, size and histogram range, every tensor's size. */
void gd_monitor_write_start(gd_monitor *m, int64_t step)
{
    const gd_monitor_options *o = &m->opt;
    gd_monitor_line_begin(m, "start", NULL);
    gd_monitor_put(m, ",\"schema\":%d", GD_MONITOR_SCHEMA);
    gd_monitor_put_string(m, "gradus_version", gd_version());
    gd_monitor_put(m, ",\"step\":%lld,\"interval\":%lld,\"bins\":%d", (long long)step,
                   (long long)o->interval, GD_MONITOR_BINS);
    gd_monitor_put(m, ",\"thresholds\":{\"saturated_fraction\":");
    put_value(m, o->saturated_fraction);
    gd_monitor_put_number(m, "dead_fraction", o->dead_fraction);
    gd_monitor_put_number(m, "ratio_low", o->ratio_low);
    gd_monitor_put_number(m, "ratio_high", o->ratio_high);
    gd_monitor_put_number(m, "gradient_jump", o->gradient_jump);
    gd_monitor_put_number(m, "loss_stop_factor", o->loss_stop_factor);
    gd_monitor_put(m, "},\"layers\":[");
    for (size_t i = 0; i < m->nlayers; i++) {
        const gd_monitor_layer *l = &m->layers[i].pub;
        gd_monitor_put(m, "%s{", i ? "," : "");
        gd_monitor_put_string(m, "name", l->name);
        gd_monitor_put_string(m, "kind", l->kind);
        gd_monitor_put(m, ",\"units\":%lld,\"range\":[%g,%g]}", (long long)l->units, l->lo, l->hi);
    }
    gd_monitor_put(m, "],\"tensors\":[");
    for (size_t i = 0; i < m->ntensors; i++) {
        gd_monitor_put(m, "%s{", i ? "," : "");
        gd_monitor_put_string(m, "name", m->tensors[i].pub.name);
        gd_monitor_put(m, ",\"numel\":%lld}", (long long)m->tensors[i].numel);
    }
    gd_monitor_put(m, "]");
    gd_monitor_line_end(m);
}

static void put_layer(gd_monitor *m, const gd_monitor_layer *l)
{
    gd_monitor_put(m, "{");
    gd_monitor_put_string(m, "name", l->name);
    gd_monitor_put_number(m, "mean", l->mean);
    gd_monitor_put_number(m, "std", l->std);
    gd_monitor_put(m, ",\"histogram\":[");
    for (int b = 0; b < GD_MONITOR_BINS + 2; b++)
        gd_monitor_put(m, "%s%lld", b ? "," : "", (long long)l->histogram[b]);
    gd_monitor_put(m, "]");
    if (!isnan(l->saturated))
        gd_monitor_put_number(m, "saturated", l->saturated);
    if (!isnan(l->dead))
        gd_monitor_put_number(m, "dead", l->dead);
    gd_monitor_put(m, "}");
}

static void put_tensor(gd_monitor *m, const gd_monitor_tensor *t)
{
    gd_monitor_put(m, "{");
    gd_monitor_put_string(m, "name", t->name);
    gd_monitor_put_number(m, "grad_norm", t->grad_norm);
    gd_monitor_put_number(m, "weight_norm", t->weight_norm);
    gd_monitor_put_number(m, "update_norm", t->update_norm);
    gd_monitor_put_number(m, "update_ratio", t->update_ratio);
    gd_monitor_put(m, "}");
}

void gd_monitor_write_record(gd_monitor *m, const gd_step_info *step)
{
    gd_monitor_line_begin(m, "record", step);
    gd_monitor_put(m, ",\"steps\":%lld", (long long)m->since);
    gd_monitor_put_number(m, "loss", m->loss);
    gd_monitor_put(m, ",\"layers\":[");
    for (size_t i = 0; i < m->nlayers; i++) {
        gd_monitor_put(m, "%s", i ? "," : "");
        put_layer(m, &m->layers[i].pub);
    }
    gd_monitor_put(m, "],\"tensors\":[");
    for (size_t i = 0; i < m->ntensors; i++) {
        gd_monitor_put(m, "%s", i ? "," : "");
        put_tensor(m, &m->tensors[i].pub);
    }
    gd_monitor_put(m, "]");
    gd_monitor_line_end(m);
}

static const char *const codes[] = {
    [GD_WARN_SATURATED] = "saturated",
    [GD_WARN_DEAD_UNITS] = "dead_units",
    [GD_WARN_UPDATE_RATIO_LOW] = "update_ratio_low",
    [GD_WARN_UPDATE_RATIO_HIGH] = "update_ratio_high",
    [GD_WARN_GRADIENT_JUMP] = "gradient_jump",
    [GD_WARN_LOSS_EXPLODED] = "loss_exploded",
};

const char *gd_monitor_warning_code(gd_monitor_warning_kind kind) { return codes[kind]; }

void gd_monitor_warn(gd_monitor *m, const gd_step_info *step, gd_monitor_warning_kind kind,
                     const char *subject, double value, double threshold, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->message, sizeof m->message, fmt, ap);
    va_end(ap);
    gd_monitor_warning w = {.kind = kind, .code = codes[kind], .subject = subject,
                            .value = value, .threshold = threshold, .step = step->step + 1,
                            .message = m->message};
    m->warnings++;
    gd_monitor_line_begin(m, "warning", step);
    gd_monitor_put_string(m, "code", w.code);
    gd_monitor_put_string(m, "subject", subject);
    gd_monitor_put_number(m, "value", value);
    gd_monitor_put_number(m, "threshold", threshold);
    gd_monitor_put(m, ",\"stop\":%s", kind == GD_WARN_LOSS_EXPLODED ? "true" : "false");
    gd_monitor_put_string(m, "message", m->message);
    gd_monitor_line_end(m);
    if (kind == GD_WARN_LOSS_EXPLODED) {
        memcpy(m->stop_message, m->message, sizeof m->stop_message);
        m->stop_warning = w;
        m->stop_warning.message = m->stop_message;
    }
    if (m->opt.on_warning)
        m->opt.on_warning(m->opt.ctx, &w);
}

/* Errors of cvm-runtime: stderr, and --log as runc writes it (one JSON object a line with
 * "level", "msg", "time" when --log-format json, else logfmt-ish text). containerd's runc shim
 * reads that file after a failed call and shows the last error line to the user. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "rt.h"

static void emit(const struct rt_ctx *ctx, const char *level, const char *msg)
{
    char ts[64];
    struct timespec now;
    struct tm tm;

    if (!ctx || ctx->log_fd < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + k, sizeof(ts) - k, ".%09ldZ", now.tv_nsec);
    if (ctx->log_json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", ts);
        _cleanup_free_ char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (line) {
            (void)write_all(ctx->log_fd, line, strlen(line));
            (void)write_all(ctx->log_fd, "\n", 1);
        }
        return;
    }
    dprintf(ctx->log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
}

int rt_err(const struct rt_ctx *ctx, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "cvm-runtime: %s\n", msg);
    emit(ctx, "error", msg);
    return 1;
}

void rt_debug(const struct rt_ctx *ctx, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    if (!ctx || !ctx->a->debug)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(ctx, "debug", msg);
}

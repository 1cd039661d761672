#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_LVL_INFO;
static int sink_fd = 2;
static char ident[80];
static unsigned long dropped, dropped_reported;

void log_set_level(enum log_level lvl)
{
    cur_level = lvl;
}

enum log_level log_get_level(void)
{
    return cur_level;
}

void log_set_fd(int fd)
{
    sink_fd = fd;
}

void log_set_ident(const char *id)
{
    snprintf(ident, sizeof(ident), "%s", id ? id : "");
}

unsigned long log_dropped(void)
{
    return dropped;
}

static const char *level_name(enum log_level l)
{
    static const char *const n[] = {"debug", "info", "warning", "error"};
    return (unsigned)l < 4 ? n[l] : "info";
}

/* Append s to out as a logfmt quoted value, escaping quotes, backslashes and control bytes. */
static size_t quote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (cap < 3)
        return 0;
    out[o++] = '"';
    for (; *s && o + 6 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    return o;
}

static int write_record(const char *buf, size_t len)
{
    ssize_t n = write(sink_fd, buf, len);
    return n == (ssize_t)len ? 0 : -1;
}

void log_emit(enum log_level lvl, const char *module, const char *fmt, ...)
{
    char msg[1024], line[2600];
    struct timespec ts;
    struct tm tm;
    size_t o;
    va_list ap;
    int saved = errno;

    if (lvl < cur_level || sink_fd < 0)
        goto out;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    o = strftime(line, sizeof(line), "time=\"%Y-%m-%dT%H:%M:%S", &tm);
    o += (size_t)snprintf(line + o, sizeof(line) - o, ".%09ldZ\" level=%s msg=", ts.tv_nsec,
                          level_name(lvl));
    o += quote(line + o, sizeof(line) - o - 200, msg);
    if (ident[0])
        o += (size_t)snprintf(line + o, sizeof(line) - o, " id=%s", ident);
    o += (size_t)snprintf(line + o, sizeof(line) - o, " module=%s\n", module);
    if (o >= sizeof(line))
        o = sizeof(line) - 1;

    if (dropped != dropped_reported) {
        char note[96];
        int n = snprintf(note, sizeof(note), "level=warning msg=\"dropped %lu log lines\"\n",
                         dropped - dropped_reported);
        if (write_record(note, (size_t)n) == 0)
            dropped_reported = dropped;
    }
    if (write_record(line, o) < 0)
        dropped++;
out:
    errno = saved;
}

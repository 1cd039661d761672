/* One-line logfmt logging to a sink fd (stderr by default).
 *
 * time=<RFC3339Nano> level=<lvl> module=<m> msg="..." — the shape of containerd's own logs.
 * Writes never block: on a non-blocking sink that is full the record is dropped and counted,
 * and one "dropped N lines" record follows when writing works again. */
#ifndef CVM_LOG_H
#define CVM_LOG_H

#include <errno.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_fd(int fd);            /* fd is borrowed; -1 silences */
void log_set_ident(const char *id); /* e.g. the container id, added as id=... */
unsigned long log_dropped(void);

void log_emit(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifndef LOG_MODULE
#define LOG_MODULE "cvm"
#endif

#define log_debug(...) log_emit(LOG_LVL_DEBUG, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LVL_INFO, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_LVL_WARN, LOG_MODULE, __VA_ARGS__)
#define log_error(...) log_emit(LOG_LVL_ERROR, LOG_MODULE, __VA_ARGS__)

/* Log with strerror(-r) appended and return r, so call sites stay one line. */
#define log_error_errno(r, fmt, ...)                                                               \
    ({                                                                                             \
        int _r = (r);                                                                              \
        log_emit(LOG_LVL_ERROR, LOG_MODULE, fmt ": %s", ##__VA_ARGS__,                             \
                 strerror(_r < 0 ? -_r : _r));                                                     \
        _r < 0 ? _r : -_r;                                                                         \
    })
#define log_warn_errno(r, fmt, ...)                                                                \
    ({                                                                                             \
        int _r = (r);                                                                              \
        log_emit(LOG_LVL_WARN, LOG_MODULE, fmt ": %s", ##__VA_ARGS__,                              \
                 strerror(_r < 0 ? -_r : _r));                                                     \
        _r < 0 ? _r : -_r;                                                                         \
    })

#endif

/* The guest serial console: socketpair from QEMU -> capped log file + line callback. */
#ifndef CVM_HV_CONSOLE_H
#define CVM_HV_CONSOLE_H

#include <stddef.h>

struct loop;
struct hv_console;

/* line: one console line, NUL-terminated, "\r" stripped, control bytes shown as '?'. */
typedef void (*hv_console_line_cb)(const char *line, void *data);

/* Create (truncate) the log file at path (at most cap bytes kept) and a socketpair; QEMU's
 * end is returned in *ret_qemu_fd (close-on-exec, the caller hands it to QEMU, then closes). */
int hv_console_new(struct loop *l, const char *path, size_t cap, hv_console_line_cb cb, void *data,
                   int *ret_qemu_fd, struct hv_console **ret);
/* Read whatever QEMU left in the socket (call when QEMU has exited, before reading the tail). */
void hv_console_drain(struct hv_console *c);
/* CLOCK_MONOTONIC ns (now_ns()) of the first byte the guest wrote; 0: none yet. */
unsigned long long hv_console_first_byte_ns(const struct hv_console *c);
void hv_console_free(struct hv_console *c); /* the file stays; accepts NULL */

#endif

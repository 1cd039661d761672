/* Between the files of shim/sandbox/ only: each implements one part of a sandbox's life
 * (shim/README.md) and reaches the others through these. Nothing outside the folder includes
 * it. The order below is the order of the floors: a file uses only what is above its own part. */
#ifndef CVM_SHIM_SANDBOX_INTERNAL_H
#define CVM_SHIM_SANDBOX_INTERNAL_H

#include <stddef.h>

#include "hv.h"
#include "sandbox/sandbox.h"

struct loop_source;

/* ready.c: tell every sandbox_when_ready caller (r = 0, or -errno with msg). */
void fire_ready(struct sandbox *sb, int r, const char *msg);

/* boot_log.c */
void accel_desc(struct sandbox *sb, char *buf, size_t n);
void write_boot_log(struct sandbox *sb, const char *outcome);
void console_tail_line(struct sandbox *sb, char *tail, size_t n);
void console_panic(struct sandbox *sb, char *out, size_t n);
void phases_refresh(struct sandbox *sb);

/* death.c */
void boot_failed(struct sandbox *sb, const char *why);
void vm_gone(struct sandbox *sb, const char *reason);

/* boot_watchdog.c */
void boot_watch_eval(struct sandbox *sb);
void boot_watch_cb(struct loop_source *s, void *data);

/* heartbeat.c */
int health_call(struct sandbox *sb, uint64_t timeout_ns,
                void (*cb)(const struct ttrpc_result *, void *));
void health_clock(struct sandbox *sb, const struct ttrpc_result *res, bool boot);
void heartbeat_start(struct sandbox *sb);

/* agent_connect.c */
void agent_try(struct sandbox *sb);
void retry_cb(struct loop_source *s, void *data);

/* stop.c */
void park_done(struct sandbox *sb);
void cleanup_files(struct sandbox *sb);
void hv_stopped(struct hv_vm *vm, void *data);

#endif

/* cvm-runtime: runc's command line over the shim's Task API (README "Docker and podman").
 *
 * Per container, under --root (default /run/cvm-runtime, a tree only we write):
 *   <root>/<id>/state.json   what `create` recorded (bundle, created, terminal)
 *   <root>/<id>/monitor.pid  identity of the monitor (shim/pidfile.h format)
 *   <root>/<id>/address      the shim daemon's socket (written by its `start`)
 *   <root>/<id>/shim.log     the shim daemon's log
 * The monitor is the process whose pid goes to --pid-file: it holds the caller's stdio (or
 * the pty slave) for the shim to open, waits for the container's exit over ttrpc and exits
 * with its status. */
#ifndef CVM_RT_H
#define CVM_RT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"

#define RT_DEFAULT_ROOT "/run/cvm-runtime"
#define RT_NAMESPACE "cvm-runtime" /* the namespace the shim daemons are told */
#define RT_TASK_SERVICE "containerd.task.v2.Task"
#define RT_ID_MAX 128
#define RT_CALL_TIMEOUT_NS (30ull * 1000000000ull)
#define RT_CREATE_TIMEOUT_NS (300ull * 1000000000ull) /* VM boot + hooks */

struct ProtobufCMessage;

struct rt_ctx {
    const struct rt_args *a;
    char root[PATH_MAX];
    int root_fd; /* O_PATH of root */
    int log_fd;  /* --log, or -1 */
    bool log_json;
    char self[PATH_MAX]; /* our binary */
    char shim_bin[PATH_MAX];
};

/* A container's record, state.json. */
struct rt_state {
    char id[RT_ID_MAX + 1];
    char bundle[PATH_MAX];
    char rootfs[PATH_MAX];
    char created[64]; /* RFC 3339 with nanoseconds, UTC */
    bool terminal;
};

/* --- errors: stderr and --log (JSON lines as runc writes them: the runc shim shows the last
 * "error" line to the user). Return 1, the exit status of a failed command. */
int rt_err(const struct rt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_debug(const struct rt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- state (rt_state.c) */
/* runc's id rule: [A-Za-z0-9_+.-], not "." or "..", at most RT_ID_MAX. Pure. */
bool rt_id_valid(const char *id);
int rt_root_open(struct rt_ctx *ctx);
/* "<root>/<id>" */
void rt_dir_path(const struct rt_ctx *ctx, const char *id, char *out, size_t n);
/* mkdir <root>/<id> (-EEXIST when the container exists). */
int rt_dir_create(const struct rt_ctx *ctx, const char *id);
int rt_dir_remove(const struct rt_ctx *ctx, const char *id);
int rt_state_save(const struct rt_ctx *ctx, const struct rt_state *st);
/* -ENOENT when there is no such container. */
int rt_state_load(const struct rt_ctx *ctx, const char *id, struct rt_state *ret);
/* The text of state.json <-> struct (pure). */
char *rt_state_format(const struct rt_state *st);
int rt_state_parse(const char *text, size_t len, struct rt_state *ret);
/* Monitor identity: write at create; the pid when the very process is still alive, 0 when it
 * exited, -errno. */
int rt_monitor_save(const struct rt_ctx *ctx, const char *id, pid_t pid);
int rt_monitor_pid(const struct rt_ctx *ctx, const char *id, int *ret_pidfd);
/* Write the caller's --pid-file atomically (runc: tmp + rename, no newline). */
int rt_pidfile_write(const char *path, pid_t pid);

/* --- the shim daemon (shim_link.c) */
struct rt_shim;
/* `containerd-shim-cvm-v1 start` with cwd <root>/<id>, then connect. */
int rt_shim_spawn(const struct rt_ctx *ctx, const char *id, struct rt_shim **ret);
/* Connect to a running container's shim: -ENOENT/-ECONNREFUSED when it is gone. */
int rt_shim_connect(const struct rt_ctx *ctx, const char *id, struct rt_shim **ret);
void rt_shim_close(struct rt_shim *sh);
/* One Task call; on a status error *ret_msg (static, valid until the next failed call, also
 * after rt_shim_close) names it. On success the reply
 * (malloc'd) in *ret_payload. -errno. */
int rt_shim_call(struct rt_shim *sh, const char *method, const struct ProtobufCMessage *req,
                 uint64_t timeout_ns, uint8_t **ret_payload, size_t *ret_len, const char **ret_msg);
/* Shutdown the daemon and wait (bounded) until its process is gone. */
int rt_shim_shutdown(struct rt_shim *sh, const char *id);
/* The shim's own `delete` subcommand: cleans up after a daemon that died (VM, mounts, dirs). */
int rt_shim_cleanup(const struct rt_ctx *ctx, const char *id);
/* The shim's socket path and the loop the calls run on (for the monitor). */
struct loop *rt_shim_loop(struct rt_shim *sh);
struct ttrpc_client *rt_shim_client(struct rt_shim *sh);

/* task status names as runc prints them ("created", "running", "pausing", "paused",
 * "stopped"); unknown for anything else. */
const char *rt_status_name(int containerd_status);

/* --- the monitor (monitor.c): runs in the forked child, never returns. exec_id "" = init. */
struct rt_monitor_args {
    const struct rt_ctx *ctx;
    const char *id;
    const char *exec_id;
    int sync_fd;  /* one byte = go; EOF = the create failed: exit quietly */
    int ready_fd; /* we write one byte once our stdio (and controlling terminal) is set */
    bool terminal;
};
__attribute__((noreturn)) void rt_monitor_main(const struct rt_monitor_args *m);

/* --- terminals (console.c) */
/* A pty pair, the slave raw (the guest's pty does the line discipline). */
int rt_pty_open(int *ret_master, int *ret_slave);
/* Send the master to a unix socket as runc does: SCM_RIGHTS with the pty name as payload. */
int rt_console_send(const char *socket_path, int master);

/* --- commands (cmd_*.c): the process exit status */
int rt_cmd_create(struct rt_ctx *ctx);
int rt_cmd_start(struct rt_ctx *ctx);
int rt_cmd_run(struct rt_ctx *ctx);
int rt_cmd_state(struct rt_ctx *ctx);
int rt_cmd_list(struct rt_ctx *ctx);
int rt_cmd_kill(struct rt_ctx *ctx);
int rt_cmd_delete(struct rt_ctx *ctx);
int rt_cmd_exec(struct rt_ctx *ctx);
int rt_cmd_ps(struct rt_ctx *ctx);
int rt_cmd_pause(struct rt_ctx *ctx);
int rt_cmd_resume(struct rt_ctx *ctx);
int rt_cmd_update(struct rt_ctx *ctx);
int rt_cmd_events(struct rt_ctx *ctx);

/* The one operand most commands take: the container id, checked. NULL after rt_err. */
const char *rt_id_operand(const struct rt_ctx *ctx);

#endif

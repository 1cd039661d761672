/* start, kill, delete, state, list, pause, resume: one Task call each on the container's shim,
 * with runc's messages where callers match on them ("container not running", "does not
 * exist"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "launch.h"
#include "rt.h"
#include "signals.h"

#define KILL_WAIT_MS 10000

const char *rt_id_operand(const struct rt_ctx *ctx)
{
    const char *cmd = ctx->a->cmd;
    if (ctx->a->n_operands < 1) {
        rt_err(ctx, "%s: container id cannot be empty", cmd);
        return NULL;
    }
    const char *id = ctx->a->operands[0];
    if (!rt_id_valid(id)) {
        rt_err(ctx, "invalid container id format: %s", id);
        return NULL;
    }
    return id;
}

/* The container's record and its shim. 1 after rt_err when there is no such container; the
 * shim is NULL (not an error) when its daemon is gone. */
static int open_container(struct rt_ctx *ctx, const char *id, struct rt_state *st,
                          struct rt_shim **sh)
{
    int r = rt_state_load(ctx, id, st);
    *sh = NULL;
    if (r == -ENOENT)
        return rt_err(ctx, "container does not exist");
    if (r < 0)
        return rt_err(ctx, "state of %s: %s", id, strerror(-r));
    r = rt_shim_connect(ctx, id, sh);
    if (r < 0)
        *sh = NULL;
    return 0;
}

/* The init's status (containerd's enum), 3 (stopped) when the shim is gone. */
static int task_status(struct rt_shim *sh, const char *id, uint32_t *ret_exit)
{
    if (!sh)
        return 3;
    Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    _cleanup_free_ uint8_t *out = NULL;
    size_t len;
    req.id = (char *)id;
    if (rt_shim_call(sh, "State", &req.base, RT_CALL_TIMEOUT_NS, &out, &len, NULL) < 0)
        return 3;
    Containerd__Task__V2__StateResponse *s =
        containerd__task__v2__state_response__unpack(NULL, len, out);
    if (!s)
        return 3;
    int st = s->status;
    if (ret_exit)
        *ret_exit = s->exit_status;
    containerd__task__v2__state_response__free_unpacked(s, NULL);
    return st;
}

int rt_start_id(struct rt_ctx *ctx, const char *id)
{
    struct rt_state st;
    struct rt_shim *sh;
    const char *msg;
    if (open_container(ctx, id, &st, &sh))
        return 1;
    if (!sh)
        return rt_err(ctx, "cannot start a container that has stopped");
    int status = task_status(sh, id, NULL);
    if (status != 1) {
        rt_shim_close(sh);
        return status == 3 ? rt_err(ctx, "cannot start a container that has stopped")
                           : rt_err(ctx, "cannot start an already running container");
    }
    Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    req.id = (char *)id;
    int r = rt_shim_call(sh, "Start", &req.base, RT_CREATE_TIMEOUT_NS, NULL, NULL, &msg);
    if (r < 0) {
        rt_err(ctx, "start %s: %s", id, msg);
        rt_shim_close(sh);
        return 1;
    }
    rt_shim_close(sh);
    if (st.terminal) {
        /* the terminal's size so far reaches the guest: the monitor answers SIGWINCH */
        int pidfd = -1;
        if (rt_monitor_pid(ctx, id, &pidfd) > 0) {
            (void)syscall(SYS_pidfd_send_signal, pidfd, SIGWINCH, NULL, 0);
            close(pidfd);
        }
    }
    return 0;
}

int rt_cmd_start(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx);
    return id ? rt_start_id(ctx, id) : 1;
}

static int kill_task(struct rt_shim *sh, const char *id, int sig, bool all, const char **msg)
{
    Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    req.id = (char *)id;
    req.signal = (uint32_t)sig;
    req.all = all;
    return rt_shim_call(sh, "Kill", &req.base, RT_CALL_TIMEOUT_NS, NULL, NULL, msg);
}

int rt_cmd_kill(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *msg;
    struct rt_state st;
    struct rt_shim *sh;
    if (!id)
        return 1;
    const char *sname = ctx->a->n_operands > 1 ? ctx->a->operands[1] : "SIGTERM";
    int sig = rt_signal_parse(sname);
    if (sig < 0)
        return rt_err(ctx, "unknown signal \"%s\"", sname);
    if (open_container(ctx, id, &st, &sh))
        return 1;
    int status = task_status(sh, id, NULL);
    if (status == 3) {
        rt_shim_close(sh);
        return rt_err(ctx, "container not running");
    }
    int r = kill_task(sh, id, sig, rt_flag_bool(ctx->a, "all"), &msg);
    rt_shim_close(sh);
    if (r < 0)
        return rt_err(ctx, "kill %s: %s", id,
                      r == -ESRCH || r == -ENOENT ? "container not running" : msg);
    return 0;
}

/* Until the monitor is gone (bounded): its exit is what our caller reports. */
static void wait_pidfd(int pidfd, int ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    while (poll(&p, 1, ms) < 0 && errno == EINTR)
        ;
}

int rt_cmd_delete(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *msg;
    struct rt_state st;
    struct rt_shim *sh = NULL;
    bool force = rt_flag_bool(ctx->a, "force");
    if (!id)
        return 1;
    int r = rt_state_load(ctx, id, &st);
    if (r == -ENOENT) {
        /* runc: an aborted create may leave the dir without its state; force makes it quiet */
        (void)rt_shim_cleanup(ctx, id);
        (void)rt_dir_remove(ctx, id);
        return force ? 0 : rt_err(ctx, "container does not exist");
    }
    if (r < 0 && !force)
        return rt_err(ctx, "state of %s: %s", id, strerror(-r));
    if (rt_shim_connect(ctx, id, &sh) < 0)
        sh = NULL;
    int pidfd = -1;
    pid_t mon = rt_monitor_pid(ctx, id, &pidfd);
    int status = task_status(sh, id, NULL);
    int seen = mon > 0 ? status : 3; /* our caller's view: the monitor is the container */
    if (seen != 3 && seen != 1 && !force) {
        rt_shim_close(sh);
        if (pidfd >= 0)
            close(pidfd);
        return rt_err(ctx, "cannot delete container %s that is not stopped: %s", id,
                      rt_status_name(seen));
    }
    if (sh && status != 3) {
        if (kill_task(sh, id, SIGKILL, true, &msg) < 0)
            rt_debug(ctx, "delete %s: kill: %s", id, msg);
    }
    if (sh) {
        Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
        req.id = (char *)id;
        /* Delete waits for the exit the SIGKILL brings (the shim answers once it is reaped) */
        for (int i = 0; i < 100; i++) {
            r = rt_shim_call(sh, "Delete", &req.base, RT_CALL_TIMEOUT_NS, NULL, NULL, &msg);
            if (r == 0 || task_status(sh, id, NULL) == 3 || r == -ENOENT || r == -ENOTCONN)
                break;
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
        if (r < 0 && r != -ENOENT)
            rt_debug(ctx, "delete %s: %s", id, msg);
        if (rt_shim_shutdown(sh, id) < 0)
            rt_err(ctx, "delete %s: the shim did not exit", id);
        rt_shim_close(sh);
    }
    if (mon > 0) {
        /* the monitor leaves on its own once Wait answered; one that is stuck goes now */
        wait_pidfd(pidfd, force ? 2000 : KILL_WAIT_MS);
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        close(pidfd);
    }
    (void)rt_shim_cleanup(ctx, id);
    r = rt_dir_remove(ctx, id);
    if (r < 0)
        return rt_err(ctx, "remove %s/%s: %s", ctx->root, id, strerror(-r));
    return 0;
}

static json_t *state_json(struct rt_ctx *ctx, const struct rt_state *st)
{
    struct rt_shim *sh = NULL;
    if (rt_shim_connect(ctx, st->id, &sh) < 0)
        sh = NULL;
    int status = task_status(sh, st->id, NULL);
    rt_shim_close(sh);
    /* the monitor stands for the container: once it is gone (SIGKILLed), so is the container
     * for our caller, who reaped it; delete then stops the VM */
    pid_t mon = status == 3 ? 0 : rt_monitor_pid(ctx, st->id, NULL);
    if (mon <= 0)
        status = 3;
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "ociVersion", "1.0.2", "id",
                     st->id, "pid", mon > 0 ? (int)mon : 0, "status", rt_status_name(status),
                     "bundle", st->bundle, "rootfs", st->rootfs, "created", st->created, "owner",
                     "");
}

int rt_cmd_state(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx);
    struct rt_state st;
    if (!id)
        return 1;
    int r = rt_state_load(ctx, id, &st);
    if (r == -ENOENT)
        return rt_err(ctx, "container does not exist");
    if (r < 0)
        return rt_err(ctx, "state of %s: %s", id, strerror(-r));
    json_t *o = state_json(ctx, &st);
    _cleanup_free_ char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!s)
        return rt_err(ctx, "out of memory");
    printf("%s\n", s);
    return 0;
}

int rt_cmd_list(struct rt_ctx *ctx)
{
    const char *fmt = rt_flag(ctx->a, "format");
    bool quiet = rt_flag_bool(ctx->a, "quiet"), json = fmt && strcmp(fmt, "json") == 0;
    if (fmt && !json && strcmp(fmt, "table") != 0)
        return rt_err(ctx, "invalid format option");
    int dfd = openat(ctx->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_(closedirp) DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d)
        return rt_err(ctx, "list %s: %m", ctx->root);
    json_t *arr = json_array();
    struct dirent *e;
    if (!json && !quiet)
        printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
               "OWNER");
    while ((e = readdir(d))) {
        struct rt_state st;
        if (e->d_name[0] == '.' || !rt_id_valid(e->d_name) ||
            rt_state_load(ctx, e->d_name, &st) < 0)
            continue;
        if (quiet) {
            printf("%s\n", st.id);
            continue;
        }
        json_t *o = state_json(ctx, &st);
        if (!o)
            continue;
        if (json) {
            json_array_append_new(arr, o);
            continue;
        }
        printf("%-12s %-10lld %-10s %-40s %-30s %s\n", st.id,
               (long long)json_integer_value(json_object_get(o, "pid")),
               json_string_value(json_object_get(o, "status")), st.bundle, st.created, "root");
        json_decref(o);
    }
    if (json && !quiet) {
        _cleanup_free_ char *s = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
    }
    json_decref(arr);
    return 0;
}

static int simple_call(struct rt_ctx *ctx, const char *method, const ProtobufCMessage *req,
                       const char *id)
{
    struct rt_state st;
    struct rt_shim *sh;
    const char *msg;
    if (open_container(ctx, id, &st, &sh))
        return 1;
    if (!sh)
        return rt_err(ctx, "container not running");
    int r = rt_shim_call(sh, method, req, RT_CALL_TIMEOUT_NS, NULL, NULL, &msg);
    rt_shim_close(sh);
    return r < 0 ? rt_err(ctx, "%s %s: %s", ctx->a->cmd, id, msg) : 0;
}

/* A call whose request is the container's id alone (Pause, Resume): the operand goes in *id. */
static int id_only_call(struct rt_ctx *ctx, const char *method, ProtobufCMessage *req, char **id)
{
    const char *operand = rt_id_operand(ctx);
    if (!operand)
        return 1;
    *id = (char *)operand;
    return simple_call(ctx, method, req, operand);
}

int rt_cmd_pause(struct rt_ctx *ctx)
{
    Containerd__Task__V2__PauseRequest req = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
    return id_only_call(ctx, "Pause", &req.base, &req.id);
}

int rt_cmd_resume(struct rt_ctx *ctx)
{
    Containerd__Task__V2__ResumeRequest req = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;
    return id_only_call(ctx, "Resume", &req.base, &req.id);
}

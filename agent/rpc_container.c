/* Container-level RPCs: create, exec, start, remove, update, stats, pause/resume. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_MODULE "rpc"
#include "agent.pb-c.h"
#include "ttrpc.h"
#include "cgroup.h"
#include "cgroup_async.h"
#include "cleanup.h"
#include "cgroup_oom.h"
#include "devices.h"
#include "log.h"
#include "rpc.h"
#include "spawn.h"

static bool rel_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 1024 || p[0] == '/')
        return false;
    for (const char *c = p; (c = strstr(c, "..")); c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
            return false;
    return true;
}

static int resolve_rootfs(struct agent *a, struct container *c, const char *tag, const char *rootfs,
                          struct cvm_err *err)
{
    struct stat st;
    int r;
    if (tag[0]) {
        if (!rel_path_ok(rootfs))
            return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                                "rootfs: must be a relative path inside the share");
        if ((r = share_mount(a, tag, &c->share_dir, err)) < 0)
            return r;
        if (asprintf(&c->rootfs, "%s/%s", c->share_dir, rootfs) < 0)
            return cvm_err_set(err, -ENOMEM, "out of memory");
    } else {
        if (rootfs[0] != '/' || !rel_path_ok(rootfs + 1))
            return cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL,
                                "rootfs: must be an absolute path without \"..\"");
        if (!(c->rootfs = strdup(rootfs)))
            return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    if (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
        return cvm_err_setc(err, RPC_NOT_FOUND, -ENOENT, "rootfs %s: not a directory", c->rootfs);
    return 0;
}

static void set_want(struct process *p, const Cvm__Agent__V1__StdioFlags *f, bool terminal)
{
    p->terminal = terminal;
    p->want[STDIO_IN] = f && f->stdin;
    p->want[STDIO_OUT] = f && f->stdout;
    p->want[STDIO_ERR] = f && f->stderr && !terminal;
}

/* The init's setup ended: answer CreateContainer; a failed container goes. */
static void init_spawned(struct process *p, int r, const struct cvm_err *err)
{
    struct container *c = p->c;
    struct ttrpc_call *call = process_take_spawn_call(p);
    if (r < 0) {
        log_warn("create %s: %s", c->id, err->msg);
        container_free(agent_global, c);
        if (call)
            ttrpc_call_reply_errno(call, r, err);
        return;
    }
    log_info("container %s created, init pid %d", c->id, (int)p->pid);
    if (!call)
        return;
    Cvm__Agent__V1__CreateContainerResponse resp = CVM__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
    resp.pid = (uint32_t)p->pid;
    ttrpc_call_reply(call, &resp.base);
}

void rpc_create_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct agent *a = ud;
    struct cvm_err err = {0};
    struct container *c = NULL;
    int r;
    TTRPC_DECODE(Cvm__Agent__V1__CreateContainerRequest, cvm__agent__v1__create_container_request,
                 req, call, payload, len);

    if (!agent_id_valid(req->container_id, false)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid container id");
        return;
    }
    if (agent_find_container(a, req->container_id)) {
        ttrpc_call_reply_error(call, RPC_ALREADY_EXISTS, "container %s: already exists",
                               req->container_id);
        return;
    }
    if (a->n_containers >= AGENT_MAX_CONTAINERS || a->shutting_down) {
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "too many containers (%d)",
                               AGENT_MAX_CONTAINERS);
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    c->oom_wd = -1;
    strcpy(c->id, req->container_id);
    c->next = a->containers;
    a->containers = c;
    a->n_containers++;

    if ((r = oci_spec_parse((const char *)req->config_json.data, req->config_json.len, &c->spec,
                            &err)) < 0) {
        cvm_err_prefix(&err, "config.json");
        goto fail;
    }
    if (!c->spec->has_process) {
        r = cvm_err_setc(&err, RPC_INVALID_ARGUMENT, -EINVAL, "config.json: process is required");
        goto fail;
    }
    if ((r = resolve_rootfs(a, c, req->share_tag, req->rootfs, &err)) < 0)
        goto fail;
    if ((r = devices_check_available(c->spec, "/sys/dev", &err)) < 0)
        goto fail;
    if (a->cfg.cgroup_root) {
        if ((r = cgroup_create(a->cfg.cgroup_root, c->id, &c->cgroup, &err)) < 0 ||
            (r = cgroup_apply(c->cgroup, &c->spec->resources, &err)) < 0 ||
            (r = devices_cgroup_apply(c->cgroup, c->spec, &err)) < 0)
            goto fail;
        if ((r = oom_watch(a, c)) < 0)
            log_warn("create %s: no OOM notifications: %s", c->id, strerror(-r));
    }
    if ((r = process_new(c, "", &c->init)) < 0) {
        cvm_err_set(&err, r, "out of memory");
        goto fail;
    }
    set_want(c->init, req->stdio, c->spec->process.terminal);
    if ((r = spawn_process(a, c, c->init, &c->spec->process, init_spawned, &err)) < 0)
        goto fail;
    process_hold_spawn_call(c->init, call); /* answered by init_spawned() */
    return;
fail:
    log_warn("create %s: %s", c->id, err.msg);
    container_free(a, c);
    ttrpc_call_reply_errno(call, r, &err);
}

static void exec_unlink(struct process *p)
{
    struct container *c = p->c;
    for (struct process **pp = &c->execs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            c->n_execs--;
            return;
        }
}

/* The exec's setup ended: answer ExecProcess; a failed exec goes. */
static void exec_spawned(struct process *p, int r, const struct cvm_err *err)
{
    struct ttrpc_call *call = process_take_spawn_call(p);
    if (r < 0) {
        log_warn("exec %s/%s: %s", p->c->id, p->exec_id, err->msg);
        exec_unlink(p);
        process_free(p);
        if (call)
            ttrpc_call_reply_errno(call, r, err);
        return;
    }
    if (!call)
        return;
    Cvm__Agent__V1__ExecProcessResponse resp = CVM__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
    ttrpc_call_reply(call, &resp.base);
}

void rpc_exec_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct agent *a = ud;
    struct cvm_err err = {0};
    struct oci_process proc = {0};
    struct process *p = NULL;
    int r;
    TTRPC_DECODE(Cvm__Agent__V1__ExecProcessRequest, cvm__agent__v1__exec_process_request, req,
                 call, payload, len);

    struct container *c = rpc_container(a, call, req->container_id);
    if (!c)
        return;
    if (!agent_id_valid(req->exec_id, false)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid exec id");
        return;
    }
    if (container_find_process(c, req->exec_id)) {
        ttrpc_call_reply_error(call, RPC_ALREADY_EXISTS, "container %s exec %s: already exists",
                               c->id, req->exec_id);
        return;
    }
    if (!c->init || c->init->state != PROC_RUNNING) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: not running", c->id);
        return;
    }
    if (c->paused) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: paused", c->id);
        return;
    }
    if (c->n_execs >= AGENT_MAX_EXECS) {
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "container %s: too many execs", c->id);
        return;
    }
    if ((r = oci_process_parse((const char *)req->process_json.data, req->process_json.len, &proc,
                               &err)) < 0) {
        cvm_err_prefix(&err, "exec process");
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    if ((r = process_new(c, req->exec_id, &p)) < 0) {
        oci_process_done(&proc);
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    set_want(p, req->stdio, proc.terminal);
    r = spawn_process(a, c, p, &proc, exec_spawned, &err);
    oci_process_done(&proc); /* the child has its copy */
    if (r < 0) {
        process_free(p);
        log_warn("exec %s/%s: %s", c->id, req->exec_id, err.msg);
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    /* Listed while it sets up: its id is taken, the reaper and RemoveContainer find it. */
    p->next = c->execs;
    c->execs = p;
    c->n_execs++;
    process_hold_spawn_call(p, call); /* answered by exec_spawned() */
}

void rpc_start_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__StartProcessRequest, cvm__agent__v1__start_process_request, req,
                 call, payload, len);
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    if (p != p->c->init && (!p->c->init || p->c->init->state != PROC_RUNNING)) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: not running",
                               p->c->id);
        return;
    }
    if (p->c->paused) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: paused", p->c->id);
        return;
    }
    process_start(p, call, req->stdio_timeout_ms);
}

static bool container_running(const struct container *c)
{
    if (c->init && c->init->state < PROC_EXITED && c->init->pid > 0)
        return true;
    for (const struct process *p = c->execs; p; p = p->next)
        if (p->state < PROC_EXITED && p->pid > 0)
            return true;
    return false;
}

/* A RemoveContainer waiting for the cgroup: its call goes NULL when its connection does. */
struct remove_wait {
    struct ttrpc_call *call;
};

static void remove_call_cancelled(struct ttrpc_call *call, void *data)
{
    (void)call;
    ((struct remove_wait *)data)->call = NULL; /* the removal goes on unowned */
}

static void cgroup_removed(int r, void *data)
{
    _cleanup_free_ struct remove_wait *w = data;
    struct ttrpc_call *call = w->call;
    if (!call)
        return;
    ttrpc_call_set_cancel(call, NULL, NULL);
    if (r == 0) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    ttrpc_call_reply_error(call, r == -ETIMEDOUT ? RPC_DEADLINE_EXCEEDED : RPC_INTERNAL,
                           "container removed; its cgroup not: %s", strerror(-r));
}

void rpc_remove_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct agent *a = ud;
    TTRPC_DECODE(Cvm__Agent__V1__RemoveContainerRequest, cvm__agent__v1__remove_container_request,
                 req, call, payload, len);
    struct container *c = rpc_container(a, call, req->container_id);
    if (!c)
        return;
    if (container_running(c)) {
        if (!req->force) {
            ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: still running",
                                   c->id);
            return;
        }
        container_kill_all(c);
    }
    log_info("container %s removed", c->id);
    /* Answered once its cgroup is gone (the members just killed leave within ms), or with
     * an error at CGROUP_REMOVE_TIMEOUT_MS; the container itself is gone either way. */
    struct remove_wait *w = calloc(1, sizeof(*w));
    if (w) {
        w->call = call;
        ttrpc_call_set_cancel(call, remove_call_cancelled, w);
    }
    if (!w || !container_free_then(a, c, cgroup_removed, w)) {
        if (w)
            ttrpc_call_set_cancel(call, NULL, NULL);
        free(w);
        ttrpc_call_reply(call, NULL);
    }
}

void rpc_update_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct cvm_err err = {0};
    struct oci_resources res;
    TTRPC_DECODE(Cvm__Agent__V1__UpdateContainerRequest, cvm__agent__v1__update_container_request,
                 req, call, payload, len);
    struct container *c = rpc_container_cgroup(ud, call, req->container_id);
    if (!c)
        return;
    int r = oci_resources_parse((const char *)req->resources_json.data, req->resources_json.len,
                                &res, &err);
    if (r >= 0) {
        r = cgroup_apply(c->cgroup, &res, &err);
        oci_resources_done(&res);
    }
    if (r < 0)
        ttrpc_call_reply_errno(call, r, &err);
    else
        ttrpc_call_reply(call, NULL);
}

void rpc_stats_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request, req, call,
                 payload, len);
    struct container *c = rpc_container_cgroup(ud, call, req->container_id);
    if (!c)
        return;
    Io__Containerd__Cgroups__V2__Metrics m;
    int r = cgroup_stats(c->cgroup, &m);
    if (r < 0) {
        ttrpc_call_reply_errno(call, r, NULL);
        return;
    }
    Cvm__Agent__V1__StatsResponse resp = CVM__AGENT__V1__STATS_RESPONSE__INIT;
    resp.metrics = &m;
    ttrpc_call_reply(call, &resp.base);
    cgroup_metrics_free(&m);
}

/* The freeze (or thaw) is seen in cgroup.events, or its deadline passed: answer. */
static void freeze_done(int r, void *data)
{
    struct container *c = data;
    struct ttrpc_call *call = c->freeze_call;
    c->freeze_op = NULL;
    c->freeze_call = NULL;
    if (r == 0)
        c->paused = c->freeze_pause;
    if (!call)
        return; /* its connection went meanwhile */
    ttrpc_call_set_cancel(call, NULL, NULL);
    if (r == 0) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    struct cvm_err err = {0};
    if (r == -ETIMEDOUT)
        cvm_err_set(&err, r, "cgroup %s did not %s within %u ms", c->cgroup,
                    c->freeze_pause ? "freeze" : "thaw", CGROUP_FREEZE_TIMEOUT_MS);
    else
        cvm_err_set(&err, r, "cgroup.events: %s", strerror(-r));
    ttrpc_call_reply_errno(call, r, &err);
}

static void freeze_call_cancelled(struct ttrpc_call *call, void *data)
{
    (void)call;
    ((struct container *)data)->freeze_call = NULL; /* the freeze goes on; c->paused follows it */
}

static void pause_resume(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud,
                         bool pause)
{
    struct agent *a = ud;
    TTRPC_DECODE(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request, req, call,
                 payload, len);
    struct container *c = rpc_container_cgroup(ud, call, req->container_id);
    if (!c)
        return;
    if (c->freeze_op) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION,
                               "container %s: a pause or resume is under way", c->id);
        return;
    }
    /* Answered by freeze_done once cgroup.events agrees (polled on a timer, never slept on). */
    int r = cgroup_freeze_start(a->loop, c->cgroup, pause, CGROUP_FREEZE_TIMEOUT_MS, freeze_done, c,
                                &c->freeze_op);
    if (r < 0) {
        struct cvm_err err = {0};
        cvm_err_set(&err, r, "cgroup.freeze: %s", strerror(-r));
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    c->freeze_call = call;
    c->freeze_pause = pause;
    ttrpc_call_set_cancel(call, freeze_call_cancelled, c);
}

void rpc_pause_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    pause_resume(call, payload, len, ud, true);
}

void rpc_resume_container(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    pause_resume(call, payload, len, ud, false);
}

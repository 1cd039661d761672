/* Kill, Delete, Pause, Resume, ResizePty, CloseIO, Update, Stats, Pids. */
#define LOG_MODULE "task"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "sandbox/agent_limits.h"
#include "agent_wire.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "cgroup/host_cgroup_sandbox.h"
#include "log.h"
#include "loop.h"
#include "sandbox/mounts.h"
#include "task/rpc.h"

#define RESOURCES_MAX (64u * 1024u)
#define PIDS_MAX AGENT_MAX_LISTED_PROCS

static void simple_done(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    op_reply_result(op, res, "agent");
    op_free(op);
}

/* Issue an agent call answered straight back to containerd. */
static void forward(struct shim *s, struct ttrpc_call *call, struct container *c, struct proc *p,
                    const char *method, const void *req,
                    void (*cb)(const struct ttrpc_result *, void *))
{
    struct agent_op *op = op_new(s, c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    if (sandbox_agent_call(c->sb, method, req, cb ? cb : simple_done, op, AGENT_CALL_TIMEOUT_NS) < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        op_free(op);
    }
}

static void created_exec_killed(const struct ttrpc_result *res, void *data)
{
    (void)data;
    if (res->code != 0)
        log_debug("agent SignalProcess of a never-started exec: %s", res->message ? res->message : "");
}

/* An exec the agent set up but never started waits in the guest before execve: SIGKILL it
 * there (whatever containerd's signal: it must not stay behind blocked), so its later
 * DeleteProcess finds it finished. The init goes with RemoveContainer at Delete. */
static void kill_created_exec(struct proc *p)
{
    Cvm__Agent__V1__SignalProcessRequest ar = CVM__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    ar.signal = SIGKILL;
    (void)sandbox_agent_call(p->c->sb, "SignalProcess", &ar, created_exec_killed, NULL, AGENT_CALL_TIMEOUT_NS);
}

/* SIGKILL of the sandbox's init must work on a guest that no longer acts: the agent gets
 * kill_grace_ms to report the exit, then QEMU is killed from the host (that process exits
 * 137, as it would have; every other task of the VM 255). Kill answers when the agent does
 * or when the grace ends, whichever is first. The op lives until both the agent call and the
 * timer are over (op->u32 counts them). */
static void kill_op_put(struct agent_op *op)
{
    if (--op->u32 == 0)
        op_free(op);
}

static void kill_grace_over(struct loop_source *s, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->p;
    char why[160];
    (void)s;
    op->timer = loop_source_free(op->timer);
    if (p && !p->agent_exited && p->c->sb->state == SB_READY) {
        snprintf(why, sizeof(why), "the guest did not act on SIGKILL of %s within %u ms",
                 p->c->id, p->c->sb->cfg.kill_grace_ms);
        p->vm_death_status = 128 + SIGKILL;
        op_reply(op, NULL);
        sandbox_kill_vm(p->c->sb, why);
    }
    kill_op_put(op);
}

static void kill_sent(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (res->code != 0)
        op_reply_result(op, res, "agent"); /* no-op when the grace already answered */
    else
        op_reply(op, NULL);
    kill_op_put(op);
}

static bool is_sandbox_init(const struct proc *p)
{
    return !p->exec_id[0] && TAILQ_FIRST(&p->c->sb->containers) == p->c;
}

void task_kill(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__KillRequest, containerd__task__v2__kill_request, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p || task_check(call, p, PEV_KILL) < 0)
        return;
    if (req->signal == 0 || req->signal >= 65)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid signal %u: invalid argument", req->signal);
    if (p->status == PROC_CREATED) {
        /* Never started: it still has to exit (128+sig) and release Waiters (spec §3.3 Kill). */
        if (p->exec_id[0])
            kill_created_exec(p);
        proc_io_close(p);
        proc_agent_exited(p, 128 + req->signal);
        ttrpc_call_reply(call, NULL);
        return;
    }
    Cvm__Agent__V1__SignalProcessRequest ar = CVM__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    ar.signal = req->signal;
    ar.all = req->all;
    if (req->signal != SIGKILL || !is_sandbox_init(p))
        return forward(s, call, p->c, p, "SignalProcess", &ar, NULL);
    struct agent_op *op = op_new(s, p->c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    if (loop_add_timer(s->loop, (uint64_t)p->c->sb->cfg.kill_grace_ms * 1000ull, kill_grace_over,
                       op, &op->timer) == 0)
        op->u32++;
    if (sandbox_agent_call(p->c->sb, "SignalProcess", &ar, kill_sent, op, AGENT_CALL_TIMEOUT_NS) == 0) {
        op->u32++;
        return;
    }
    /* no agent connection: the VM is on its way down already, or the grace timer ends it */
    if (op->u32) {
        op_reply(op, NULL);
        return;
    }
    op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
    op_free(op);
}

static void reply_delete(struct ttrpc_call *call, struct agent_op *op, struct shim *s, struct proc *p)
{
    Containerd__Task__V2__DeleteResponse r = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    r.pid = shim_task_pid(s);
    r.exit_status = p->exit_status;
    task_fill_timestamp(&ts, p);
    r.exited_at = &ts;
    if (call)
        ttrpc_call_reply(call, &r.base);
    else
        op_reply(op, &r.base);
}

static void finish_container_delete(struct agent_op *op)
{
    struct container *c = op->c;
    struct shim *s = op->s;
    if (!c) {
        op_reply_error(op, RPC_NOT_FOUND, "container: not found");
        op_free(op);
        return;
    }
    struct proc *p = c->init;
    struct sandbox *sb = c->sb;
    char id[sizeof(c->id)];
    snprintf(id, sizeof(id), "%s", c->id);
    Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    task_fill_timestamp(&ts, p);
    ev.container_id = c->id;
    ev.pid = shim_task_pid(s);
    ev.exit_status = p->exit_status;
    ev.exited_at = &ts;
    ev.id = "";
    shim_publish(s, "/tasks/delete", &ev);
    reply_delete(NULL, op, s, p);
    TAILQ_REMOVE(&c->sb->containers, c, link);
    shim_container_free(c);
    op_free(op);
    (void)share_remove_container(&sb->share, id);
}

/* poststop hooks run at Delete, before it answers (runc); a failure is logged, Delete goes on. */
static void poststop_done(struct agent_op *op, int r, const char *msg)
{
    if (r < 0 && op->c)
        log_warn("container %s: %s; continuing", op->c->id, msg);
    finish_container_delete(op);
}

static void delete_with_poststop(struct agent_op *op)
{
    task_run_hooks(op, HOOK_POSTSTOP, "stopped", poststop_done);
}

static void removed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (res->code != 0 && op->c)
        log_warn("agent RemoveContainer %s: %s; continuing", op->c->id, res->message ? res->message : "");
    delete_with_poststop(op);
}

static void finish_exec_delete(struct agent_op *op)
{
    struct proc *p = op->p;
    if (!p) {
        op_reply_error(op, RPC_NOT_FOUND, "process: not found");
    } else {
        reply_delete(NULL, op, op->s, p);
        TAILQ_REMOVE(&p->c->execs, p, link);
        proc_free(p);
    }
    op_free(op);
}

static void exec_removed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    if (res->code != 0 && op->p)
        log_warn("agent DeleteProcess %s/%s: %s; forgetting it here", op->p->c->id, op->p->exec_id,
                 res->message ? res->message : "");
    finish_exec_delete(op);
}

/* An exec's Delete also frees it in the agent (DeleteProcess): otherwise the agent keeps
 * every finished exec, refuses a reused exec ID and stops at its per-container exec limit. */
static void delete_exec(struct shim *s, struct ttrpc_call *call, struct proc *p)
{
    if (p->deleting)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "exec %s is being deleted: failed precondition", p->exec_id);
    struct agent_op *op = op_new(s, p->c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    p->deleting = true;
    Cvm__Agent__V1__DeleteProcessRequest ar = CVM__AGENT__V1__DELETE_PROCESS_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    /* A dead VM has nothing left to free. */
    if (sandbox_agent_call(p->c->sb, "DeleteProcess", &ar, exec_removed, op, AGENT_CALL_TIMEOUT_NS) < 0)
        finish_exec_delete(op);
}

void task_delete(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__DeleteRequest, containerd__task__v2__delete_request, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p || task_check(call, p, PEV_DELETE) < 0)
        return;
    struct container *c = p->c;
    if (p->exec_id[0])
        return delete_exec(s, call, p);
    if (c->deleting)
        return (void)ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s is being deleted: failed precondition", c->id);
    c->deleting = true;
    if (p->status == PROC_CREATED && !p->exit_done) {
        /* deleting a never-started container: its process ends without running */
        proc_io_close(p);
    }
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    Cvm__Agent__V1__RemoveContainerRequest ar = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    ar.force = true;
    if (!c->agent_created ||
        sandbox_agent_call(c->sb, "RemoveContainer", &ar, removed, op, 10ull * 1000000000ull) < 0)
        delete_with_poststop(op);
}

static void paused_or_resumed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    struct proc *p = op->c ? op->c->init : NULL;
    if (res->code == 0 && p) {
        bool pause = op->u32 == 1;
        if (proc_apply(p, pause ? PEV_PAUSE : PEV_RESUME, NULL) == 0) {
            Containerd__Events__TaskPaused pe = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
            Containerd__Events__TaskResumed re = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
            pe.container_id = re.container_id = op->c->id;
            shim_publish(op->s, pause ? "/tasks/paused" : "/tasks/resumed",
                         pause ? (const void *)&pe : (const void *)&re);
        }
    }
    op_reply_result(op, res, op->u32 == 1 ? "agent PauseContainer" : "agent ResumeContainer");
    op_free(op);
}

static void pause_resume(struct shim *s, struct ttrpc_call *call, const char *id, bool pause)
{
    struct container *c = task_lookup_container(s, call, id);
    if (!c || task_check(call, c->init, pause ? PEV_PAUSE : PEV_RESUME) < 0)
        return;
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    op->u32 = pause ? 1 : 2;
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    if (sandbox_agent_call(c->sb, pause ? "PauseContainer" : "ResumeContainer", &ar, paused_or_resumed,
                           op, AGENT_CALL_TIMEOUT_NS) < 0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        op_free(op);
    }
}

void task_pause(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    TASK_DECODE(Containerd__Task__V2__PauseRequest, containerd__task__v2__pause_request, req, call, pl, n);
    pause_resume(ud, call, req->id, true);
}

void task_resume(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    TASK_DECODE(Containerd__Task__V2__ResumeRequest, containerd__task__v2__resume_request, req, call, pl, n);
    pause_resume(ud, call, req->id, false);
}

void task_resize_pty(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__ResizePtyRequest, containerd__task__v2__resize_pty_request, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p)
        return;
    if (!p->io.terminal || p->status == PROC_STOPPED || req->width == 0 || req->height == 0) {
        /* nothing to resize (a client on a pty of unknown size sends 0x0, like ctr under script) */
        ttrpc_call_reply(call, NULL);
        return;
    }
    Cvm__Agent__V1__ResizeTtyRequest ar = CVM__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
    ar.container_id = p->c->id;
    ar.exec_id = p->exec_id;
    ar.width = req->width;
    ar.height = req->height;
    forward(s, call, p->c, p, "ResizeTty", &ar, NULL);
}

void task_close_io(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__CloseIORequest, containerd__task__v2__close_iorequest, req, call, pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p)
        return;
    if (req->stdin)
        proc_io_close_stdin(p); /* buffered input is delivered first, then EOF */
    ttrpc_call_reply(call, NULL);
}

void task_update(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__UpdateTaskRequest, containerd__task__v2__update_task_request, req, call, pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    if (!req->resources || req->resources->value.len == 0) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    if (req->resources->value.len > RESOURCES_MAX)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "resources too large: invalid argument");
    /* The container whose cgroupsPath holds the VM: its host cgroup first (cgroupfs writes,
     * nothing waits), then the guest's. */
    if (c->sb->host_cg && strcmp(c->sb->host_cg_owner, c->id) == 0) {
        struct cvm_err err = {0};
        int r = host_cgroup_update(c->sb->host_cg, &c->sb->host_ov, req->resources->value.data,
                                   req->resources->value.len, &err);
        if (r < 0) {
            log_error("update %s: %s", c->id, err.msg);
            return (void)ttrpc_call_reply_errno(call, r, &err);
        }
    }
    Cvm__Agent__V1__UpdateContainerRequest ar = CVM__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    ar.resources_json.data = req->resources->value.data;
    ar.resources_json.len = req->resources->value.len;
    forward(s, call, c, NULL, "UpdateContainer", &ar, NULL);
}

static void stats_done(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    Cvm__Agent__V1__StatsResponse *sr = NULL;
    if (res->code == 0)
        sr = cvm__agent__v1__stats_response__unpack(NULL, res->len, res->payload);
    if (!sr || !sr->metrics) {
        op_reply_error(op, RPC_NOT_FOUND, "stats: not found");
    } else {
        size_t len = protobuf_c_message_get_packed_size(&sr->metrics->base);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            op_reply_error(op, RPC_RESOURCE_EXHAUSTED, "out of memory");
        else {
            Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
            Containerd__Task__V2__StatsResponse r = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
            any.type_url = "io.containerd.cgroups.v2.Metrics";
            any.value.data = buf;
            any.value.len = protobuf_c_message_pack(&sr->metrics->base, buf);
            r.stats = &any;
            op_reply(op, &r.base);
            free(buf);
        }
    }
    if (sr)
        cvm__agent__v1__stats_response__free_unpacked(sr, NULL);
    op_free(op);
}

void task_stats(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__StatsRequest, containerd__task__v2__stats_request, req, call, pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    if (c->init->status == PROC_STOPPED || !c->agent_created)
        return (void)ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s has no stats: not found", c->id);
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    forward(s, call, c, NULL, "StatsContainer", &ar, stats_done);
}

/* Pids lists the container's processes as the guest sees them (guest pids: init and execs,
 * exec ids in info as runc's shim gives them), from the agent's ListProcesses. A VM that does
 * not answer gets the task pid (QEMU's) alone: the list is never empty (spec 2.8). */
static void pids_reply_task_pid(struct agent_op *op)
{
    Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
    Containerd__V1__Types__ProcessInfo *list[1] = {&pi};
    Containerd__Task__V2__PidsResponse r = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
    pi.pid = shim_task_pid(op->s);
    r.n_processes = 1;
    r.processes = list;
    op_reply(op, &r.base);
}

static void pids_listed(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    Cvm__Agent__V1__ListProcessesResponse *l = NULL;
    /* Count the entries on the raw bytes first: unpack allocates per entry. */
    if (res->code == 0 && agent_reply_count_ok(res, 1, PIDS_MAX))
        l = cvm__agent__v1__list_processes_response__unpack(NULL, res->len, res->payload);
    else if (res->code == 0)
        log_warn("agent ListProcesses: malformed or more than %u entries; answering the task pid", PIDS_MAX);
    if (!l || l->n_processes == 0 || l->n_processes > PIDS_MAX) {
        if (res->code != 0)
            log_warn("agent ListProcesses: %s; answering the task pid", res->message ? res->message : "");
        pids_reply_task_pid(op);
    } else {
        size_t n = l->n_processes;
        Containerd__V1__Types__ProcessInfo *pi = calloc(n, sizeof(*pi));
        Containerd__V1__Types__ProcessInfo **list = calloc(n, sizeof(*list));
        Google__Protobuf__Any *any = calloc(n, sizeof(*any));
        Containerd__Runc__V1__ProcessDetails *det = calloc(n, sizeof(*det));
        uint8_t *buf = calloc(n, 96);
        Containerd__Task__V2__PidsResponse r = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
        if (!pi || !list || !any || !det || !buf) {
            pids_reply_task_pid(op);
        } else {
            for (size_t i = 0; i < n; i++) {
                containerd__v1__types__process_info__init(&pi[i]);
                pi[i].pid = l->processes[i]->pid;
                list[i] = &pi[i];
                if (l->processes[i]->exec_id && l->processes[i]->exec_id[0] &&
                    strlen(l->processes[i]->exec_id) <= 80) {
                    containerd__runc__v1__process_details__init(&det[i]);
                    det[i].exec_id = l->processes[i]->exec_id;
                    google__protobuf__any__init(&any[i]);
                    any[i].type_url = "containerd.runc.v1.ProcessDetails";
                    any[i].value.data = buf + i * 96;
                    any[i].value.len = containerd__runc__v1__process_details__pack(&det[i], buf + i * 96);
                    pi[i].info = &any[i];
                }
            }
            r.n_processes = n;
            r.processes = list;
            op_reply(op, &r.base);
        }
        free(pi), free(list), free(any), free(det), free(buf);
    }
    if (l)
        cvm__agent__v1__list_processes_response__free_unpacked(l, NULL);
    op_free(op);
}

void task_pids(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TASK_DECODE(Containerd__Task__V2__PidsRequest, containerd__task__v2__pids_request, req, call, pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    if (!c->agent_created || sandbox_agent_call(c->sb, "ListProcesses", &ar, pids_listed, op, AGENT_CALL_TIMEOUT_NS) < 0) {
        pids_reply_task_pid(op);
        op_free(op);
    }
}

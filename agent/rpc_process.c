/* Process-level RPCs (signal, wait, resize, close stdin, list) and agent-level ones
 * (health, version, shutdown). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <termios.h>

#define LOG_MODULE "rpc"
#include "agent.pb-c.h"
#include "ttrpc.h"
#include "agent_wire.h"
#include "cgroup.h"
#include "clock.h"
#include "log.h"
#include "rpc.h"
#include "cgroup_oom.h"
#include "stdio.h"

#define LIST_MAX ((int)AGENT_MAX_LISTED_PROCS) /* the shim refuses a longer answer */

void rpc_signal_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__SignalProcessRequest, cvm__agent__v1__signal_process_request, req,
                 call, payload, len);
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    if (req->signal == 0 || req->signal >= (uint32_t)NSIG) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid signal %u", req->signal);
        return;
    }
    int sig = (int)req->signal;
    if (req->all) {
        struct container *c = p->c;
        if (c->cgroup && cgroup_kill(c->cgroup, sig) == 0) {
            ttrpc_call_reply(call, NULL);
            return;
        }
        if (c->init && c->init->pid > 0 && c->init->state < PROC_EXITED)
            (void)kill(c->init->pid, sig);
        for (struct process *e = c->execs; e; e = e->next)
            if (e->pid > 0 && e->state < PROC_EXITED)
                (void)kill(e->pid, sig);
        ttrpc_call_reply(call, NULL);
        return;
    }
    if (p->state >= PROC_EXITED || p->pid <= 0) {
        ttrpc_call_reply_error(call, RPC_NOT_FOUND,
                               "container %s exec '%s': process already finished", p->c->id,
                               p->exec_id);
        return;
    }
    if (kill(p->pid, sig) < 0) {
        ttrpc_call_reply_errno(call, -errno, NULL);
        return;
    }
    ttrpc_call_reply(call, NULL);
}

void rpc_wait_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__WaitProcessRequest, cvm__agent__v1__wait_process_request, req,
                 call, payload, len);
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    if (process_add_waiter(p, call) < 0)
        ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED,
                               "container %s exec '%s': too many waiters", p->c->id, p->exec_id);
}

void rpc_resize_tty(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__ResizeTtyRequest, cvm__agent__v1__resize_tty_request, req, call,
                 payload, len);
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    int fd = stream_tty_fd(p);
    if (fd < 0) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s exec '%s': no terminal",
                               p->c->id, p->exec_id);
        return;
    }
    if (req->width == 0 || req->height == 0 || req->width > 65535 || req->height > 65535) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "terminal size %ux%u out of range",
                               req->width, req->height);
        return;
    }
    struct winsize ws = {.ws_row = (unsigned short)req->height,
                         .ws_col = (unsigned short)req->width};
    if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
        ttrpc_call_reply_errno(call, -errno, NULL);
        return;
    }
    ttrpc_call_reply(call, NULL);
}

void rpc_close_stdin(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__CloseStdinRequest, cvm__agent__v1__close_stdin_request, req, call,
                 payload, len);
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    stream_close_stdin(p);
    ttrpc_call_reply(call, NULL);
}

void rpc_list_processes(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request, req, call,
                 payload, len);
    struct container *c = rpc_container(ud, call, req->container_id);
    if (!c)
        return;
    pid_t *pids = calloc(LIST_MAX, sizeof(pid_t));
    Cvm__Agent__V1__ProcessInfo *infos = calloc(LIST_MAX, sizeof(*infos));
    Cvm__Agent__V1__ProcessInfo **ptrs = calloc(LIST_MAX, sizeof(*ptrs));
    int n = 0;
    if (!pids || !infos || !ptrs) {
        n = -ENOMEM;
    } else if (c->cgroup) {
        n = cgroup_pids(c->cgroup, pids, LIST_MAX);
    } else {
        if (c->init && c->init->pid > 0 && c->init->state < PROC_EXITED)
            pids[n++] = c->init->pid;
        for (struct process *e = c->execs; e && n < LIST_MAX; e = e->next)
            if (e->pid > 0 && e->state < PROC_EXITED)
                pids[n++] = e->pid;
    }
    if (n < 0) {
        ttrpc_call_reply_errno(call, n, NULL);
    } else {
        for (int i = 0; i < n; i++) {
            cvm__agent__v1__process_info__init(&infos[i]);
            infos[i].pid = (uint32_t)pids[i];
            infos[i].exec_id = (char *)"";
            for (struct process *e = c->execs; e; e = e->next)
                if (e->pid == pids[i] && e->state < PROC_EXITED)
                    infos[i].exec_id = e->exec_id;
            ptrs[i] = &infos[i];
        }
        Cvm__Agent__V1__ListProcessesResponse resp = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
        resp.n_processes = (size_t)n;
        resp.processes = ptrs;
        ttrpc_call_reply(call, &resp.base);
    }
    free(pids);
    free(infos);
    free(ptrs);
}

void rpc_delete_process(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__DeleteProcessRequest, cvm__agent__v1__delete_process_request, req,
                 call, payload, len);
    if (!req->exec_id[0]) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                               "exec id required (the init goes with RemoveContainer)");
        return;
    }
    struct process *p = rpc_process(ud, call, req->container_id, req->exec_id);
    if (!p)
        return;
    if (p->pid > 0 && p->state < PROC_DONE) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s exec %s: still running",
                               p->c->id, p->exec_id);
        return;
    }
    Cvm__Agent__V1__DeleteProcessResponse resp = CVM__AGENT__V1__DELETE_PROCESS_RESPONSE__INIT;
    resp.exit_status = (uint32_t)p->exit_status;
    resp.exited_at_unix_ns = p->exited_at_ns;
    resp.pid = (uint32_t)p->pid;
    struct container *c = p->c;
    for (struct process **pp = &c->execs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            c->n_execs--;
            break;
        }
    process_free(p);
    ttrpc_call_reply(call, &resp.base);
}

void rpc_health(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct agent *a = ud;
    TTRPC_DECODE(Cvm__Agent__V1__HealthRequest, cvm__agent__v1__health_request, req, call, payload,
                 len);
    Cvm__Agent__V1__HealthResponse resp = CVM__AGENT__V1__HEALTH_RESPONSE__INIT;
    int r = clock_sync_to_host(req->host_realtime_ns, AGENT_CLOCK_STEP_MIN_NS, &resp.clock_step_ns);
    if (r < 0)
        log_warn("clock sync: %s", strerror(-r));
    resp.serving = !a->shutting_down;
    resp.containers = (uint32_t)a->n_containers;
    resp.init_uptime_ns = a->init_uptime_ns;
    resp.ready_uptime_ns = a->ready_uptime_ns;
    resp.uptime_ns = agent_uptime_ns();
    ttrpc_call_reply(call, &resp.base);
}

void rpc_wait_oom(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__Empty, cvm__agent__v1__empty, req, call, payload, len);
    (void)req;
    oom_wait(ud, call);
}

void rpc_version(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct utsname u;
    (void)ud;
    TTRPC_DECODE(Cvm__Agent__V1__Empty, cvm__agent__v1__empty, req, call, payload, len);
    (void)req;
    Cvm__Agent__V1__VersionResponse resp = CVM__AGENT__V1__VERSION_RESPONSE__INIT;
    resp.agent_version = (char *)AGENT_VERSION;
    resp.api_version = AGENT_API_VERSION;
    resp.kernel = (char *)(uname(&u) == 0 ? u.release : "");
    ttrpc_call_reply(call, &resp.base);
}

void rpc_shutdown(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    TTRPC_DECODE(Cvm__Agent__V1__Empty, cvm__agent__v1__empty, req, call, payload, len);
    (void)req;
    log_info("shutdown requested");
    ttrpc_call_reply(call, NULL);
    agent_shutdown(ud);
}

/* containerd.task.v2.Task/Kill: a signal to a process; never-started processes end here, and
 * SIGKILL of the sandbox's init has a grace after which QEMU is killed from the host. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>

#include "agent.pb-c.h"
#include "log.h"
#include "loop.h"
#include "task/rpc.h"

static void created_exec_killed(const struct ttrpc_result *res, void *data)
{
    (void)data;
    if (res->code != 0)
        log_debug("agent SignalProcess of a never-started exec: %s",
                  res->message ? res->message : "");
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
    (void)sandbox_agent_call(p->c->sb, "SignalProcess", &ar, created_exec_killed, NULL,
                             AGENT_CALL_TIMEOUT_NS);
}

/* SIGKILL of the sandbox's init must work on a guest that no longer acts: the agent gets
 * kill_grace_ms to report the exit, then QEMU is killed from the host (that process exits
 * 137, as it would have; every other task of the VM 255). Kill answers when the agent does
 * or when the grace ends, whichever is first. The op lives until both the agent call and the
 * timer are over (op->refs counts them). */
static void kill_op_put(struct agent_op *op)
{
    if (--op->refs == 0)
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
        snprintf(why, sizeof(why), "the guest did not act on SIGKILL of %s within %u ms", p->c->id,
                 p->c->sb->cfg.kill_grace_ms);
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
    TTRPC_DECODE(Containerd__Task__V2__KillRequest, containerd__task__v2__kill_request, req, call,
                 pl, n);
    struct proc *p = task_lookup_proc(s, call, req->id, req->exec_id);
    if (!p || task_check(call, p, PEV_KILL) < 0)
        return;
    if (req->signal == 0 || req->signal >= 65)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "invalid signal %u: invalid argument", req->signal);
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
        return task_forward(s, call, p->c, p, "SignalProcess", &ar, NULL);
    struct agent_op *op = op_new(s, p->c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    if (loop_add_timer(s->loop, (uint64_t)p->c->sb->cfg.kill_grace_ms * 1000ull, kill_grace_over,
                       op, &op->timer) == 0)
        op->refs++;
    if (sandbox_agent_call(p->c->sb, "SignalProcess", &ar, kill_sent, op, AGENT_CALL_TIMEOUT_NS) ==
        0) {
        op->refs++;
        return;
    }
    /* no agent connection: the VM is on its way down already, or the grace timer ends it */
    if (op->refs) {
        op_reply(op, NULL);
        return;
    }
    op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
    op_free(op);
}

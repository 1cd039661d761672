/* What every Task RPC handler does first: find the container or process (or answer NOT_FOUND),
 * check the call against the process state table, and the exited_at timestamp they report. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/rpc.h"

#define GO_ZERO_TIME_SECONDS (-62135596800LL) /* "never exited" as runc shims encode it */

struct container *task_lookup_container(struct shim *s, struct ttrpc_call *call, const char *id)
{
    struct container *c = id ? shim_find_container(s, id) : NULL;
    if (!c)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s: not found", id ? id : "");
    return c;
}

struct proc *task_lookup_proc(struct shim *s, struct ttrpc_call *call, const char *id,
                              const char *exec_id)
{
    struct container *c = task_lookup_container(s, call, id);
    struct proc *p;
    if (!c)
        return NULL;
    p = container_find_proc(c, exec_id);
    if (!p)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "process %s: not found", exec_id);
    return p;
}

int task_check(struct ttrpc_call *call, struct proc *p, enum proc_event ev)
{
    const struct proc_transition *t = proc_transition(p->status, ev);
    if (!t->code)
        return 0;
    struct cvm_err err = {0};
    (void)proc_apply(p, ev, &err);
    ttrpc_call_reply_error(call, err.code, "%s", err.msg);
    return -1;
}

void task_fill_timestamp(Google__Protobuf__Timestamp *ts, const struct proc *p)
{
    if (p->exit_done || p->agent_exited) {
        ts->seconds = p->exited_sec;
        ts->nanos = p->exited_nsec;
    } else {
        ts->seconds = GO_ZERO_TIME_SECONDS;
        ts->nanos = 0;
    }
}

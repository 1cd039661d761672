/* containerd.task.v2.Task/Pids: the container's processes as the guest lists them. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "log.h"
#include "sandbox/agent_limits.h"
#include "task/rpc.h"

#define PIDS_MAX AGENT_MAX_LISTED_PROCS

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
        log_warn("agent ListProcesses: malformed or more than %u entries; answering the task pid",
                 PIDS_MAX);
    if (!l || l->n_processes == 0 || l->n_processes > PIDS_MAX) {
        if (res->code != 0)
            log_warn("agent ListProcesses: %s; answering the task pid",
                     res->message ? res->message : "");
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
                    any[i].value.len =
                        containerd__runc__v1__process_details__pack(&det[i], buf + i * 96);
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
    TTRPC_DECODE(Containerd__Task__V2__PidsRequest, containerd__task__v2__pids_request, req, call,
                 pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    struct agent_op *op = op_new(s, c, NULL, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    if (!c->agent_created || sandbox_agent_call(c->sb, "ListProcesses", &ar, pids_listed, op,
                                                AGENT_CALL_TIMEOUT_NS) < 0) {
        pids_reply_task_pid(op);
        op_free(op);
    }
}

/* What every agent RPC handler does first: validate the ids and find the container or process,
 * or answer INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION. */
#include "rpc.h"

#include "ttrpc.h"

struct container *rpc_container(struct agent *a, struct ttrpc_call *call, const char *cid)
{
    if (!agent_id_valid(cid, false)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid container id");
        return NULL;
    }
    struct container *c = agent_find_container(a, cid);
    if (!c)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s: not found", cid);
    return c;
}

struct container *rpc_container_cgroup(struct agent *a, struct ttrpc_call *call, const char *cid)
{
    struct container *c = rpc_container(a, call, cid);
    if (c && !c->cgroup) {
        ttrpc_call_reply_error(call, RPC_FAILED_PRECONDITION, "container %s: no cgroup", c->id);
        return NULL;
    }
    return c;
}

struct process *rpc_process(struct agent *a, struct ttrpc_call *call, const char *cid,
                            const char *eid)
{
    if (!agent_id_valid(eid, true)) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "invalid exec id");
        return NULL;
    }
    struct container *c = rpc_container(a, call, cid);
    if (!c)
        return NULL;
    struct process *p = container_find_process(c, eid);
    if (!p)
        ttrpc_call_reply_error(call, RPC_NOT_FOUND, "container %s exec %s: not found", cid, eid);
    return p;
}

/* Agent calls answered straight back to containerd: the shared path of Kill, ResizePty,
 * Update and Stats. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "task/rpc.h"

static void simple_done(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    op_reply_result(op, res, "agent");
    op_free(op);
}

/* Issue an agent call answered straight back to containerd. */
void task_forward(struct shim *s, struct ttrpc_call *call, struct container *c, struct proc *p,
                  const char *method, const void *req,
                  void (*cb)(const struct ttrpc_result *, void *))
{
    struct agent_op *op = op_new(s, c, p, call);
    if (!op)
        return (void)ttrpc_call_reply_error(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
    if (sandbox_agent_call(c->sb, method, req, cb ? cb : simple_done, op, AGENT_CALL_TIMEOUT_NS) <
        0) {
        op_reply_error(op, RPC_UNAVAILABLE, "sandbox VM not reachable: unavailable");
        op_free(op);
    }
}

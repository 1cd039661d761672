/* Calls to a ready sandbox's agent, and its VM while ready: what the other layers (the network
 * sync, stdio, the task service) use of a sandbox's connection. */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/agent_limits.h"
#include "sandbox/sandbox.h"

struct hv_vm *sandbox_vm(struct sandbox *sb)
{
    return sb && sb->state == SB_READY ? sb->vm : NULL;
}

int sandbox_agent_call(struct sandbox *sb, const char *method, const void *req,
                       void (*cb)(const struct ttrpc_result *res, void *data), void *data,
                       uint64_t timeout_ns)
{
    if (!sb || sb->state != SB_READY || !sb->agent)
        return -ENOTCONN;
    /* The guest's answer is capped per method (agent_limits.c) before anything decodes it. */
    return ttrpc_client_call_max(sb->agent, AGENT_SERVICE, method, req, NULL, 0, timeout_ns,
                                 agent_reply_cap(method), cb, data);
}

/* containerd.task.v2.Task/Checkpoint: not supported (a VM cannot be checkpointed here). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "task/rpc.h"

void task_checkpoint(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    (void)pl;
    (void)n;
    (void)ud;
    ttrpc_call_reply_error(call, RPC_UNIMPLEMENTED,
                           "checkpoint of a VM sandbox is not supported by %s: not implemented",
                           SHIM_NAME);
}

/* A container's OCI hooks at their points of the task lifecycle (see hooks.h for which run
 * where and what a failure means): the op waits for them, then goes on in op->then. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "task/rpc.h"

static void hooks_done(int r, const char *msg, void *data)
{
    struct agent_op *op = data;
    op->hook_run = NULL;
    op->then(op, r, msg);
}

void task_run_hooks(struct agent_op *op, enum hook_kind kind, const char *status,
                    void (*then)(struct agent_op *op, int r, const char *msg))
{
    struct container *c = op->c;
    char *state;
    int r;

    op->then = then;
    if (!c || !c->hooks.n[kind]) {
        then(op, 0, NULL);
        return;
    }
    state = hooks_state_json(c->id, status, (pid_t)shim_task_pid(op->s), c->bundle, c->annotations);
    r = state ? hooks_run(op->s->loop, &c->hooks, kind, state, hooks_done, op, &op->hook_run)
              : -ENOMEM;
    free(state);
    if (r < 0)
        then(op, r, strerror(-r));
}

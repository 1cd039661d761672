/* Helpers shared by the Task RPC handlers (requests decode with TTRPC_DECODE, ttrpc.h): lookups
 * that answer NOT_FOUND, the state check, the agent forward, hooks. */
#ifndef CVM_SHIM_TASK_RPC_H
#define CVM_SHIM_TASK_RPC_H

#include <protobuf-c/protobuf-c.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "task/model.h"
#include "task/service.h"
#include "ttrpc.h"

/* Find container/process or reply NOT_FOUND; NULL means "already answered". */
struct container *task_lookup_container(struct shim *s, struct ttrpc_call *call, const char *id);
struct proc *task_lookup_proc(struct shim *s, struct ttrpc_call *call, const char *id,
                              const char *exec_id);
/* Answer a containerd call with an agent result, or with the code from the state table. */
int task_check(struct ttrpc_call *call, struct proc *p, enum proc_event ev);
void task_fill_timestamp(Google__Protobuf__Timestamp *ts, const struct proc *p);

/* forward.c: issue agent `method` for op (c, p) and answer containerd with the agent's reply
 * (cb: NULL, or a callback that converts the reply and frees the op). An unreachable VM is
 * answered UNAVAILABLE at once. */
void task_forward(struct shim *s, struct ttrpc_call *call, struct container *c, struct proc *p,
                  const char *method, const void *req,
                  void (*cb)(const struct ttrpc_result *, void *));

/* run_hooks.c: run op->c's hooks of `kind` (state status "creating"/"created"/"running"/
 * "stopped"), then then(op, r, msg); r < 0 with the hook's error when one failed. No hooks, or
 * the container gone: then(op, 0, NULL) at once. */
void task_run_hooks(struct agent_op *op, enum hook_kind kind, const char *status,
                    void (*then)(struct agent_op *op, int r, const char *msg));

#endif

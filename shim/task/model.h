/* The task service's model: one sandbox (one VM, sandbox/sandbox.h) -> containers -> processes
 * (init + execs), the agent calls in flight for them, and the daemon (struct shim). */
#ifndef CVM_SHIM_TASK_H
#define CVM_SHIM_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

#include "errmap.h"
#include "hooks/hooks.h"
#include "sandbox/sandbox.h"
#include "stdio/proc_io.h"
#include "task/proc_state.h"
#include "ttrpc.h"

struct loop;
struct loop_source;
struct ttrpc_call;
struct ttrpc_client;
struct ttrpc_server;
struct evt_publisher;
struct hv_vm;
struct hv_vsock_req;
struct relay;
struct stream_attach;
struct logger_wait;
struct sandbox;
struct container;
struct proc;

#define SPEC_MAX ((4u << 20) - (64u << 10)) /* the agent's config_json cap (agent/oci_spec.h) */

TAILQ_HEAD(waiter_list, waiter);
struct waiter {
    TAILQ_ENTRY(waiter) link;
    struct ttrpc_call *call;
    struct proc *proc;
};

/* A call answered later (Create, Start, Exec...). cancel clears call. */
struct pending_rpc {
    struct ttrpc_call *call;
};

struct proc {
    TAILQ_ENTRY(proc) link;
    struct container *c;
    char exec_id[80]; /* "" = init */
    enum proc_status status;
    uint32_t exit_status;
    int64_t exited_sec;
    int32_t exited_nsec;
    uint32_t guest_pid;
    struct proc_io io;
    bool agent_exited;        /* WaitProcess answered (or the VM died) */
    uint32_t vm_death_status; /* its exit status if the VM dies: 255, or 137 when we killed the
                                 VM for a SIGKILL of it the guest did not act on */
    bool exit_done;           /* TaskExit published, waiters released */
    struct loop_source *drain_timer; /* exited, output not ended yet: EXIT_DRAIN_MS bound */
    bool started_event;              /* TaskStart / TaskExecStarted published */
    bool deleting;                   /* exec: DeleteProcess in flight */
    struct waiter_list waiters;
    int attach_left; /* streams still being attached */
    int attach_err;
    char attach_msg[160];
    void (*attach_done)(struct proc *p, int r, const char *msg);
};
TAILQ_HEAD(proc_list, proc);

struct container {
    TAILQ_ENTRY(container) link;
    struct sandbox *sb;
    char id[80];
    char share_name[SHARE_NAME_LEN]; /* its directory in the share ("<id>.<hex>", share.h) */
    char bundle[4096];
    struct proc *init;
    struct proc_list execs;
    char *spec_json; /* rewritten config.json for the agent */
    size_t spec_len;
    struct oci_hooks hooks; /* the spec's hooks, run on the host (hooks.h) */
    json_t *annotations;    /* the spec's, for the hooks' state JSON (a reference) */
    bool agent_created;
    bool deleting;
    bool oom_pending;     /* a guest OOM kill not yet published (oom_watch.c rate limit) */
    uint64_t oom_last_ns; /* when its last TaskOOM was published (0: never) */
};

/* What an agent op waits for, when something must find it by that (op_find). */
enum op_waits_for {
    OP_WAITS_NONE = 0,
    OP_WAITS_CREATE_ATTACH, /* Create: the init's stdio streams to attach */
    OP_WAITS_EXEC_ATTACH,   /* Exec: the exec's stdio streams to attach */
    OP_WAITS_EXIT,          /* Start's op, kept for the WaitProcess long poll */
};

/* An agent call in flight on behalf of a container/process (and maybe a containerd call
 * waiting for it). Deleting the container/process clears the pointers, so late replies are
 * harmless. */
struct agent_op {
    TAILQ_ENTRY(agent_op) link;
    struct shim *s;
    struct container *c;
    struct proc *p;
    struct pending_rpc rpc;
    enum op_waits_for waits_for; /* what op_find looks ops up by (OP_WAITS_NONE: nothing) */
    bool pause;                  /* Pause (true) or Resume (pause_resume.c) */
    unsigned refs;               /* Kill of the sandbox's init: the agent call and the grace
                                    timer each hold one; the op goes with the last (kill.c) */
    struct hook_run *hook_run;   /* hooks running for this op (cancelled with it) */
    struct loop_source *timer;   /* e.g. the SIGKILL grace (freed with it) */
    void (*then)(struct agent_op *op, int r, const char *msg); /* after hooks / net sync */
};
TAILQ_HEAD(agent_op_list, agent_op);

struct shim {
    struct agent_op_list ops;
    struct loop *loop;
    struct ttrpc_server *server;
    struct evt_publisher *events;
    char ns[80];
    char id[80];
    char address[256];
    char bundle[4096]; /* the daemon's cwd */
    char socket_path[128];
    char hash[65];
    struct sandbox *sb; /* NULL until the first Create */
    bool shutting_down;
    unsigned exit_drain_ms; /* 0: EXIT_DRAIN_MS (tests shorten it) */
};

/* sandbox_owner.c: how the sandbox reports to the task service */
extern const struct sandbox_owner task_sandbox_owner;

/* ---- proc.c ---- */
struct container *shim_find_container(struct shim *s, const char *id);
struct proc *container_find_proc(struct container *c, const char *exec_id);
struct proc *proc_new(struct container *c, const char *exec_id);
void proc_free(struct proc *p);
/* Apply an event through the state table. 0, or -1 with err filled (code from the table). */
int proc_apply(struct proc *p, enum proc_event ev, struct cvm_err *err);
/* The agent reported the exit; completes once stdout/stderr drained. exited_at is the host's
 * clock now: the guest's is its own (and untrusted), and CRI compares exited_at with the
 * created_at and started_at it took from the host's. */
void proc_agent_exited(struct proc *p, uint32_t status);
/* How long the guest's stdout/stderr may stay open after it reported the exit. The agent
 * answers WaitProcess only once its side drained, so only bytes in flight remain: a stream
 * still open after this is a guest that never ends it; it is closed and the exit published. */
#define EXIT_DRAIN_MS 30000u
/* The VM is gone: exit 255 now, stdio closed. */
void proc_vm_died(struct proc *p);
/* Publish TaskExit etc. when exited and drained; idempotent. */
void proc_try_complete(struct proc *p);
int proc_add_waiter(struct proc *p, struct ttrpc_call *call);
uint32_t shim_task_pid(const struct shim *s);
void shim_publish(struct shim *s, const char *topic, const void *msg);
void pending_set(struct pending_rpc *op, struct ttrpc_call *call);
struct ttrpc_call *pending_take(struct pending_rpc *op);
void shim_container_free(struct container *c);
struct agent_op *op_new(struct shim *s, struct container *c, struct proc *p,
                        struct ttrpc_call *call);
void op_free(struct agent_op *op);
/* At the daemon's exit: ops still waiting (a Kill's grace timer, a call the VM never answered)
 * go, their containerd calls answered "operation abandoned". */
void op_free_all(struct shim *s);
/* The last op of process p that waits for `what`, or NULL. */
struct agent_op *op_find(struct shim *s, const struct proc *p, enum op_waits_for what);
/* Reply helpers for ops: no-op when the containerd call was cancelled. */
void op_reply(struct agent_op *op, const ProtobufCMessage *msg);
void op_reply_error(struct agent_op *op, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map an agent failure onto the containerd reply (keeps the agent's code and message). */
void op_reply_result(struct agent_op *op, const struct ttrpc_result *res, const char *what);

#endif

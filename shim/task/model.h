/* The daemon's model: one sandbox (one VM) -> containers -> processes (init + execs).
 * Shared by the task_*.c RPC handlers, sandbox.c and proc.c. */
#ifndef CVM_SHIM_TASK_H
#define CVM_SHIM_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "agent_wire.h"
#include "sandbox/boot_phases.h"
#include "config.h"
#include "hooks/hooks.h"
#include "cgroup/host_cgroup_limits.h"
#include "hv.h"
#include "net/net.h"
#include "sandbox/share.h"
#include "errmap.h"
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

#define AGENT_CALL_TIMEOUT_NS (30ull * 1000000000ull)
#define SPEC_MAX ((4u << 20) - (64u << 10)) /* the agent's config_json cap (agent/oci_spec.h) */

enum { STREAM_STDIN, STREAM_STDOUT, STREAM_STDERR, _STREAM_MAX };

/* The containerd side and the agent side of one process's stdio. */
struct proc_io {
    char path[_STREAM_MAX][4096]; /* as given by containerd ("" = not connected) */
    bool terminal;
    bool want[_STREAM_MAX];       /* streams attached to the agent */
    int host_fd[_STREAM_MAX];     /* containerd side: stdin source / stdout, stderr sinks */
    bool host_shared_out_err;     /* file:// or binary://: one sink for both streams */
    struct relay *relay[_STREAM_MAX];
    struct stream_attach *attach[_STREAM_MAX];
    pid_t logger_pid;             /* binary:// logger */
    struct loop_source *logger_w;
    int logger_ready_fd;          /* the logger closes its end (fd 5) when ready */
    struct logger_wait *logger_wait;
};

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
    bool agent_exited;   /* WaitProcess answered (or the VM died) */
    uint32_t vm_death_status; /* its exit status if the VM dies: 255, or 137 when we killed the
                                 VM for a SIGKILL of it the guest did not act on */
    bool exit_done;      /* TaskExit published, waiters released */
    struct loop_source *drain_timer; /* exited, output not ended yet: EXIT_DRAIN_MS bound */
    bool started_event;  /* TaskStart / TaskExecStarted published */
    bool deleting;       /* exec: DeleteProcess in flight */
    struct waiter_list waiters;
    int attach_left;       /* streams still being attached */
    int attach_err;
    char attach_msg[160];
    void (*attach_done)(struct proc *p, int r, const char *msg);
};
TAILQ_HEAD(proc_list, proc);

struct container {
    TAILQ_ENTRY(container) link;
    struct sandbox *sb;
    char id[80];
    char bundle[4096];
    struct proc *init;
    struct proc_list execs;
    char *spec_json;     /* rewritten config.json for the agent */
    size_t spec_len;
    struct oci_hooks hooks; /* the spec's hooks, run on the host (hooks.h) */
    json_t *annotations;    /* the spec's, for the hooks' state JSON (a reference) */
    bool rootfs_mounted;
    bool agent_created;
    bool deleting;
    bool oom_pending;     /* a guest OOM kill not yet published (oom_watch.c rate limit) */
    uint64_t oom_last_ns; /* when its last TaskOOM was published (0: never) */
};
TAILQ_HEAD(container_list, container);

enum sb_state { SB_NEW, SB_BOOTING, SB_READY, SB_DEAD, SB_STOPPING, SB_STOPPED };

struct sandbox_net_waiter {
    void (*cb)(struct sandbox *sb, int r, const char *msg, void *data);
    void *data;
};

struct sandbox {
    struct shim *shim;
    char id[80]; /* group id */
    char run_dir[128];
    struct share share; /* the virtio-fs share: host-only mounts/ + read-only view shared/ */
    char vm_dir[160];
    struct cfg cfg;
    enum sb_state state;
    struct hv_vm *vm;
    pid_t qemu_pid;
    pid_t task_pid;  /* QEMU's pid as containerd was told it: kept after QEMU is gone */
    /* Not a pod and not a group: when its last process has exited the VM stops before the
     * exits are published, so the task's pid is gone after Wait, as runc's is. */
    bool standalone;
    void (*park_cb)(struct sandbox *sb); /* set while that VM stop is under way */
    uint64_t hb_sent_ns, hb_rtt_ns;  /* the last Health call: sent at, round trip (clock sync) */
    struct ttrpc_client *agent;
    struct hv_vsock_req *agent_req;
    struct loop_source *retry_timer; /* next agent connection attempt */
    struct loop_source *boot_watch;  /* the boot watchdog (boot_phases_check) */
    struct loop_source *heartbeat;   /* liveness once ready: Health every guest_timeout_ms/3 */
    bool hb_inflight;
    uint64_t hb_last_ok_ns;          /* the agent's last answer (any Health reply) */
    /* WaitOOM (oom_watch.c): re-armed at most once a second on this timer */
    struct loop_source *oom_timer;
    uint64_t oom_armed_ns;
    bool oom_want_arm;
    unsigned oom_errors;
    struct boot_phases phases;
    struct boot_limits limits;
    char last_err[160];
    char dead_reason[1024];
    struct container_list containers;
    /* containers whose Create waits for the VM */
    void (*ready_cb[16])(struct sandbox *sb, int r, const char *msg, void *data);
    void *ready_data[16];
    int n_ready;
    void (*stopped_cb)(struct sandbox *sb, void *data);
    void *stopped_data;
    /* network (sandbox_net.c) */
    int netns_fd;                      /* the sandbox netns, where QEMU and the taps live */
    unsigned n_nics;                   /* NICs the VM booted with */
    char nic_tap[HV_MAX_NICS][IFNAMSIZ];
    char nic_mac[HV_MAX_NICS][NET_MAC_STRLEN];
    struct hv_nic nics[HV_MAX_NICS];
    struct net_attached attached[NET_MAX_IFACES];
    size_t n_attached;
    struct net_sync *net_sync;         /* the ConfigureNetwork call in flight */
    struct sandbox_net_waiter net_waiters[16];
    size_t n_net_waiters, n_net_running; /* running: waiters the current/scheduled sync answers */
    struct portfwd *portfwd;           /* CRI PortForward into the guest (portfwd.h) */
    /* host cgroup (host_cgroup.h): the first container's linux.cgroupsPath, holding QEMU,
     * virtiofsd and cvm-vsockd; NULL without one. Removed once the VM has stopped. */
    struct host_cgroup *host_cg;
    struct loop_source *host_cg_retry; /* removal waits for a helper's child to go */
    unsigned host_cg_tries;
    char host_cg_owner[80];            /* the container whose resources it carries */
    struct hcg_overhead host_ov;
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
    uint32_t u32;
    struct hook_run *hook_run; /* hooks running for this op (cancelled with it) */
    struct loop_source *timer; /* e.g. the SIGKILL grace (freed with it) */
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
struct agent_op *op_new(struct shim *s, struct container *c, struct proc *p, struct ttrpc_call *call);
void op_free(struct agent_op *op);
/* Tags (agent_op.u32) of the ops that wait for a process's stdio streams to attach. */
enum { OP_WAIT_CREATE_ATTACH = 1, OP_WAIT_EXEC_ATTACH = 2 };
/* The last op of process p carrying tag, or NULL. */
struct agent_op *op_find(struct shim *s, const struct proc *p, uint32_t tag);
/* Reply helpers for ops: no-op when the containerd call was cancelled. */
void op_reply(struct agent_op *op, const ProtobufCMessage *msg);
void op_reply_error(struct agent_op *op, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Map an agent failure onto the containerd reply (keeps the agent's code and message). */
void op_reply_result(struct agent_op *op, const struct ttrpc_result *res, const char *what);

/* ---- stdio.c ---- */
void proc_io_init(struct proc_io *io);
/* Open containerd's side (FIFOs, file://, binary://). done(r) may fire later for binary:// */
int proc_io_open(struct proc *p, struct cvm_err *err);
/* Connect every wanted stream to the agent (port 1025 handshake); cb when all attached. */
int proc_io_attach(struct proc *p, void (*cb)(struct proc *p, int r, const char *msg));
void proc_io_close_stdin(struct proc *p);
bool proc_io_drained(const struct proc *p);
void proc_io_close(struct proc *p); /* close everything (after exit+drain, or on failure) */

/* ---- sandbox.c ---- */
/* host_cg (NULL: none) is the sandbox's from now on, also when this fails. */
int sandbox_new(struct shim *s, const char *group, const struct cfg *cfg, const char *netns,
                struct host_cgroup *host_cg, struct sandbox **ret, struct cvm_err *err);
/* cb fires when the agent is reachable (r = 0) or boot failed (r < 0, msg). */
void sandbox_when_ready(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                        void *data);
int sandbox_agent_call(struct sandbox *sb, const char *method, const void *req,
                       void (*cb)(const struct ttrpc_result *res, void *data), void *data,
                       uint64_t timeout_ns);
/* The first container was created in the guest: the last boot phase (logged, boot.log). */
void sandbox_container_created(struct sandbox *sb);
/* The guest cannot be trusted to end this any more: kill QEMU from the host; every task exits
 * (255, or its vm_death_status) with reason. */
void sandbox_kill_vm(struct sandbox *sb, const char *reason);
/* Stop the VM of a sandbox whose processes have all exited; cb runs once QEMU is gone (or at
 * once, with -errno returned, when there is nothing to stop). */
int sandbox_park(struct sandbox *sb, void (*cb)(struct sandbox *sb));
/* sandbox_net.c: open the netns and size the VM's NICs (at sandbox_new); bring every new
 * interface of the netns into the guest, cb(sb, 0 or -errno, msg, data) when done (never from
 * inside the call); undo the host-side plumbing (at stop). */
int sandbox_net_open(struct sandbox *sb, const char *netns_path, struct cvm_err *err);
void sandbox_net_sync(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                      void *data);
void sandbox_net_close(struct sandbox *sb);
/* Stop the VM and remove every file; cb when done (also when nothing was running). */
void sandbox_stop(struct sandbox *sb, void (*cb)(struct sandbox *, void *), void *data);
void sandbox_free(struct sandbox *sb);
struct hv_vm *sandbox_vm(struct sandbox *sb);

void shim_run_dir_of(const struct shim *s, char *out, size_t n);

/* ---- task handlers ---- */
struct ttrpc_method;
extern const struct ttrpc_method task_methods[];
extern const unsigned task_n_methods;
void task_create(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_start(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_exec(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_kill(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_delete(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_pause(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_resume(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_resize_pty(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_close_io(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_update(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_stats(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_pids(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_state(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_wait(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_connect(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_shutdown(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
void task_checkpoint(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud);
/* The daemon exits: stop the VM, flush events, quit the loop. */
void shim_begin_exit(struct shim *s);

#endif

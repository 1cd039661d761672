/* One sandbox = one VM: its run dir and share, netns and NICs, QEMU and its helpers (hv.h), the
 * agent connection with its boot watchdog and heartbeat, death, park and stop. The files of
 * shim/sandbox/ implement it (shim/README.md); containers and processes hang off it but are the
 * task service's (task/model.h). */
#ifndef CVM_SHIM_SANDBOX_H
#define CVM_SHIM_SANDBOX_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "agent_wire.h"
#include "cgroup/host_cgroup_limits.h"
#include "config.h"
#include "errmap.h"
#include "hv.h"
#include "net/net.h"
#include "sandbox/boot_phases.h"
#include "sandbox/share.h"
#include "ttrpc.h"

struct loop;
struct loop_source;
struct ttrpc_client;
struct hv_vm;
struct hv_vsock_req;
struct host_cgroup;
struct net_sync;
struct portfwd;
struct shim;
struct container;
struct sandbox;

#define AGENT_CALL_TIMEOUT_NS (30ull * 1000000000ull)

TAILQ_HEAD(container_list, container);

enum sb_state { SB_NEW, SB_BOOTING, SB_READY, SB_DEAD, SB_STOPPING, SB_STOPPED };

struct sandbox_net_waiter {
    void (*cb)(struct sandbox *sb, int r, const char *msg, void *data);
    void *data;
};

/* How a sandbox reports to its owner (the task service): the sandbox never calls up otherwise. */
struct sandbox_owner {
    void (*ready)(struct sandbox *sb);   /* the agent answered: what watches a ready guest starts */
    void (*vm_died)(struct sandbox *sb); /* the VM is gone: every task of it ends now */
    void (*freeing)(struct sandbox *sb); /* sandbox_free: what hangs off sb goes first */
};

struct sandbox {
    struct shim *shim; /* the owner's (opaque here) */
    struct loop *loop;
    const struct sandbox_owner *owner;
    char id[80]; /* group id */
    char run_dir[128];
    struct share share; /* the virtio-fs share: host-only mounts/ + read-only view shared/ */
    char vm_dir[160];
    struct cfg cfg;
    enum sb_state state;
    struct hv_vm *vm;
    pid_t qemu_pid;
    pid_t task_pid; /* QEMU's pid as containerd was told it: kept after QEMU is gone */
    /* Not a pod and not a group: when its last process has exited the VM stops before the
     * exits are published, so the task's pid is gone after Wait, as runc's is. */
    bool standalone;
    void (*park_cb)(struct sandbox *sb); /* set while that VM stop is under way */
    uint64_t hb_sent_ns, hb_rtt_ns; /* the last Health call: sent at, round trip (clock sync) */
    struct ttrpc_client *agent;
    struct hv_vsock_req *agent_req;
    struct loop_source *retry_timer; /* next agent connection attempt */
    struct loop_source *boot_watch;  /* the boot watchdog (boot_phases_check) */
    struct loop_source *heartbeat;   /* liveness once ready: Health every guest_timeout_ms/3 */
    bool hb_inflight;
    uint64_t hb_last_ok_ns; /* the agent's last answer (any Health reply) */
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
    int netns_fd;    /* the sandbox netns, where QEMU and the taps live */
    unsigned n_nics; /* NICs the VM booted with */
    char nic_tap[HV_MAX_NICS][IFNAMSIZ];
    char nic_mac[HV_MAX_NICS][NET_MAC_STRLEN];
    struct hv_nic nics[HV_MAX_NICS];
    struct net_attached attached[NET_MAX_IFACES];
    size_t n_attached;
    struct net_sync *net_sync; /* the ConfigureNetwork call in flight */
    struct sandbox_net_waiter net_waiters[16];
    size_t n_net_waiters, n_net_running; /* running: waiters the current/scheduled sync answers */
    struct portfwd *portfwd;             /* CRI PortForward into the guest (portfwd.h) */
    /* host cgroup (host_cgroup.h): the first container's linux.cgroupsPath, holding QEMU,
     * virtiofsd and cvm-vsockd; NULL without one. Removed once the VM has stopped. */
    struct host_cgroup *host_cg;
    char host_cg_owner[80]; /* the container whose resources it carries */
    struct hcg_overhead host_ov;
    /* Warm VM pool (shim/pool): how this VM came to be ("pool: claimed slot N" or "pool: cold
     * boot: <why>"; "" without a pool), shown in boot.log; pooled while a claimed warm VM
     * waits for its sandbox's first Create (task/create.c adopts it then). */
    char origin[240];
    bool pooled;
    /* idle_reclaim.h: a reset of the translation cache is under way; none, and no pageout of
     * QEMU's files, while held (sandbox_hold_idle_reclaim) */
    bool idle_resetting, idle_reclaim_held;
    unsigned idle_reset_calls; /* of the reset under way; 0: none (only a trim) */
    unsigned long long idle_reset_start_ns;
    pid_t holder_pid; /* the task pid in the sandbox netns of an adopted VM (netns_adopt.c) */
    int holder_pidfd; /* -1: none */
};

/* Boot the VM of sandbox `group` with its files under run_dir. host_cg (NULL: none) is the
 * sandbox's from now on, also when this fails. owner->... are how the sandbox reports up; s is
 * the owner's, kept for it (sb->shim) and never used here. */
int sandbox_new(struct shim *s, struct loop *loop, const struct sandbox_owner *owner,
                const char *group, const char *run_dir, const struct cfg *cfg, const char *netns,
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
/* Stop the VM and remove every file; cb when done (also when nothing was running). */
void sandbox_stop(struct sandbox *sb, void (*cb)(struct sandbox *, void *), void *data);
void sandbox_free(struct sandbox *sb);
/* A warm VM (shim/pool) runs at SCHED_IDLE and may get no CPU for longer than
 * guest_timeout_ms while the host is busy: its heartbeat pauses until the claim, which resumes
 * it (a hung warm VM is then found as any other). */
void sandbox_heartbeat_pause(struct sandbox *sb, bool paused);
/* A warm VM was claimed (shim/pool): its run dir, with everything in it, was renamed to
 * run_dir and it is sandbox `group`'s now. Only paths change: the processes hold fds. */
int sandbox_rebase(struct sandbox *sb, const char *group, const char *run_dir);
struct hv_vm *sandbox_vm(struct sandbox *sb);

#endif

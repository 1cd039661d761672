/* The narrow interface the shim uses to run one sandbox VM: QEMU (-M microvm), virtiofsd on the
 * sandbox's shared dir, and the vsock host side (kernel vhost-vsock or our cvm-vsockd).
 *
 * Everything runs on the caller's loop; nothing blocks and there are no threads.
 *
 * Life of a VM:
 *   hv_start()  creates <run_dir>, starts virtiofsd and the vsock backend, then QEMU, connects
 *               QMP and negotiates capabilities. cb.ready fires once all of that is done.
 *   ...         hv_pause/hv_resume/hv_query_status (QMP), hv_vsock_connect (host->guest).
 *   hv_stop()   QMP "quit" (SIGTERM when QMP is not up), SIGKILL when the deadline passes,
 *               then virtiofsd and the vsock backend are stopped the same way and every
 *               socket/file hv made is removed. cb.stopped fires when all of it is done.
 *   hv_free()   after cb.stopped (or from inside it).
 *
 * QEMU dying on its own (crash, kill -9, guest power-off/panic with -no-reboot) is noticed at
 * once through a pidfd: cb.died fires with a one-line reason ("qemu exited with status 1: <its
 * stderr>" / "qemu killed by signal 9 (SIGKILL)", the last SHUTDOWN event's reason, then
 * "console tail: <lines joined by '|'>"), then the helpers are torn down as in hv_stop()
 * and cb.stopped fires. A start that fails after hv_start() returned 0 (a helper dies, the boot
 * deadline passes, QMP negotiation fails) also reports through cb.died, then cb.stopped.
 * cb.died never fires for a VM stopped through hv_stop().
 *
 * QEMU runs as an unprivileged user with no capabilities and no_new_privs (qemu_privs.h):
 * the kernel and initrd must be readable by it (checked at hv_start); every socket, tap and
 * device it uses is opened by hv and inherited (qemu_argv.h); the run dir stays root's.
 *
 * Every process hv starts gets PR_SET_PDEATHSIG(SIGKILL) and its own process group; hv reaps
 * its children through pidfds (a SIGCHLD catch-all reaper in the same process must leave
 * unknown zombies alone for a moment, or hv sees an exit status of 255). Callbacks may call
 * hv_stop() and hv_free(). */
#ifndef CVM_HV_H
#define CVM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accel.h"
#include "vsock_mode.h"

struct loop;
struct cvm_err;
struct hv_vm;
struct hv_vsock_req;

#define HV_MAX_NICS 8
#define HV_MAX_CGROUP_FDS 16

/* One virtio-net NIC on a tap in QEMU's netns: hv makes the tap just before QEMU starts and
 * hands it over as an fd; it goes away with QEMU. The name must not be in use there. */
struct hv_nic {
    const char *tap; /* interface name, 1-15 chars of [A-Za-z0-9_.-] */
    const char *mac; /* "xx:xx:xx:xx:xx:xx" unicast; NULL: QEMU's default */
};

struct hv_config {
    const char *id;          /* sandbox id: used in names and logs */
    const char *run_dir;     /* per-sandbox dir for sockets/logs; created (0700) if missing */
    const char *kernel;      /* guest kernel (bzImage or PVH vmlinux) */
    const char *initrd;      /* NULL: none */
    const char *kernel_args; /* extra kernel args appended after ours; NULL: none */
    const char *qemu_bin;    /* NULL: "qemu-system-x86_64" from PATH */
    enum hv_accel accel;     /* auto: KVM only when it can run our guest (accel.h), else TCG */
    /* The VMM-side processes (QEMU, cvm-vsockd) run as one uid of [uid_first, uid_last],
       leased for this VM alone while any of them lives (uid_range.h, qemu_privs.h); its gid
       is the same number. 0/0: the default range. Ignored when we are not root. */
    uint32_t uid_first, uid_last;
    const char *uid_lock_dir; /* the leases' lock files; NULL: /run/cvm/uids */
    unsigned vcpus;           /* 0: 1 */
    unsigned mem_mib;         /* 0: 256 */

    const char *shared_dir;    /* served by virtiofsd as tag fs_tag; NULL: no virtiofs */
    const char *fs_tag;        /* NULL: "cvmfs" */
    const char *fs_cache;      /* virtiofsd -o cache=: "auto" | "always" | "none"; NULL: auto */
    const char *virtiofsd_bin; /* NULL: /usr/lib/qemu/virtiofsd */

    enum hv_vsock_mode vsock_mode;
    uint32_t guest_cid;     /* kernel mode: 0 = allocate a free one (>= 3); hybrid: 0 = 3 */
    const char *cid_dir;    /* kernel mode CID lock files; NULL: /run/cvm/cid */
    const char *vsockd_bin; /* NULL: cvm-vsockd next to our own executable, else from PATH */

    const char *console_log;  /* guest serial console file, written by hv (truncated at start);
                                NULL: <run_dir>/console.log, removed at stop; a path given
                                here is left in place for the caller */
    unsigned console_max_kib; /* the file keeps at most this much (newest half kept); 0: 1024 */
    const char *netns_path; /* QEMU is started inside this netns (setns before exec); NULL: ours */
    const struct hv_nic *nics; /* virtio-net NICs (copied); NULL/0: none */
    unsigned n_nics;           /* at most HV_MAX_NICS */
    unsigned boot_timeout_ms;  /* helpers ready + QEMU up + QMP negotiated; 0: 30000 */
    unsigned stop_timeout_ms;  /* default deadline of stops forced by a failure; 0: 5000 */
    bool debug;                /* virtiofsd/cvm-vsockd debug output into our log */
    /* Host cgroups every process hv starts joins (QEMU, virtiofsd, cvm-vsockd): open
     * cgroup.procs files, one per hierarchy (cgroup v1 has several); each child writes "0"
     * into every one of them after fork, before exec, so nothing it allocates is charged
     * elsewhere. hv keeps its own duplicates. NULL/0: the children stay in our cgroups. */
    const int *cgroup_procs_fds;
    unsigned n_cgroup_procs_fds; /* at most HV_MAX_CGROUP_FDS */
    bool tcg_icount;        /* under TCG: guest time from the instruction count (qemu_argv.h) */
    unsigned tcg_cache_mib; /* under TCG: the translation cache, MiB; 0: QEMU_TCG_TB_MIB (16) */
    /* under TCG: the cache is a memfd QEMU writes and runs through two mappings (split-wx),
       so that hv_trim_code_cache can give its dead pages back */
    bool tcg_trimmable;
    /* cb.idle once QEMU has been idle this long after being busy (qemu_pageout.c's ticks:
       under 5 % of a CPU after a tick of 10 % or more; the first busy period is the boot);
       0: never */
    unsigned idle_ms;
};

struct hv_callbacks {
    /* QEMU is running (guest booting) and QMP is negotiated. */
    void (*ready)(struct hv_vm *vm, void *data);
    /* The VM died (or failed to start) without hv_stop(); reason is human-readable. */
    void (*died)(struct hv_vm *vm, const char *reason, void *data);
    /* Every process hv started is reaped and every file it made is removed. */
    void (*stopped)(struct hv_vm *vm, void *data);
    /* Optional: QMP events SHUTDOWN, GUEST_PANICKED, STOP, RESUME (name as QEMU spells it). */
    void (*event)(struct hv_vm *vm, const char *name, void *data);
    void *data;
    /* Optional: each guest console line (NUL-terminated, control bytes shown as '?'). With
     * cfg.debug the lines are also logged with module=guest. */
    void (*console)(struct hv_vm *vm, const char *line, void *data);
    /* Optional: QEMU has been idle for cfg.idle_ms after being busy; once per busy period. */
    void (*idle)(struct hv_vm *vm, void *data);
};

/* Completion of an asynchronous QMP operation: r = 0 or -errno; msg is QEMU's error text or
 * NULL. For hv_query_status, status is QEMU's "status" ("running", "paused", ...). */
typedef void (*hv_done_cb)(struct hv_vm *vm, int r, const char *msg, void *data);
typedef void (*hv_status_cb)(struct hv_vm *vm, int r, const char *status, bool running, void *data);
/* Completion of hv_query_jit: on r == 0, st holds the TCG translation cache's figures
 * (jit_stats.h; borrowed for the call); -EPROTO when QEMU's text did not parse. */
struct jit_stats;
typedef void (*hv_jit_cb)(struct hv_vm *vm, int r, const struct jit_stats *st, void *data);
/* Completion of hv_trim_code_cache: bytes of host memory given back (0 when there was nothing
 * past the live code); msg says what failed. */
typedef void (*hv_trim_cb)(struct hv_vm *vm, int r, const char *msg, uint64_t bytes, void *data);
/* Completion of hv_vsock_connect: on r == 0, fd is a connected, non-blocking, close-on-exec
 * stream to the guest port, owned by the callee from now on; on failure fd is -1. */
typedef void (*hv_vsock_cb)(struct hv_vm *vm, int r, int fd, void *data);

/* Validate cfg and start everything asynchronously. cfg strings are copied. On failure here
 * nothing is left running or on disk and no callback fires. */
int hv_start(struct loop *loop, const struct hv_config *cfg, const struct hv_callbacks *cb,
             struct hv_vm **ret, struct cvm_err *err);

/* Stop the VM: QMP quit, SIGKILL after deadline_ms (0: cfg.stop_timeout_ms); then the helpers.
 * Idempotent; cb.stopped fires when done. */
int hv_stop(struct hv_vm *vm, unsigned deadline_ms);

/* Free the handle. Only after cb.stopped (or from inside it); a VM still running is
 * SIGKILLed and its files removed synchronously as a last resort. Accepts NULL. */
void hv_free(struct hv_vm *vm);

/* QMP "stop" / "cont" / "query-status". -ENOTCONN before ready or after QEMU is gone. */
int hv_pause(struct hv_vm *vm, hv_done_cb cb, void *data, struct cvm_err *err);
int hv_resume(struct hv_vm *vm, hv_done_cb cb, void *data, struct cvm_err *err);
int hv_query_status(struct hv_vm *vm, hv_status_cb cb, void *data, struct cvm_err *err);
/* QMP x-query-jit: how full TCG's translation cache is and how often it was flushed (a VM
 * under KVM has none: QEMU answers with zeros). */
int hv_query_jit(struct hv_vm *vm, hv_jit_cb cb, void *data, struct cvm_err *err);
/* While held, QEMU's file mappings are not paged out (qemu_pageout.c): a warm pool's VM keeps
 * what its claim will run. Released, the next idle moment after a busy one pages them out. */
void hv_hold_pageout(struct hv_vm *vm, bool hold); /* NULL: nothing */
/* Give back the translation cache's pages past what was generated since its last flush
 * (tcg_trim.c). TCG with one vCPU only: -EOPNOTSUPP otherwise. */
int hv_trim_code_cache(struct hv_vm *vm, hv_trim_cb cb, void *data, struct cvm_err *err);

/* Open a host->guest stream to guest vsock port `port`, without blocking the loop.
 * kernel: non-blocking AF_VSOCK connect to cid:port. hybrid: connect to the backend's unix
 * socket, send "CONNECT <port>\n", read "OK <n>\n". cb fires exactly once (also on timeout,
 * -ETIMEDOUT), unless the request is cancelled first. *ret (optional) is for cancelling. */
int hv_vsock_connect(struct hv_vm *vm, uint32_t port, unsigned timeout_ms, hv_vsock_cb cb,
                     void *data, struct hv_vsock_req **ret, struct cvm_err *err);
/* Cancel a request whose cb has not fired yet (the handle is gone once it has). Accepts NULL. */
void hv_vsock_cancel(struct hv_vsock_req *req);

/* Host side of guest->host connections in hybrid mode: the guest's connect to host port P
 * arrives on the unix socket <hv_vsock_uds_path()>_<P> (listen there before the guest dials).
 * NULL in kernel mode (listen on AF_VSOCK VMADDR_CID_ANY:P instead). */
const char *hv_vsock_uds_path(const struct hv_vm *vm);
/* The sandbox's leased uid (= gid) its VMM-side processes run as; 0 when none (not root).
 * A host listener on <hv_vsock_uds_path()>_<P> lets this uid connect (e.g. group = this gid,
 * mode 0660): cvm-vsockd makes the guest's connects as it, confined to the socket's dir. */
uint32_t hv_sandbox_uid(const struct hv_vm *vm);

pid_t hv_qemu_pid(const struct hv_vm *vm); /* 0 when not running */
/* The helpers' pids (0 when not running / not used): for metrics such as memory per sandbox. */
void hv_helper_pids(const struct hv_vm *vm, pid_t *ret_virtiofsd, pid_t *ret_vsockd);
/* CLOCK_MONOTONIC ns (now_ns()) when QEMU was spawned; 0 before: for boot-phase timings. */
unsigned long long hv_qemu_spawn_time_ns(const struct hv_vm *vm);
/* CLOCK_MONOTONIC ns of the first byte on the guest console (the guest kernel runs); 0: none. */
unsigned long long hv_first_output_ns(const struct hv_vm *vm);
/* The accelerator chosen at hv_start() and why (accel.h); valid for the VM's life. */
const struct accel_choice *hv_accel(const struct hv_vm *vm);
uint32_t hv_guest_cid(const struct hv_vm *vm);
enum hv_vsock_mode hv_vsock_mode(const struct hv_vm *vm); /* the resolved mode */
const char *hv_console_path(const struct hv_vm *vm);
const char *hv_id(const struct hv_vm *vm);
/* The directory old_dir the VM's files live under was renamed to new_dir (a claimed pooled VM,
 * shim/pool): every path hv keeps is rewritten. -ENOMEM leaves some paths old. */
int hv_rebase(struct hv_vm *vm, const char *old_dir, const char *new_dir);

/* Copy the last up-to n-1 bytes of the console log into buf (NUL-terminated, starts at a line
 * boundary where possible). Returns bytes copied or -errno. */
int hv_console_tail(const struct hv_vm *vm, char *buf, size_t n);

#endif

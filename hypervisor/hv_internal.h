/* Internal to hypervisor/: the VM object shared by hv.c and its helpers. */
#ifndef CVM_HV_INTERNAL_H
#define CVM_HV_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "hv.h"
#include "hv_proc.h"

struct hv_console;
struct hv_proc;
struct loop_source;
struct qmp;

enum hv_state {
    HV_ST_HELPERS,  /* virtiofsd / vsock backend starting */
    HV_ST_QEMU,     /* QEMU spawned, QMP negotiating */
    HV_ST_READY,    /* cb.ready fired */
    HV_ST_STOPPING, /* tearing down */
    HV_ST_STOPPED,  /* cb.stopped fired */
};

struct hv_vsock_req;
TAILQ_HEAD(hv_vsock_reqs, hv_vsock_req);

struct hv_vm {
    struct loop *loop;
    struct hv_callbacks cb;
    enum hv_state state;

    /* resolved config (owned copies) */
    char *id, *run_dir, *kernel, *initrd, *kernel_args, *qemu_bin;
    char *shared_dir, *fs_tag, *fs_cache, *virtiofsd_bin, *vsockd_bin, *netns_path;
    char *nic_tap[HV_MAX_NICS], *nic_mac[HV_MAX_NICS];
    struct hv_nic nics[HV_MAX_NICS]; /* views of nic_tap/nic_mac */
    unsigned n_nics;
    char *console_path, *cid_dir, *uid_lock_dir;
    struct hv_proc_creds qemu_creds; /* resolved at hv_start (qemu_privs.h) */
    uint32_t uid_first, uid_last;    /* hv_config's range (defaults applied) */
    uint32_t uid;                    /* the leased sandbox uid; 0: none (not root) */
    int uid_lock_fd;                 /* its lease; QEMU and cvm-vsockd inherit it */
    unsigned vcpus, mem_mib, boot_timeout_ms, stop_timeout_ms, tcg_cache_mib;
    bool debug, made_run_dir, own_console, tcg_icount, tcg_trimmable;
    enum hv_vsock_mode mode;
    enum hv_accel accel_want;
    struct accel_choice accel;
    uint32_t cid;
    int cid_lock_fd;
    int cgroup_fds[HV_MAX_CGROUP_FDS]; /* cgroup.procs files the children join (hv.h) */
    unsigned n_cgroup_fds;

    /* paths of everything we create in run_dir; vsock_dir (<run_dir>/vsock) is cvm-vsockd's
     * whole filesystem view and holds its sockets */
    char *qmp_sock, *vfs_sock, *vsock_dir, *vsock_vu_sock, *vsock_uds;
    bool made_vsock_dir;

    struct hv_proc *qemu, *virtiofsd, *vsockd;
    struct qmp *qmp;
    struct hv_console *console;
    unsigned console_max_kib;
    struct loop_source *boot_timer, *vsockd_out, *helper_grace, *pageout_timer;
    /* qemu_pageout.c: QEMU's CPU ticks at the last idle tick; whether it has been busy since
       its last pageout; whether the first (after boot) was done */
    uint64_t pageout_cpu_ticks;
    bool pageout_busy, pageout_first_done, pageout_held;
    /* cb.idle (hv.h): cfg.idle_ms; the idle ticks in a row since the last busy one; whether
       cb.idle was called since */
    unsigned idle_ms, idle_ticks;
    bool idle_reported;
    char helper_reason[512]; /* a helper's exit, reported if QEMU does not follow at once */
    char vsockd_line[64];
    size_t vsockd_line_len;
    unsigned long long qemu_spawn_ns;
    char shutdown_reason[32]; /* from the last SHUTDOWN / GUEST_PANICKED event */

    bool died_reported, free_requested;
    unsigned in_callback; /* depth of owner callbacks on the stack */
    struct hv_vsock_reqs vsock_reqs;
    const struct hv_events *events; /* hv.c's, for the process pieces */
};

bool hv_host_vhost_vsock_usable(void);

/* How the process pieces (qemu_proc.c, virtiofsd.c, vsock_backend.c) report to the VM's state
 * machine (hv.c): vm->events, set by hv_start, so that they never call up into hv.c. */
struct hv_events {
    /* a failure after hv_start() returned: report cb.died once, then tear down */
    void (*fail)(struct hv_vm *vm, const char *reason);
    /* a helper (not QEMU) process exited */
    void (*helper_exited)(struct hv_vm *vm, struct hv_proc *p, const char *what,
                          const siginfo_t *si);
    /* the helpers are up (cvm-vsockd printed READY): start QEMU */
    void (*helpers_ready)(struct hv_vm *vm);
    /* QMP negotiated / QEMU exited */
    void (*qmp_ready)(struct hv_vm *vm);
    void (*qemu_exited)(struct hv_vm *vm, const siginfo_t *si);
};
/* hv.c: the state machine's table, and hv_fail for the files above it (hv_start.c). */
extern const struct hv_events hv_vm_events;
void hv_fail(struct hv_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* qemu_fds.c: what QEMU inherits (qemu_argv.h), opened as root just before its spawn. */
struct hv_qemu_fds {
    int vfs, vsock, kernel, initrd;
    int tap[HV_MAX_NICS], vhost_net[HV_MAX_NICS];
};
void hv_qemu_fds_init(struct hv_qemu_fds *f);
int hv_qemu_fds_open(struct hv_vm *vm, bool vhost_net, struct hv_qemu_fds *f, struct cvm_err *err);
void hv_qemu_fds_close(struct hv_qemu_fds *f);

/* qemu_proc.c */
int hv_qemu_spawn(struct hv_vm *vm, struct cvm_err *err);
void hv_qemu_describe_death(struct hv_vm *vm, const siginfo_t *si, char *buf, size_t n);

/* qemu_pageout.c: QEMU's file mappings (its binary, libraries, the guest kernel and
 * initrd) are paged out (process_madvise MADV_PAGEOUT) HV_PAGEOUT_FIRST_MS after QMP ready,
 * and then each time QEMU goes idle after being busy: a tick of HV_IDLE_TICK_MS in which it
 * used under HV_IDLE_MAX_PERMILLE of a CPU, after one in which it used HV_BUSY_MIN_PERMILLE
 * or more.
 * hv_qemu_pageout_arm starts the ticks (at QMP ready). Failures are logged only: the pageout
 * is a hint that costs memory when missing, never correctness. */
void hv_qemu_pageout_arm(struct hv_vm *vm);
/* /proc/PID/maps into a malloc'd buffer (at most 1 MiB read: a hostile QEMU mapping more only
 * hides its own mappings from us). */
int hv_read_proc_maps(pid_t pid, char **ret, size_t *ret_len);
/* FIRST: by then QEMU copied the kernel into guest RAM (at reset, before QMP) and the guest
 * firmware read the initrd through fw_cfg (~0.1 s under TCG). An idle TCG guest's QEMU uses
 * ~1.6 % of a CPU (its timer ticks: 16 clock ticks in 10 s measured), up to 4 % in a 2 s
 * window; a container starting or an exec uses most of one. */
#define HV_PAGEOUT_FIRST_MS 2000
#define HV_IDLE_TICK_MS 2000
#define HV_IDLE_MAX_PERMILLE 50
#define HV_BUSY_MIN_PERMILLE 100
/* Effectful, synchronous (a bounded read of /proc/PID/maps and one syscall): returns the
 * bytes of address space advised, or -errno. */
int hv_qemu_pageout_files(struct hv_vm *vm);

/* virtiofsd.c */
int hv_virtiofsd_start(struct hv_vm *vm, struct cvm_err *err);

/* vsock_backend.c: cvm-vsockd (hybrid) */
int hv_vsockd_start(struct hv_vm *vm, struct cvm_err *err);
void hv_vsockd_done_waiting(struct hv_vm *vm);

/* vsock_cid.c: kernel-mode CID lease: lock file <dir>/<cid>, held for the VM's life. */
int hv_cid_acquire(const char *dir, uint32_t want, const char *seed, uint32_t *ret_cid,
                   int *ret_lock_fd);
void hv_cid_release(const char *dir, uint32_t cid, int lock_fd);

/* uid_lease.c: the sandbox uid lease (uid_range.h): flock on <dir>/<uid>, held for the VM's
 * life by us and by the children that inherit the fd. Release: close the fd. -EUSERS: every
 * uid of the range is taken. */
int hv_uid_acquire(const char *dir, uint32_t first, uint32_t last, const char *seed,
                   uint32_t *ret_uid, int *ret_lock_fd);

/* hv_vsock.c */
void hv_vsock_cancel_all(struct hv_vm *vm, int r);

/* hv_util.c */
int hv_check_sun_path(const char *path, size_t extra);
const char *hv_find_helper(const char *configured, const char *name, char *buf, size_t n);

#endif

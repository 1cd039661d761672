/* A sandbox's birth and end of life in memory: sandbox_new (run dir, share, netns, NICs, host
 * cgroup, hv_start with QEMU's callbacks) and sandbox_free. The rest of its life is in the files
 * beside this one (shim/README.md). */
#define LOG_MODULE "sandbox"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "fs_beneath.h"
#include "cgroup/host_cgroup.h"
#include "hv.h"
#include "log.h"
#include "loop.h"
#include "sandbox/idle_reclaim.h"
#include "sandbox/mounts.h"
#include "sandbox/pidfile.h"
#include "sandbox/sandbox_net.h"
#include "sandbox/sandbox_internal.h"
#include "sandbox/share.h"

static void hv_ready(struct hv_vm *vm, void *data)
{
    struct sandbox *sb = data;
    sb->qemu_pid = sb->task_pid = hv_qemu_pid(vm);
    (void)pidfile_write(sb->run_dir, "qemu.pid", sb->qemu_pid);
    pid_t vfsd = 0, vsockd = 0; /* the helpers' identities too, for `delete` */
    hv_helper_pids(vm, &vfsd, &vsockd);
    (void)pidfile_write(sb->run_dir, "virtiofsd.pid", vfsd),
        (void)pidfile_write(sb->run_dir, "vsockd.pid", vsockd);
    boot_phases_mark(&sb->phases, BOOT_QMP_READY, now_ns());
    log_info("VM %s: qemu pid %d, vsock %s", sb->id, (int)sb->qemu_pid,
             hv_vsock_mode_name(hv_vsock_mode(vm)));
    boot_watch_eval(sb); /* QEMU's spawn time is known now: arm the silent-console check */
    agent_try(sb);
}

static void hv_died(struct hv_vm *vm, const char *reason, void *data)
{
    (void)vm;
    vm_gone(data, reason);
    park_done(data);
}

/* A fresh network namespace for QEMU, bind-mounted at <run_dir>/netns, when the spec names
 * none (ctr run without --cni/--net-host); CRI always names one. */
static int make_netns(const char *path)
{
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    int r = 0;
    if (self < 0 || f < 0)
        return -errno;
    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
        r = -errno;
    if (setns(self, CLONE_NEWNET) < 0)
        r = r ? r : -errno;
    return r;
}

int sandbox_new(struct shim *s, struct loop *loop, const struct sandbox_owner *owner,
                const char *group, const char *run_dir, const struct cfg *cfg, const char *netns,
                struct host_cgroup *host_cg, struct sandbox **ret, struct cvm_err *err)
{
    struct sandbox *sb = calloc(1, sizeof(*sb));
    char netns_path[256];
    int cg_fds[HV_MAX_CGROUP_FDS];
    int r, n_cg = 0;

    if (!sb) {
        host_cgroup_remove(host_cg);
        return cvm_err_set(err, -ENOMEM, "out of memory");
    }
    sb->shim = s;
    sb->loop = loop;
    sb->owner = owner;
    sb->host_cg = host_cg;
    snprintf(sb->id, sizeof(sb->id), "%s", group);
    snprintf(sb->run_dir, sizeof(sb->run_dir), "%s", run_dir);
    snprintf(sb->vm_dir, sizeof(sb->vm_dir), "%s/vm", sb->run_dir);
    sb->cfg = *cfg;
    sb->netns_fd = -1;
    sb->holder_pidfd = -1;
    sb->share.mounts_fd = -1;
    TAILQ_INIT(&sb->containers);
    r = mkdir_p(sb->run_dir, 0700, 0700);
    if (r < 0) {
        cvm_err_set(err, r, "create %s: %s", sb->run_dir, strerror(-r));
        goto fail;
    }
    (void)pidfile_write(sb->run_dir, "shim.pid", getpid());
    r = share_open(&sb->share, sb->run_dir, err);
    if (r < 0)
        goto fail;
    if (!netns || !*netns) {
        snprintf(netns_path, sizeof(netns_path), "%s/netns", sb->run_dir);
        r = make_netns(netns_path);
        if (r < 0) {
            cvm_err_set(err, r, "create network namespace: %s", strerror(-r));
            goto fail;
        }
        netns = netns_path;
    }
    r = sandbox_net_open(sb, netns, err);
    if (r < 0)
        goto fail;
    r = loop_add_timer(loop, 0, retry_cb, sb, &sb->retry_timer);
    if (r == 0)
        r = loop_add_timer(loop, (uint64_t)sb->cfg.boot_deadline_ms * 1000ull + 1, boot_watch_cb,
                           sb, &sb->boot_watch);
    if (r < 0) {
        cvm_err_set(err, r, "timer");
        goto fail;
    }
    struct hv_config hc = {
        .id = sb->id,
        .run_dir = sb->vm_dir,
        .kernel = sb->cfg.kernel,
        .initrd = sb->cfg.initrd,
        .kernel_args = sb->cfg.kernel_args[0] ? sb->cfg.kernel_args : NULL,
        .qemu_bin = sb->cfg.qemu,
        .accel = sb->cfg.accel,
        .vcpus = sb->cfg.vcpus,
        .mem_mib = sb->cfg.memory_mib,
        .uid_first = sb->cfg.uid_first,
        .uid_last = sb->cfg.uid_last,
        .shared_dir = sb->share.shared,
        .fs_tag = AGENT_SHARE_TAG,
        .virtiofsd_bin = sb->cfg.virtiofsd[0] ? sb->cfg.virtiofsd : NULL,
        .vsock_mode = sb->cfg.vsock_mode,
        .vsockd_bin = sb->cfg.vsockd[0] ? sb->cfg.vsockd : NULL,
        .netns_path = netns,
        .nics = sb->nics,
        .n_nics = sb->n_nics,
        .boot_timeout_ms = sb->cfg.boot_deadline_ms,
        .debug = sb->cfg.debug,
        .tcg_icount = sb->cfg.tcg_icount,
        .tcg_cache_mib = sb->cfg.tcg_cache_mib,
        /* idle_reclaim.h: the reset's trim needs the cache as a memfd, and one vCPU */
        .tcg_trimmable =
            sb->cfg.tcg_trimmable || (sb->cfg.tcg_idle_reset_s > 0 && sb->cfg.vcpus == 1),
        .idle_ms = sb->cfg.tcg_idle_reset_s * 1000u,
    };
    if (sb->host_cg) { /* QEMU, virtiofsd and cvm-vsockd join it before they exec */
        n_cg = host_cgroup_procs_fds(sb->host_cg, cg_fds, ELEMENTSOF(cg_fds), err);
        if (n_cg < 0) {
            r = n_cg;
            goto fail;
        }
        hc.cgroup_procs_fds = cg_fds;
        hc.n_cgroup_procs_fds = (unsigned)n_cg;
        (void)host_cgroup_record(sb->host_cg, sb->run_dir); /* for `delete` after a crash */
    }
    struct hv_callbacks cb = {.ready = hv_ready,
                              .died = hv_died,
                              .stopped = hv_stopped,
                              .idle = sandbox_idle,
                              .data = sb};
    boot_phases_init(&sb->phases, now_ns());
    r = hv_start(loop, &hc, &cb, &sb->vm, err);
    while (n_cg > 0)
        safe_close(cg_fds[--n_cg]); /* hv keeps its own */
    if (r < 0)
        goto fail;
    sb->limits = boot_limits_for(sb->cfg.console_deadline_ms, sb->cfg.boot_deadline_ms,
                                 hv_accel(sb->vm)->kvm);
    sb->state = SB_BOOTING;
    *ret = sb;
    return 0;
fail:
    loop_source_free(sb->retry_timer);
    loop_source_free(sb->boot_watch);
    cleanup_files(sb);
    host_cgroup_remove_later(loop, sb->host_cg);
    free(sb);
    return r;
}

void sandbox_free(struct sandbox *sb)
{
    if (!sb)
        return;
    if (sb->owner && sb->owner->freeing)
        sb->owner->freeing(sb);
    loop_source_free(sb->retry_timer);
    loop_source_free(sb->boot_watch);
    loop_source_free(sb->heartbeat);
    hv_vsock_cancel(sb->agent_req);
    ttrpc_client_free(sb->agent);
    hv_free(sb->vm);
    sandbox_net_holder_kill(sb);
    /* at exit: the daemon finishes it (host_cgroup_remove_at_exit) once the VM's processes,
     * killed through their pidfds by hv_free, are reaped */
    host_cgroup_remove_later(sb->loop, sb->host_cg);
    sandbox_net_close(sb);
    free(sb);
}

int sandbox_rebase(struct sandbox *sb, const char *group, const char *run_dir)
{
    char old[sizeof(sb->run_dir)];
    int r;
    if (strlen(run_dir) >= sizeof(sb->run_dir))
        return -ENAMETOOLONG;
    snprintf(old, sizeof(old), "%s", sb->run_dir);
    snprintf(sb->run_dir, sizeof(sb->run_dir), "%s", run_dir);
    snprintf(sb->vm_dir, sizeof(sb->vm_dir), "%s/vm", sb->run_dir);
    snprintf(sb->id, sizeof(sb->id), "%s", group);
    r = share_rebase(&sb->share, run_dir);
    if (r == 0 && sb->vm)
        r = hv_rebase(sb->vm, old, run_dir);
    return r;
}

/* hv_start(): validate and copy the config, resolve defaults, start the helpers and QEMU. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "guest_image.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"
#include "qemu_argv.h"
#include "qemu_privs.h"
#include "uid_range.h"

#define CID_DIR_DEFAULT "/run/cvm/cid"
#define VSOCK_UDS_PORT_SUFFIX 11 /* "_4294967295" */

static int dup_str(char **dst, const char *src, const char *dflt)
{
    const char *s = src && *src ? src : dflt;
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -ENOMEM;
}

static char *path_in(const char *dir, const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static int validate(const struct hv_config *c, struct cvm_err *err)
{
    const char *strs[] = {c->id,          c->run_dir,       c->kernel,      c->initrd,
                          c->kernel_args, c->qemu_bin,      c->shared_dir,  c->fs_tag,
                          c->fs_cache,    c->virtiofsd_bin, c->vsockd_bin,  c->console_log,
                          c->netns_path,  c->cid_dir,       c->uid_lock_dir};
    for (size_t i = 0; i < ELEMENTSOF(strs); i++)
        if (has_ctl(strs[i]))
            return cvm_err_set(err, -EINVAL, "config value with control characters");
    if (!c->id || !*c->id || strlen(c->id) > 128)
        return cvm_err_set(err, -EINVAL, "sandbox id missing or longer than 128");
    if (!c->run_dir || c->run_dir[0] != '/')
        return cvm_err_set(err, -EINVAL, "run dir must be an absolute path");
    if (!c->kernel || !*c->kernel)
        return cvm_err_set(err, -EINVAL, "no guest kernel configured");
    if (c->shared_dir && (c->shared_dir[0] != '/' || strchr(c->shared_dir, ',')))
        return cvm_err_set(err, -EINVAL, "shared dir '%s' must be absolute, without ','",
                           c->shared_dir);
    if (c->fs_cache && strcmp(c->fs_cache, "auto") && strcmp(c->fs_cache, "always") &&
        strcmp(c->fs_cache, "none"))
        return cvm_err_set(err, -EINVAL, "virtiofs cache mode '%s' unknown", c->fs_cache);
    if (c->n_nics > HV_MAX_NICS || (c->n_nics && !c->nics))
        return cvm_err_set(err, -EINVAL, "%u NICs: at most %u", c->n_nics, HV_MAX_NICS);
    for (unsigned i = 0; i < c->n_nics; i++) {
        if (!qemu_valid_ifname(c->nics[i].tap))
            return cvm_err_set(err, -EINVAL, "NIC %u: tap name '%s' invalid", i,
                               c->nics[i].tap ? c->nics[i].tap : "");
        if (c->nics[i].mac && !qemu_valid_mac(c->nics[i].mac))
            return cvm_err_set(err, -EINVAL, "NIC %u: MAC '%s' invalid", i, c->nics[i].mac);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(c->nics[i].tap, c->nics[j].tap) == 0)
                return cvm_err_set(err, -EINVAL, "NIC %u: tap '%s' used twice", i, c->nics[i].tap);
    }
    if (c->n_cgroup_procs_fds > HV_MAX_CGROUP_FDS ||
        (c->n_cgroup_procs_fds && !c->cgroup_procs_fds))
        return cvm_err_set(err, -EINVAL, "%u cgroup fds: at most %u", c->n_cgroup_procs_fds,
                           HV_MAX_CGROUP_FDS);
    if ((unsigned)c->accel >= _HV_ACCEL_MAX)
        return cvm_err_set(err, -EINVAL, "accel %d unknown", (int)c->accel);
    if ((unsigned)c->vsock_mode >= _HV_VSOCK_MODE_MAX)
        return cvm_err_set(err, -EINVAL, "vsock mode %d unknown", (int)c->vsock_mode);
    if (c->guest_cid && (c->guest_cid < 3 || c->guest_cid == UINT32_MAX))
        return cvm_err_set(err, -EINVAL, "guest CID %u reserved", c->guest_cid);
    if ((c->uid_first || c->uid_last) &&
        (c->uid_first == 0 || c->uid_first > c->uid_last || c->uid_last == UINT32_MAX))
        return cvm_err_set(err, -EINVAL, "uid range %u-%u invalid", c->uid_first, c->uid_last);
    if (hv_check_sun_path(c->run_dir, strlen("/vsock/vsock.sock") + VSOCK_UDS_PORT_SUFFIX) < 0)
        return cvm_err_set(err, -ENAMETOOLONG, "run dir '%s' too long for unix sockets",
                           c->run_dir);
    return 0;
}

static int copy_config(struct hv_vm *vm, const struct hv_config *c)
{
    int r = 0;
    r |= dup_str(&vm->id, c->id, NULL);
    r |= dup_str(&vm->run_dir, c->run_dir, NULL);
    r |= dup_str(&vm->kernel, c->kernel, NULL);
    r |= dup_str(&vm->initrd, c->initrd, NULL);
    r |= dup_str(&vm->kernel_args, c->kernel_args, NULL);
    r |= dup_str(&vm->qemu_bin, c->qemu_bin, "qemu-system-x86_64");
    r |= dup_str(&vm->shared_dir, c->shared_dir, NULL);
    r |= dup_str(&vm->fs_tag, c->fs_tag, "cvmfs");
    r |= dup_str(&vm->fs_cache, c->fs_cache, "auto");
    r |= dup_str(&vm->virtiofsd_bin, c->virtiofsd_bin, NULL);
    r |= dup_str(&vm->vsockd_bin, c->vsockd_bin, NULL);
    r |= dup_str(&vm->netns_path, c->netns_path, NULL);
    vm->n_nics = c->n_nics;
    for (unsigned i = 0; i < c->n_nics; i++) {
        r |= dup_str(&vm->nic_tap[i], c->nics[i].tap, NULL);
        r |= dup_str(&vm->nic_mac[i], c->nics[i].mac, NULL);
        vm->nics[i] = (struct hv_nic){vm->nic_tap[i], vm->nic_mac[i]};
    }
    r |= dup_str(&vm->cid_dir, c->cid_dir, CID_DIR_DEFAULT);
    r |= dup_str(&vm->uid_lock_dir, c->uid_lock_dir, NULL);
    vm->uid_first = c->uid_first ? c->uid_first : UID_RANGE_DEFAULT_FIRST;
    vm->uid_last = c->uid_first ? c->uid_last : UID_RANGE_DEFAULT_LAST;
    for (unsigned i = 0; i < c->n_cgroup_procs_fds; i++) {
        int fd = fcntl(c->cgroup_procs_fds[i], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            return -errno;
        vm->cgroup_fds[vm->n_cgroup_fds++] = fd;
    }
    vm->own_console = !c->console_log || !*c->console_log;
    if (vm->own_console)
        vm->console_path = path_in(c->run_dir, "console.log");
    else
        r |= dup_str(&vm->console_path, c->console_log, NULL);
    vm->qmp_sock = path_in(c->run_dir, "qmp.sock");
    vm->vfs_sock = path_in(c->run_dir, "vfs.sock");
    vm->vsock_dir = path_in(c->run_dir, "vsock");
    vm->vsock_vu_sock = path_in(c->run_dir, "vsock/vsock-vu.sock");
    vm->vsock_uds = path_in(c->run_dir, "vsock/vsock.sock");
    if (r || !vm->console_path || !vm->qmp_sock || !vm->vfs_sock || !vm->vsock_dir ||
        !vm->vsock_vu_sock || !vm->vsock_uds)
        return -ENOMEM;
    vm->vcpus = c->vcpus ? c->vcpus : 1;
    vm->mem_mib = c->mem_mib ? c->mem_mib : 256;
    vm->boot_timeout_ms = c->boot_timeout_ms ? c->boot_timeout_ms : 30000;
    vm->stop_timeout_ms = c->stop_timeout_ms ? c->stop_timeout_ms : 5000;
    vm->debug = c->debug;
    vm->tcg_icount = c->tcg_icount;
    vm->tcg_cache_mib = c->tcg_cache_mib;
    vm->tcg_trimmable = c->tcg_trimmable;
    vm->idle_ms = c->idle_ms;
    vm->accel_want = c->accel;
    vm->console_max_kib = c->console_max_kib ? c->console_max_kib : 1024;
    return 0;
}

static int resolve_vsock(struct hv_vm *vm, const struct hv_config *c, struct cvm_err *err)
{
    int r;
    vm->mode = c->vsock_mode;
    if (vm->mode == HV_VSOCK_AUTO)
        vm->mode = hv_host_vhost_vsock_usable() ? HV_VSOCK_KERNEL : HV_VSOCK_HYBRID;
    if (vm->mode == HV_VSOCK_HYBRID) {
        vm->cid = c->guest_cid ? c->guest_cid : 3; /* private to this VM's backend */
        return 0;
    }
    r = hv_cid_acquire(vm->cid_dir, c->guest_cid, vm->id, &vm->cid, &vm->cid_lock_fd);
    if (r < 0)
        return cvm_err_set(err, r, "allocating a guest CID under '%s'", vm->cid_dir);
    return 0;
}

/* Fail hv_start() with a clear message rather than a QEMU death (or a silent guest) later. */
static int check_files(const struct hv_config *c, enum hv_vsock_mode mode, struct cvm_err *err)
{
    int r = guest_image_check(c->kernel, c->initrd, err);
    if (r < 0)
        return r;
    if (c->shared_dir && access(c->shared_dir, R_OK | X_OK) < 0)
        return cvm_err_set(err, -errno, "shared dir '%s'", c->shared_dir);
    if (c->netns_path && access(c->netns_path, R_OK) < 0)
        return cvm_err_set(err, -errno, "netns '%s'", c->netns_path);
    if (mode == HV_VSOCK_KERNEL && !hv_host_vhost_vsock_usable())
        return cvm_err_set(err, -ENODEV, "vsock mode kernel: /dev/vhost-vsock is not usable");
    return 0;
}

static int make_run_dir(struct hv_vm *vm, struct cvm_err *err)
{
    if (mkdir(vm->run_dir, 0700) == 0) {
        vm->made_run_dir = true;
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    return cvm_err_set(err, -errno, "creating run dir '%s'", vm->run_dir);
}

static void on_boot_timeout(struct loop_source *s, void *data)
{
    struct hv_vm *vm = data;
    (void)s;
    vm->boot_timer = loop_source_free(vm->boot_timer);
    hv_fail(vm, "VM not up within %u ms (%s)", vm->boot_timeout_ms,
            vm->state == HV_ST_HELPERS ? "waiting for cvm-vsockd" : "waiting for QMP");
}

/* KVM only when it can run our guest; the decision and its reason go to the log once. */
static int resolve_accel(struct hv_vm *vm, struct cvm_err *err)
{
    struct accel_facts f;
    accel_probe(&f);
    int r = accel_decide(vm->accel_want, &f, &vm->accel);
    if (r < 0)
        return cvm_err_set(err, r, "accel: %s", vm->accel.reason);
    log_info("accel %s: %s", vm->accel.kvm ? "kvm" : "tcg", vm->accel.reason);
    return 0;
}

/* The sandbox's uid (uid_lease.c), then QEMU's ids from it, and what QEMU opens itself with
 * them: the kernel and initrd (as /dev/fd/N reopens, qemu_argv.h) and, under KVM, /dev/kvm.
 * A failure names the file and the uid. Not root: no lease, QEMU keeps our ids. */
static int resolve_qemu_user(struct hv_vm *vm, struct cvm_err *err)
{
    const struct hv_proc_creds *c = &vm->qemu_creds;
    const struct {
        const char *what, *path;
        int flags;
        bool reopen;
    } need[] = {
        {"guest kernel", vm->kernel, O_RDONLY, true},
        {"initrd", vm->initrd, O_RDONLY, true},
        {"KVM device", vm->accel.kvm ? "/dev/kvm" : NULL, O_RDWR, false},
    };
    char who[256];
    int r;

    if (geteuid() == 0) {
        r = hv_uid_acquire(vm->uid_lock_dir, vm->uid_first, vm->uid_last, vm->id, &vm->uid,
                           &vm->uid_lock_fd);
        if (r < 0)
            return cvm_err_set(err, r, "leasing a sandbox uid from %u-%u (locks in '%s')%s",
                               vm->uid_first, vm->uid_last,
                               vm->uid_lock_dir ? vm->uid_lock_dir : "/run/cvm/uids",
                               r == -EUSERS ? ": every uid of the range is in use" : "");
    }
    r = qemu_privs_resolve(vm->uid, vm->accel.kvm, &vm->qemu_creds, who, sizeof(who), err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ELEMENTSOF(need); i++) {
        if (!need[i].path)
            continue;
        r = qemu_privs_check_open(c, need[i].path, need[i].flags, need[i].reopen);
        if (r < 0)
            return cvm_err_set(err, r, "%s '%s' cannot be opened by QEMU's user, %s: %s",
                               need[i].what, need[i].path, who, strerror(-r));
    }
    log_info("QEMU runs as %s, no capabilities, no_new_privs", who);
    return 0;
}

/* Hybrid vsock: <run_dir>/vsock is all cvm-vsockd sees (it pivots into it). root:<sandbox
 * gid> 0710: the sandbox uid may reach the sockets in it that let it (the guest's connects
 * to <vsock.sock>_<P>), but neither list nor create anything there. */
static int make_vsock_dir(struct hv_vm *vm, struct cvm_err *err)
{
    if (mkdir(vm->vsock_dir, 0700) == 0)
        vm->made_vsock_dir = true;
    else if (errno != EEXIST)
        return cvm_err_set(err, -errno, "creating '%s'", vm->vsock_dir);
    if (vm->uid && (chown(vm->vsock_dir, 0, (gid_t)vm->uid) < 0 || chmod(vm->vsock_dir, 0710) < 0))
        return cvm_err_set(err, -errno, "'%s': giving group %u access", vm->vsock_dir, vm->uid);
    return 0;
}

static int start_all(struct hv_vm *vm, const struct hv_config *c, struct cvm_err *err)
{
    int r = check_files(c, c->vsock_mode, err);
    if (r < 0 || (r = resolve_accel(vm, err)) < 0 || (r = resolve_qemu_user(vm, err)) < 0 ||
        (r = make_run_dir(vm, err)) < 0)
        return r;
    if ((r = resolve_vsock(vm, c, err)) < 0)
        return r;
    if (vm->shared_dir && (r = hv_virtiofsd_start(vm, err)) < 0)
        return r;
    r = loop_add_timer(vm->loop, (uint64_t)vm->boot_timeout_ms * 1000, on_boot_timeout, vm,
                       &vm->boot_timer);
    if (r < 0)
        return cvm_err_set(err, r, "boot timer");
    if (vm->mode == HV_VSOCK_HYBRID) {
        vm->state = HV_ST_HELPERS;
        if ((r = make_vsock_dir(vm, err)) < 0)
            return r;
        return hv_vsockd_start(vm, err);
    }
    vm->state = HV_ST_QEMU;
    return hv_qemu_spawn(vm, err);
}

int hv_start(struct loop *loop, const struct hv_config *cfg, const struct hv_callbacks *cb,
             struct hv_vm **ret, struct cvm_err *err)
{
    struct hv_vm *vm;
    int r = validate(cfg, err);
    if (r < 0)
        return r;
    vm = calloc(1, sizeof(*vm));
    if (!vm)
        return cvm_err_set(err, -ENOMEM, "hv_start");
    vm->loop = loop;
    vm->events = &hv_vm_events;
    vm->cb = *cb;
    vm->cid_lock_fd = -1;
    vm->uid_lock_fd = -1;
    vm->state = HV_ST_HELPERS;
    TAILQ_INIT(&vm->vsock_reqs);
    r = copy_config(vm, cfg);
    if (r < 0)
        cvm_err_set(err, r, "hv_start");
    else
        r = start_all(vm, cfg, err);
    if (r < 0) {
        cvm_err_prefix(err, "starting sandbox VM '%s'", cfg->id);
        hv_free(vm); /* kills whatever started (reaped on the loop), removes its files */
        return r;
    }
    log_info("sandbox VM starting (vsock %s, cid %u, run dir '%s')", hv_vsock_mode_name(vm->mode),
             vm->cid, vm->run_dir);
    *ret = vm;
    return 0;
}

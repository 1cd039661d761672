/* virtiofsd per sandbox: Debian's C virtiofsd (/usr/lib/qemu/virtiofsd, qemu-system-common)
 * serving the sandbox's shared dir.
 *
 * We bind and listen on <run_dir>/vfs.sock ourselves and hand the socket over as fd 3
 * (--fd=3): the socket exists before QEMU starts, so QEMU's connect never races virtiofsd's
 * start-up. virtiofsd keeps its default sandbox (mount/pid/net namespaces + pivot_root into the
 * shared dir), and exits by itself when QEMU disconnects; we stop it anyway at teardown.
 *
 * It stays root: it serves every file with its owner and mode, so it keeps what a file
 * server acting as root needs. QEMU 7.2's virtiofsd keeps (effective, permitted and bounding)
 * CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETGID, SETUID (per-request fsuid/fsgid), MKNOD and
 * SETFCAP, and installs its own seccomp filter. VIRTIOFSD_MODCAPS takes two of them away:
 * MKNOD (a guest could otherwise make a device node in the share, e.g. the host's disk, and
 * have virtiofsd open it on the host) and SETFCAP (file capabilities are xattrs, which we do
 * not enable). */
#define LOG_MODULE "hv"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fd.h"
#include "cleanup.h"
#include "errmap.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "log.h"

#define VIRTIOFSD_DEFAULT "/usr/lib/qemu/virtiofsd"
#define VIRTIOFSD_MODCAPS "-mknod:-setfcap"

static void on_exit_virtiofsd(struct hv_proc *p, const siginfo_t *si, void *data)
{
    struct hv_vm *vm = data;
    vm->events->helper_exited(vm, p, "virtiofsd", si);
}

int hv_virtiofsd_start(struct hv_vm *vm, struct cvm_err *err)
{
    _cleanup_close_ int lfd = -EBADF;
    char opts[4200];
    const char *bin = vm->virtiofsd_bin ? vm->virtiofsd_bin : VIRTIOFSD_DEFAULT;
    char *argv[] = {(char *)bin, "--fd=3", "-o", opts, NULL};
    struct hv_proc_fd fds[] = {{.src = -1, .target = 3}};
    struct hv_proc_opts o = {.name = "virtiofsd",
                             .argv = argv,
                             .fds = fds,
                             .n_fds = 1,
                             .netns_fd = -1,
                             .cgroup_fds = vm->cgroup_fds,
                             .n_cgroup_fds = vm->n_cgroup_fds};
    int r;

    /* fuse -o splits on ',': hv_start() rejects shared dirs containing one. */
    snprintf(opts, sizeof(opts), "source=%s,cache=%s,announce_submounts,log_level=%s,modcaps=%s",
             vm->shared_dir, vm->fs_cache, vm->debug ? "debug" : "warn", VIRTIOFSD_MODCAPS);
    r = lfd = unix_listen(vm->vfs_sock, 0);
    if (r < 0)
        return cvm_err_set(err, r, "virtiofsd socket '%s'", vm->vfs_sock);
    fds[0].src = lfd;
    r = hv_proc_spawn(vm->loop, &o, on_exit_virtiofsd, vm, &vm->virtiofsd);
    if (r < 0)
        return cvm_err_set(err, r, "starting %s", bin);
    log_debug("virtiofsd pid %d serving '%s'", (int)hv_proc_pid(vm->virtiofsd), vm->shared_dir);
    return 0;
}

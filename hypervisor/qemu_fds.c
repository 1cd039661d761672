/* Everything unprivileged QEMU inherits instead of opening (qemu_argv.h), opened here as
 * root just before the spawn; our copies are closed right after it, so QEMU is the last
 * holder: its taps vanish and virtiofsd/cvm-vsockd see their peer hang up when it exits.
 *
 * The taps are made inside the VM's netns (that is where /dev/net/tun binds a tap when it is
 * opened): this thread enters the netns and comes back; nothing else runs meanwhile. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv_internal.h"
#include "log.h"

void hv_qemu_fds_init(struct hv_qemu_fds *f)
{
    f->vfs = f->vsock = f->kernel = f->initrd = -1;
    for (unsigned i = 0; i < HV_MAX_NICS; i++)
        f->tap[i] = f->vhost_net[i] = -1;
}

void hv_qemu_fds_close(struct hv_qemu_fds *f)
{
    safe_close(f->vfs), safe_close(f->vsock), safe_close(f->kernel), safe_close(f->initrd);
    for (unsigned i = 0; i < HV_MAX_NICS; i++)
        safe_close(f->tap[i]), safe_close(f->vhost_net[i]);
    hv_qemu_fds_init(f);
}

static int open_tap(const char *name, int *ret_fd)
{
    _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    struct ifreq ifr = {0};
    if (fd < 0)
        return -errno;
    /* What QEMU asks for when it makes a tap itself (vnet_hdr=on by default: offloads). */
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return -errno;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int open_taps(struct hv_vm *vm, struct hv_qemu_fds *f, struct cvm_err *err)
{
    _cleanup_close_ int home = -EBADF, netns = -EBADF;
    int r = 0;
    unsigned i;

    if (vm->netns_path) {
        home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0)
            return cvm_err_set(err, -errno, "opening our own netns");
        netns = open(vm->netns_path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
            return cvm_err_set(err, -errno, "opening netns '%s'", vm->netns_path);
        if (setns(netns, CLONE_NEWNET) < 0)
            return cvm_err_set(err, -errno, "entering netns '%s'", vm->netns_path);
    }
    for (i = 0; i < vm->n_nics && r == 0; i++)
        r = open_tap(vm->nics[i].tap, &f->tap[i]);
    if (home >= 0 && setns(home, CLONE_NEWNET) < 0) {
        /* Going on in the sandbox's netns would misplace everything we do next. */
        log_error("cannot return to our own netns: %s", strerror(errno));
        abort();
    }
    if (r < 0)
        return cvm_err_set(err, r, "creating tap '%s'%s%s", vm->nics[i - 1].tap,
                           vm->netns_path ? " in netns " : "",
                           vm->netns_path ? vm->netns_path : "");
    return 0;
}

static int open_dev(const char *path, int *ret_fd, struct cvm_err *err)
{
    *ret_fd = open(path, O_RDWR | O_CLOEXEC);
    return *ret_fd < 0 ? cvm_err_set(err, -errno, "opening %s", path) : 0;
}

/* A connected, blocking stream to a vhost-user backend's listening socket (what QEMU's own
 * connect would have made); the backend accepts it as QEMU's. */
static int connect_backend(const char *path, const char *what, int *ret_fd, struct cvm_err *err)
{
    int r = unix_connect(path, 0);
    if (r >= 0) {
        *ret_fd = r;
        r = 0;
    }
    return r < 0 ? cvm_err_set(err, r, "connecting to %s at '%s'", what, path) : 0;
}

int hv_qemu_fds_open(struct hv_vm *vm, bool vhost_net, struct hv_qemu_fds *f, struct cvm_err *err)
{
    int r;

    f->kernel = open(vm->kernel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (f->kernel < 0)
        return cvm_err_set(err, -errno, "opening guest kernel '%s'", vm->kernel);
    if (vm->initrd && (f->initrd = open(vm->initrd, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return cvm_err_set(err, -errno, "opening initrd '%s'", vm->initrd);
    if (vm->shared_dir && (r = connect_backend(vm->vfs_sock, "virtiofsd", &f->vfs, err)) < 0)
        return r;
    if (vm->mode == HV_VSOCK_KERNEL)
        r = open_dev("/dev/vhost-vsock", &f->vsock, err);
    else
        r = connect_backend(vm->vsock_vu_sock, "cvm-vsockd", &f->vsock, err);
    if (r < 0)
        return r;
    for (unsigned i = 0; vhost_net && i < vm->n_nics; i++)
        if ((r = open_dev("/dev/vhost-net", &f->vhost_net[i], err)) < 0)
            return r;
    return open_taps(vm, f, err);
}

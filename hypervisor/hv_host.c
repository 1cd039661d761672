/* Effectful host probes: is kernel vhost-vsock / vhost-net usable, the host TSC rate.
 * (Whether KVM can be used is accel.c's decision.) */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cleanup.h"
#include "hv_internal.h"
#include "qemu_argv.h"

static bool dev_usable(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

bool hv_host_vhost_vsock_usable(void)
{
    return dev_usable("/dev/vhost-vsock");
}

int qemu_host_facts_probe(struct qemu_host_facts *h)
{
    _cleanup_close_ int fd = -EBADF;
    char text[16384];
    ssize_t n;

    h->kvm = false; /* set by the caller from accel_decide() */
    h->vhost_net = dev_usable("/dev/vhost-net");
    h->tsc_khz = 0;
    fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, text, sizeof(text) - 1); /* the first CPU's block fits */
    if (n < 0)
        return -errno;
    text[n] = '\0';
    /* No "cpu MHz" (some arches/VMs): leave 0; qemu_argv then omits tsc_early_khz. */
    (void)qemu_tsc_khz_from_cpuinfo(text, &h->tsc_khz);
    return 0;
}

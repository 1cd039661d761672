/* The QEMU command line as a pure function of a resolved VM spec and a few host facts.
 * Golden-tested (test/golden/<name>.args); nothing here touches the system. */
#ifndef CVM_QEMU_ARGV_H
#define CVM_QEMU_ARGV_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

/* The listening QMP socket is handed to QEMU as this fd number (libvirt does the same): the
 * socket exists before QEMU runs, so connecting never races QEMU's start. */
#define QEMU_QMP_FD 3
/* The guest serial console goes to one end of a socketpair handed over as this fd (see
 * console.c: the host side caps what it keeps). */
#define QEMU_CON_FD 4

struct qemu_host_facts {
    bool kvm;              /* accel_decide() chose KVM: -accel kvm -cpu host */
    unsigned long tsc_khz; /* host TSC rate, for the guest under TCG; 0: unknown */
    bool vhost_net;        /* /dev/vhost-net usable: the tap NIC gets vhost=on */
};

/* Everything the command line depends on, with defaults and paths already resolved. */
struct qemu_spec {
    const char *name;        /* -name */
    const char *qemu_bin;
    const char *kernel;
    const char *initrd;      /* NULL: none */
    const char *kernel_args; /* extra, appended; NULL: none */
    unsigned vcpus;
    unsigned mem_mib;
    const char *vfs_socket; /* virtiofsd's vhost-user socket; NULL: no virtiofs */
    const char *fs_tag;
    enum hv_vsock_mode vsock_mode; /* KERNEL or HYBRID (resolved) */
    uint32_t guest_cid;            /* kernel mode */
    const char *vsock_socket;      /* hybrid: cvm-vsockd's vhost-user socket */
    const struct hv_nic *nics;     /* virtio-net NICs, in guest PCI order */
    unsigned n_nics;               /* 0..HV_MAX_NICS */
};

/* Build a NULL-terminated argv (argv[0] = qemu_bin). -EINVAL on a spec QEMU cannot take
 * (missing kernel, zero sizes, control characters in a value), -ENOMEM. */
int qemu_argv_build(const struct qemu_spec *s, const struct qemu_host_facts *h, char ***ret);
void qemu_argv_free(char **argv); /* accepts NULL */

/* PURE: the kernel command line that qemu_argv_build passes to -append. Caller frees. */
int qemu_kernel_cmdline(const struct qemu_spec *s, const struct qemu_host_facts *h, char **ret);

/* PURE: a tap interface name the kernel and QEMU accept (1-15 chars, [A-Za-z0-9_.-]). */
bool qemu_valid_ifname(const char *s);
/* PURE: "xx:xx:xx:xx:xx:xx", hex, unicast. */
bool qemu_valid_mac(const char *s);

/* PURE: the first "cpu MHz : <x>" of a /proc/cpuinfo text, in kHz (rounded). -ENOENT/-EINVAL. */
int qemu_tsc_khz_from_cpuinfo(const char *text, unsigned long *ret_khz);

/* Effectful: probe /dev/vhost-net and /proc/cpuinfo (kvm is left false: see accel.h). */
int qemu_host_facts_probe(struct qemu_host_facts *h);

#endif

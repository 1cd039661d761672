/* The QEMU command line as a pure function of a resolved VM spec and a few host facts.
 * Golden-tested (test/golden/<name>.args); nothing here touches the system. */
#ifndef CVM_QEMU_ARGV_H
#define CVM_QEMU_ARGV_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

/* QEMU runs unprivileged (qemu_privs.h) and opens almost nothing itself: everything below is
 * opened by us and inherited at these fd numbers.
 *  QMP       the listening socket (libvirt does the same): it exists before QEMU runs, so
 *            connecting never races QEMU's start.
 *  CON       one end of a socketpair carrying the guest serial console (console.c caps what
 *            the host side keeps).
 *  VFS       a socket connected to virtiofsd's vhost-user socket.
 *  VSOCK     hybrid: a socket connected to cvm-vsockd's vhost-user socket; kernel: an open
 *            /dev/vhost-vsock (vhostfd=).
 *  KERNEL,   the guest kernel and initrd, read by QEMU as /dev/fd/N: a reopen that checks
 *  INITRD    only the file's own mode, not the directories on its path.
 *  TAP(i)    NIC i's tap (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, named nics[i].tap, made in QEMU's
 *            netns); it goes away when QEMU, its last holder, exits.
 *  VHOST(i)  an open /dev/vhost-net for NIC i, when the host has one. */
#define QEMU_QMP_FD 3
#define QEMU_CON_FD 4
#define QEMU_VFS_FD 5
#define QEMU_VSOCK_FD 6
#define QEMU_KERNEL_FD 7
#define QEMU_INITRD_FD 8
#define QEMU_TAP_FD(i) (9 + (int)(i))
#define QEMU_VHOST_NET_FD(i) (9 + HV_MAX_NICS + (int)(i))
#define QEMU_MAX_FD QEMU_VHOST_NET_FD(HV_MAX_NICS - 1)
/* Not on the command line: the sandbox's uid lease (uid_lease.c), which QEMU only holds, so
 * the uid stays taken while QEMU lives, even past a crash of its shim. */
#define QEMU_UID_LOCK_FD (QEMU_MAX_FD + 1)

/* TCG's translation cache, MiB. QEMU reserves 1 GiB by default, and what it touches is host
 * memory of ours: measured here (our kernel to agent ready, 1 vCPU, QEMU alone, 2 runs each):
 * 1024 -> 125 MB QEMU PSS, ready at 640-700 ms; 32 -> 125 MB, 680-750 ms; 16 -> 113 MB,
 * 700 ms; 8 -> 103 MB, 790-870 ms; 4 -> 98 MB, 1020 ms. 16 keeps the boot time and saves
 * 13 MB; a fuller cache is flushed and refilled (retranslation) under heavy guest work.
 * Issue 21 measured 8 again: it saves 8 MiB per idle sandbox (an idle guest fills any size
 * up to 16 with boot code) but doubles the exec round trip (A/B in one run, same build, 9
 * execs x 2 each: 16 -> 0.13-0.14 s median, 8 -> 0.28-0.31 s; stdout 136-151 vs 132-138
 * MiB/s). It stays 16: instead an idle VM's cache is emptied and its dead part given back
 * (shim/sandbox/idle_reclaim.h, config tcg_idle_reset_s), leaving ~6 MiB of it. A warm pool's
 * VMs get more (config pool.tcg_cache_mib, default 32): the boot's code is dropped before
 * their rehearsal (shim/sandbox/code_cache_reset.h), and a pod's start then needs ~22 MiB of
 * it without a flush. */
#define QEMU_TCG_TB_MIB 16

struct qemu_host_facts {
    bool kvm;              /* accel_decide() chose KVM: -accel kvm -cpu host */
    unsigned long tsc_khz; /* host TSC rate, for the guest under TCG; 0: unknown */
    bool vhost_net;        /* /dev/vhost-net usable: each NIC gets vhost=on, vhostfd=VHOST(i) */
};

/* Everything the command line depends on, with defaults and paths already resolved. */
struct qemu_spec {
    const char *name; /* -name */
    const char *qemu_bin;
    const char *run_dir;     /* named in argv only (an inert label: see qemu_argv.c) */
    bool initrd;             /* INITRD fd given (the kernel always is) */
    const char *kernel_args; /* extra, appended; NULL: none */
    unsigned vcpus;
    unsigned mem_mib;
    bool virtiofs; /* VFS fd given: a vhost-user-fs device with tag fs_tag */
    const char *fs_tag;
    enum hv_vsock_mode vsock_mode; /* KERNEL or HYBRID (resolved): VSOCK fd given */
    uint32_t guest_cid;            /* kernel mode */
    const struct hv_nic *nics;     /* virtio-net NICs, in guest PCI order: TAP(i) fds given */
    unsigned n_nics;               /* 0..HV_MAX_NICS */
    unsigned tcg_cache_mib;        /* TCG only: -accel tcg,tb-size=; 0: QEMU_TCG_TB_MIB */
    bool tcg_split_wx;             /* TCG only: split-wx=on, the cache a memfd (tcg_trim.c) */
    bool icount;                   /* TCG only: -icount shift=0,sleep=off, a benchmark knob:
                                      guest time follows the instruction count (1 ns each), so
                                      guest-side boot phases repeat run to run; it is slower
                                      and single-threaded */
};

/* Build a NULL-terminated argv (argv[0] = qemu_bin). -EINVAL on a spec QEMU cannot take
 * (missing run dir, zero sizes, control characters in a value), -ENOMEM. */
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

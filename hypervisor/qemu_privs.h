/* Who QEMU runs as. QEMU never runs as root: it runs as its sandbox's own uid (leased from
 * the configured uid_range for the VM's life, uid_range.h / uid_lease.c), with the same
 * number as gid, the kvm group only when the VM uses KVM (QEMU 7.2 opens /dev/kvm itself and
 * cannot be handed it), no other group, no capabilities (bounding set included),
 * no_new_privs, plus its own -sandbox filter. Everything it needs that an unprivileged
 * process cannot open is opened by us and inherited (qemu_argv.h: QMP, console, vhost-user
 * sockets, taps, /dev/vhost-net, /dev/vhost-vsock, kernel and initrd).
 *
 * A shim that is not root cannot switch: QEMU keeps the shim's ids, and still loses every
 * capability and gets no_new_privs. */
#ifndef CVM_QEMU_PRIVS_H
#define CVM_QEMU_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hv_proc.h"

struct cvm_err;

/* What qemu_privs_plan() decides from; qemu_privs_resolve() fills it from the system. */
struct qemu_privs_facts {
    bool root;      /* geteuid() == 0 */
    uid_t self_uid; /* geteuid() */
    uid_t uid;      /* the sandbox's leased uid (also its gid) */
    bool kvm;       /* the VM uses KVM: /dev/kvm via the kvm group */
    bool kvm_group_found;
    gid_t kvm_gid;
};

/* PURE: the decision above. 0 with *ret filled and a one-line description in why
 * ("sandbox uid 1000000007 (gid 1000000007), group kvm (107)"), or -errno with the reason. */
int qemu_privs_plan(const struct qemu_privs_facts *f, struct hv_proc_creds *ret, char *why,
                    size_t n);

/* Effectful: look up the kvm group, then plan for the sandbox's uid. */
int qemu_privs_resolve(uid_t uid, bool kvm, struct hv_proc_creds *ret, char *why, size_t n,
                       struct cvm_err *err);

/* Effectful: can a process with c's ids open path (O_RDONLY or O_RDWR in flags)? A forked
 * child takes c's ids and tries. With reopen set the file is opened here (as root) and the
 * child reopens /proc/self/fd/N, as QEMU does with the /dev/fd/N paths it is given (only the
 * file's own permissions count, not its directories'). 0 or the child's -errno. */
int qemu_privs_check_open(const struct hv_proc_creds *c, const char *path, int flags, bool reopen);

#endif

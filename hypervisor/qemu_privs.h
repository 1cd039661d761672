/* Who QEMU runs as. QEMU never runs as root: it gets its own unprivileged uid/gid, the kvm
 * group only when the VM uses KVM, no capabilities (bounding set included), no_new_privs,
 * plus its own -sandbox filter. Everything it needs that an unprivileged process cannot
 * open is opened by us and inherited (qemu_argv.h: QMP, console, vhost-user sockets, taps,
 * /dev/vhost-net, /dev/vhost-vsock, kernel and initrd); it opens only /dev/kvm itself.
 *
 * The identity (hv_config.qemu_user):
 *   "" / NULL     the system user "cvm" (make install / make setup create it); when there is
 *                 no such user, the fixed ids QEMU_FALLBACK_UID:QEMU_FALLBACK_GID, unless that
 *                 uid belongs to another user (then the start fails: create cvm)
 *   NAME          that user (its uid and primary group); it must exist
 *   UID:GID       those numbers, no lookup
 * uid 0 and gid 0 are refused. A shim that is not root cannot switch: QEMU keeps the shim's
 * ids (an explicit qemu_user other than our own uid then fails), and still loses every
 * capability and gets no_new_privs. */
#ifndef CVM_QEMU_PRIVS_H
#define CVM_QEMU_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hv_proc.h"

struct cvm_err;

#define QEMU_USER_DEFAULT "cvm"
/* Debian reserves 65000-65533 (base-passwd: never allocated), 65534 is nobody: a number no
 * package or administrator hands out, for a build tree where the cvm user was never made. */
#define QEMU_FALLBACK_UID 65533
#define QEMU_FALLBACK_GID 65533
#define QEMU_USER_MAX 64

/* What qemu_privs_plan() decides from; qemu_privs_resolve() fills it from the system. */
struct qemu_privs_facts {
    const char *user;         /* configured qemu_user; NULL/"": QEMU_USER_DEFAULT */
    bool root;                /* geteuid() == 0 */
    uid_t self_uid;           /* geteuid() */
    bool user_found;          /* the user (or "cvm") exists, or UID:GID was given */
    uid_t user_uid;
    gid_t user_gid;
    bool fallback_uid_taken;  /* QEMU_FALLBACK_UID has a passwd entry */
    bool kvm;                 /* the VM uses KVM: /dev/kvm via the kvm group */
    bool kvm_group_found;
    gid_t kvm_gid;
};

/* PURE: "UID:GID" (decimal, each < 2^32-1) -> 0; -EINVAL for anything else (a user name). */
int qemu_privs_parse_ids(const char *s, uid_t *ret_uid, gid_t *ret_gid);

/* PURE: the decision table above. 0 with *ret filled and a one-line description in why
 * ("user cvm (uid 999, gid 999), groups: kvm (107)"), or -errno with the reason in why. */
int qemu_privs_plan(const struct qemu_privs_facts *f, struct hv_proc_creds *ret, char *why,
                    size_t n);

/* Effectful: look up user and the kvm group, then plan. */
int qemu_privs_resolve(const char *user, bool kvm, struct hv_proc_creds *ret, char *why, size_t n,
                       struct cvm_err *err);

/* Effectful: can a process with c's ids open path (O_RDONLY or O_RDWR in flags)? A forked
 * child takes c's ids and tries. With reopen set the file is opened here (as root) and the
 * child reopens /proc/self/fd/N, as QEMU does with the /dev/fd/N paths it is given (only the
 * file's own permissions count, not its directories'). 0 or the child's -errno. */
int qemu_privs_check_open(const struct hv_proc_creds *c, const char *path, int flags, bool reopen);

#endif

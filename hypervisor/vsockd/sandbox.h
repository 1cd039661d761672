/* Least privilege for cvm-vsockd.
 *
 * sandbox_enter_root(): started as root with --root DIR, before anything is bound: a private
 * mount namespace whose only mount is DIR (bound onto itself, nosuid/nodev/noexec) as "/"
 * (pivot_root, the old root detached). The process can then name no path outside DIR: not
 * containerd's socket, not another sandbox's, not /proc.
 *
 * sandbox_enter(): once its sockets exist: become ids->uid/gid with no supplementary group
 * (when set_ids), no capabilities (effective, permitted, inheritable, ambient, bounding),
 * no_new_privs, PR_SET_PDEATHSIG(SIGKILL) again (a credential change clears it), and a
 * seccomp allowlist of what the event loop, the vhost-user session and unix-socket
 * forwarding need. */
#ifndef CVM_VSOCKD_SANDBOX_H
#define CVM_VSOCKD_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

struct sandbox_ids {
    bool set_ids;
    uid_t uid;
    gid_t gid;
    pid_t parent; /* getppid() at start: still our parent after the switch, or we exit */
};

int sandbox_enter_root(const char *dir);
int sandbox_enter(const struct sandbox_ids *ids);

#endif

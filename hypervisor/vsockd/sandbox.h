/* Least privilege for cvm-vsockd once its sockets exist: no capabilities (effective,
 * permitted, inheritable, ambient, bounding), no_new_privs, and a seccomp allowlist of what
 * the event loop, the vhost-user session and unix-socket forwarding need. */
#ifndef CVM_VSOCKD_SANDBOX_H
#define CVM_VSOCKD_SANDBOX_H

int sandbox_enter(void);

#endif

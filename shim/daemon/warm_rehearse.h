/* A warm VM rehearses a container before it is offered (README "Warm VM pool").
 *
 * Under TCG a guest runs code it has not run before many times slower (QEMU translates it
 * first), and a fresh VM has run none of the container path: the agent's spec parser, the
 * share's mount, cgroup, namespace and mount set-up. A claimed VM's first container paid all
 * of that inside the sandbox's start. So a warm shim, once its VM is ready and before it
 * answers claims, has the agent create one throwaway container (a tmpfs rootfs of its own in
 * the share, the shape of containerd's default spec) and remove it; its process is never
 * started. It doubles as a health check: a VM that cannot create a container is not offered.
 * What it leaves in the guest is what any removed container leaves: the share mounted, the
 * page cache; in the host tree nothing (its directory goes with it). */
#ifndef CVM_SHIM_WARM_REHEARSE_H
#define CVM_SHIM_WARM_REHEARSE_H

struct sandbox;

/* The container's id in the guest while the rehearsal runs. */
#define WARM_REHEARSAL_ID "cvm-pool-rehearsal"

/* r: 0 when the container was created and removed; -ECANCELED when the sandbox went meanwhile
 * (nothing of it may be touched then); other -errno with msg when a step failed. */
typedef void (*warm_rehearsed_fn)(struct sandbox *sb, int r, const char *msg, void *data);

/* Start the rehearsal on the ready sandbox sb; done is called once, from the loop, unless this
 * returns -errno (nothing started, nothing left). */
int warm_rehearse(struct sandbox *sb, warm_rehearsed_fn done, void *data);

#endif

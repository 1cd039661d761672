/* The sandbox's network (sandbox_net.c): open the netns and size the VM's NICs (at sandbox_new);
 * bring every new interface of the netns into the guest, cb(sb, 0 or -errno, msg, data) when
 * done (never from inside the call); undo the host-side plumbing (at stop). */
#ifndef CVM_SHIM_SANDBOX_NET_H
#define CVM_SHIM_SANDBOX_NET_H

#include "errmap.h"

struct sandbox;

int sandbox_net_open(struct sandbox *sb, const char *netns_path, struct cvm_err *err);
void sandbox_net_sync(struct sandbox *sb, void (*cb)(struct sandbox *, int, const char *, void *),
                      void *data);
void sandbox_net_close(struct sandbox *sb);
/* netns_adopt.c: a claimed pooled VM's taps move into netns_path (a sandbox netns made before
 * the claim: CRI's), and the task pid becomes a holder process living there. */
int sandbox_net_adopt(struct sandbox *sb, const char *netns_path, struct cvm_err *err);
void sandbox_net_holder_kill(struct sandbox *sb);

#endif

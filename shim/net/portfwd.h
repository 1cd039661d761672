/* Port forwarding into a pod VM (config/README.md "Port forwarding").
 *
 * containerd's CRI PortForward enters the pod netns on the host and dials 127.0.0.1:<port>
 * (tcp4). In a cvm pod nothing listens there: the pod's processes are in the guest. So the shim
 * keeps one listener in the pod netns, steers every TCP connection to 127.0.0.1:* there to it
 * (portfwd_steer.c, BPF sk_lookup), and carries each accepted connection over its own vsock
 * stream (AGENT_PORTFWD_PORT, header in proto/portfwd_wire.h) to the agent, which dials
 * 127.0.0.1:<port> in the pod's network namespace in the guest and relays both ways. */
#ifndef CVM_SHIM_PORTFWD_H
#define CVM_SHIM_PORTFWD_H

#include "errmap.h"

struct loop;
struct hv_vm;
struct portfwd;

/* Attach a BPF sk_lookup program to netns_fd steering TCP to 127.0.0.1:* onto listen_fd
 * (a listening TCP socket of that netns). Returns the link fd (closing it detaches). */
int portfwd_steer_attach(int netns_fd, int listen_fd, struct cvm_err *err);

/* Start forwarding for a pod sandbox whose netns is netns_fd: a listener there, the steering,
 * and a relay per connection through vm_of(data) (NULL while the VM is not running: the
 * connection is closed). */
int portfwd_start(struct loop *l, int netns_fd, const char *id, struct hv_vm *(*vm_of)(void *),
                  void *data, struct portfwd **ret, struct cvm_err *err);
/* Stop: detach the steering, close the listener and every relay. Accepts NULL. */
void portfwd_stop(struct portfwd *pf);

#endif

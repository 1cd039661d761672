/* The guest side of port forwarding (config/README.md "Port forwarding"): each stream accepted
 * on AGENT_PORTFWD_PORT carries one TCP connection. The shim's request header names the port;
 * the agent dials 127.0.0.1:<port> in its own network namespace (the pod's: every container of
 * the VM shares it), answers with a reply header (0 or the dial's errno) and relays both ways.
 * Everything the shim sends is bounded: an 8-byte header within PORTFWD_HEAD_TIMEOUT_MS, at
 * most PORTFWD_MAX_CONNS connections at once (more wait in the backlog). */
#ifndef CVM_AGENT_PORTFWD_H
#define CVM_AGENT_PORTFWD_H

struct loop;
struct portfwd_server;

/* Serve listen_fd (a listening stream socket: vsock in the guest, unix in tests; taken). */
int portfwd_serve(struct loop *l, int listen_fd, struct portfwd_server **ret);
/* The number of connections being set up or relayed (tests). */
unsigned portfwd_active(const struct portfwd_server *s);
void portfwd_server_free(struct portfwd_server *s); /* closes everything; accepts NULL */

#endif

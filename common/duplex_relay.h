/* Both directions between two connected, non-blocking stream sockets (TCP, vsock, unix) on the
 * loop: the port-forward relay of the shim and of the agent.
 *
 * - Bounded: one fixed buffer per direction; while it is full, reading from its source stops
 *   (backpressure reaches the peer through the socket's own window).
 * - Half-close: EOF read on one side becomes shutdown(SHUT_WR) of the other once its buffered
 *   bytes are written; the relay is finished when both directions are.
 * - A side that hangs up completely (EPOLLHUP: the peer closed) is drained and dropped; the
 *   relay ends once what it sent is delivered. A socket error or a failed write ends it at once.
 * - Optional head: the first n bytes read from side B go to a callback instead of side A
 *   (a protocol header), and bytes can be queued to B before anything from A (our header). */
#ifndef CVM_DUPLEX_RELAY_H
#define CVM_DUPLEX_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct duplex_relay;

/* r = 0: both directions finished; < 0: aborted (-errno, -EPROTO for a short or rejected
 * head). Called once, never from inside duplex_relay_new(); free the relay from here or later. */
typedef void (*duplex_done_fn)(struct duplex_relay *r, int status, void *data);
/* The head from side B: return 0 to go on relaying, < 0 to end the relay with that status. */
typedef int (*duplex_head_fn)(const uint8_t *p, size_t n, void *data);

/* Takes fd_a and fd_b on success (closed by duplex_relay_free); on failure they stay the
 * caller's. bufsz: bytes per direction (> 0). */
int duplex_relay_new(struct loop *l, int fd_a, int fd_b, size_t bufsz, duplex_done_fn done,
                     void *data, struct duplex_relay **ret);
/* Before the first loop iteration: queue n bytes to B ahead of A's data (n <= bufsz). */
int duplex_relay_send_b(struct duplex_relay *r, const void *p, size_t n);
/* Before the first loop iteration: hand the first n (<= 64) bytes from B to head. */
int duplex_relay_expect_b(struct duplex_relay *r, size_t n, duplex_head_fn head);
/* Bytes written a->b (dir 0, with what send_b queued) and b->a (dir 1, without B's head). */
uint64_t duplex_relay_bytes(const struct duplex_relay *r, int dir);
/* The relay's fd of side 0 (A) or 1 (B), e.g. for socket options before it is freed. */
int duplex_relay_fd(const struct duplex_relay *r, int side);
void duplex_relay_free(struct duplex_relay *r); /* closes both fds; accepts NULL; no callback */

#endif

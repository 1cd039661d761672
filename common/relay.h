/* One direction of a byte stream on the loop: copy src -> sink through a fixed buffer. The one
 * relay engine of the project: the shim's stdio (containerd's FIFOs <-> the agent's vsock
 * streams), the agent's stdio (the process's pipes or pty <-> vsock) and port forwarding (two of
 * them back to back: duplex_relay.h).
 *
 * - Bounded: one buffer of bufsz bytes; while it is full the source is not read (backpressure
 *   reaches the writer through its pipe or socket), and the sink is polled only while bytes wait.
 * - Done once the source reached EOF and every byte was written: done(r, 0). With
 *   RELAY_SHUT_SINK the sink's write side is shut first (a socket's half-close).
 * - A sink that breaks (EPIPE, EPOLLERR/HUP) is drained and discarded by default, so the writer
 *   of the source never blocks (stdio); with RELAY_ABORT_ON_ERROR a read or write error ends
 *   the relay at once with done(r, -errno) (port forwarding).
 * - An fd without interest leaves epoll (a hung-up pipe or socket reports EPOLLHUP whatever the
 *   interest, and would wake the loop on every wait).
 * - Bounded work per wakeup (16 read/write rounds), so one busy stream cannot starve the loop. */
#ifndef CVM_RELAY_H
#define CVM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct relay;

enum {
    RELAY_OWN_SRC = 1 << 0,        /* close src when freed */
    RELAY_OWN_SINK = 1 << 1,       /* close sink when freed */
    RELAY_SHUT_SINK = 1 << 2,      /* shutdown(sink, SHUT_WR) when done (sockets) */
    RELAY_FIFO_SRC = 1 << 3,       /* src is a FIFO: read() == 0 is EOF only with EPOLLHUP, i.e.
                                     after a writer came and went (spec §3.5) */
    RELAY_TTY_BATCH = 1 << 4,      /* src is a pty master: after a short read, leave it for
                                     RELAY_TTY_BATCH_US so the line discipline's output collects */
    RELAY_ABORT_ON_ERROR = 1 << 5, /* a read or write error ends the relay: done(r, -errno) */
};

/* A pty master hands over what its line discipline moved so far: with OPOST/ONLCR a line at a
 * time. A read of less than half its 4 KiB buffer means the writer is still producing; pausing
 * 2 ms then reads in big chunks (under TCG: 16,883 reads for 1 MiB of 64-byte lines, 6.3 s,
 * against 429 reads, 0.8 s; 1 ms pauses read 670 times, 3 ms is no faster than 2 ms). The first
 * bytes of a burst go out at once, so echo and prompts are not delayed. */
#define RELAY_TTY_SHORT_READ 2048
#define RELAY_TTY_BATCH_US 2000u

/* What the relay tells its owner; only done is required. None is called from inside relay_new.
 * done: status 0 when src reached EOF and everything was written; < 0 when it ended early
 *   (-errno of the error with RELAY_ABORT_ON_ERROR, -ECANCELED from relay_end, -ETIMEDOUT from
 *   the idle limit). Called once; the relay may be freed from it.
 * input: bytes were read while the sink is held (relay_hold_sink); it may take the head and
 *   release the sink; it returns 0, or < 0 to end the relay with that status.
 * sink_broken: the sink hung up or failed; from now on the source is drained and discarded.
 * src_hangup: the source hung up both ways (EPOLLHUP: its peer closed, not only its write side);
 *   called before the bytes it left are read. */
struct relay_cb {
    void (*done)(struct relay *r, int status, void *data);
    int (*input)(struct relay *r, void *data);
    void (*sink_broken)(struct relay *r, void *data);
    void (*src_hangup)(struct relay *r, void *data);
    void *data;
};

/* src and sink must be non-blocking, except a regular-file sink (written synchronously). cb is
 * copied. */
int relay_new(struct loop *l, int src, int sink, size_t bufsz, unsigned flags,
              const struct relay_cb *cb, struct relay **ret);
void relay_free(struct relay *r); /* accepts NULL; never calls done */
/* Treat src as finished now: read what is already available, then finish after draining
 * (CloseIO). */
void relay_close_src(struct relay *r);
/* End now: what is buffered or unread is dropped; done(r, -ECANCELED) (unless done already). */
void relay_end(struct relay *r);
/* From now on, end with -ETIMEDOUT once nothing moved for usec (a source whose writer left a
 * descendant holding it open). 0 disarms. */
int relay_idle_limit(struct relay *r, uint64_t usec);
/* Queue n bytes for the sink ahead of anything read (before anything was read: -EBUSY after). */
int relay_prepend(struct relay *r, const void *p, size_t n);
/* Hold the sink until relay_release_sink: bytes are read and buffered, none written. */
void relay_hold_sink(struct relay *r);
/* The sink's reader is known to be gone (e.g. its socket's peer hung up): discard from now on. */
void relay_sink_gone(struct relay *r);
void relay_release_sink(struct relay *r);
/* Take n bytes from the head of the buffer (they are not written): 0, or -EAGAIN when fewer
 * than n are buffered. */
int relay_take_head(struct relay *r, void *p, size_t n);

/* A snapshot of where the relay stands: what the owner asks (is it done, did it stall) and what
 * tests and logs count. One call, so a new counter is one field, not one more accessor. */
struct relay_status {
    bool done;
    bool sink_broken;
    bool src_eof;
    bool src_paused; /* not reading because the buffer is full */
    uint64_t bytes_in, bytes_out, bytes_dropped, reads;
    size_t buffered;
};
struct relay_status relay_status(const struct relay *r);
int relay_src_fd(const struct relay *r);
int relay_sink_fd(const struct relay *r);

#endif

/* One process's stdio between containerd (FIFOs, file://, binary:// loggers) and the agent's
 * vsock streams: open, attach, relay, close. */
#ifndef CVM_SHIM_PROC_IO_H
#define CVM_SHIM_PROC_IO_H

#include <stdbool.h>
#include <sys/types.h>

#include "errmap.h"

struct loop_source;
struct relay;
struct stream_attach;
struct logger_wait;
struct proc;

enum { STREAM_STDIN, STREAM_STDOUT, STREAM_STDERR, _STREAM_MAX };

/* The containerd side and the agent side of one process's stdio. */
struct proc_io {
    char path[_STREAM_MAX][4096]; /* as given by containerd ("" = not connected) */
    bool terminal;
    bool want[_STREAM_MAX];   /* streams attached to the agent */
    int host_fd[_STREAM_MAX]; /* containerd side: stdin source / stdout, stderr sinks */
    bool host_shared_out_err; /* file:// or binary://: one sink for both streams */
    struct relay *relay[_STREAM_MAX];
    struct stream_attach *attach[_STREAM_MAX];
    pid_t logger_pid; /* binary:// logger */
    struct loop_source *logger_w;
    int logger_ready_fd; /* the logger closes its end (fd 5) when ready */
    struct logger_wait *logger_wait;
    void (*drained)(struct proc *p); /* proc_io_init's: both output streams ended */
};

/* drained(p) runs when stdout and stderr have both ended on our side (the exit may complete). */
void proc_io_init(struct proc_io *io, void (*drained)(struct proc *p));
/* Open containerd's side (FIFOs, file://, binary://). done(r) may fire later for binary:// */
int proc_io_open(struct proc *p, struct cvm_err *err);
/* Connect every wanted stream to the agent (port 1025 handshake); cb when all attached. */
int proc_io_attach(struct proc *p, void (*cb)(struct proc *p, int r, const char *msg));
void proc_io_close_stdin(struct proc *p);
bool proc_io_drained(const struct proc *p);
void proc_io_close(struct proc *p); /* close everything (after exit+drain, or on failure) */

#endif

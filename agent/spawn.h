/* Starting a container process, without ever blocking the loop.
 *
 * spawn.c: the parent's synchronous part (stdio pipes or pty, the setup socket, namespaces,
 * clone, cgroup placement); the child (child.c) then runs the OCI setup and blocks before
 * execve until it is released.
 * spawn_handshake.c: the parent side of the setup protocol, on the loop (an io source on
 * the setup socket and a deadline timer); each phase ends in one done() callback.
 * spawn_sync.c: the messages on the setup socket.
 *
 *   spawn_process()  PROC_SPAWNING --READY--------> PROC_CREATED   done(0)
 *                                  --ERROR/EOF/deadline/bad message--> done(<0): child
 *                                    killed, p->pid 0, p's fds closed; the owner frees p
 *   spawn_release()  PROC_CREATED  --EOF (exec'd)-> PROC_RUNNING   done(0)
 *                                  --ERROR/deadline/bad message--> done(<0): stays
 *                                    PROC_CREATED with no setup socket, child killed
 *                                    (its exit is reported by the reaper as usual)
 *
 * done() runs exactly once per phase, from a loop callback or from process_on_exit() (the
 * child died: what it queued on the socket decides), never from inside spawn_process() or
 * spawn_release(); never after spawn_abort(). */
#ifndef CVM_AGENT_SPAWN_H
#define CVM_AGENT_SPAWN_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

/* Messages on the setup socket (SOCK_SEQPACKET). */
enum sync_type {
    SYNC_CGROUP_DONE = 'C', /* parent -> child: placed in the cgroup */
    SYNC_READY = 'R',       /* child -> parent: set up, waiting for start */
    SYNC_START = 'S',       /* parent -> child: execve now */
    SYNC_ERROR = 'E',       /* child -> parent: failed; err + msg */
    SYNC_PTY = 'P',         /* child -> parent: the pty master (SCM_RIGHTS), made in the
                               container's own devpts so ttyname() works in there */
};

struct sync_msg {
    char type;
    int32_t err; /* positive errno */
    char msg[240];
};

#define SPAWN_SETUP_TIMEOUT_MS 20000

/* r: 0 or -errno; err: the reason when r < 0 (valid during the call only). */
typedef void (*spawn_done_fn)(struct process *p, int r, const struct cvm_err *err);

/* Clone the container's init (p == c->init) or an exec process and start its setup
 * handshake. 0: in progress, p->state PROC_SPAWNING, p->pid set, done() follows.
 * < 0: nothing runs, err says why, done() is never called. proc: the process to run (the
 * child has its copy once this returns). */
int spawn_process(struct agent *a, struct container *c, struct process *p,
                  const struct oci_process *proc, spawn_done_fn done, struct cvm_err *err);

/* Release a PROC_CREATED process past its final barrier (SYNC_START), then wait on the
 * loop for execve: 0 in progress, done() follows; < 0 failed at once (no done()). */
int spawn_release(struct process *p, spawn_done_fn done, struct cvm_err *err);

/* ---- spawn_handshake.c ---- */
enum spawn_phase { SPAWN_SETUP, SPAWN_RELEASE };

/* Watch p->sync_fd (parent end, non-blocking; stays p's) for phase on loop l, with a
 * deadline. The child p->pid is running. < 0 with err when the loop refuses. */
int spawn_handshake_start(struct loop *l, struct process *p, enum spawn_phase phase,
                          uint32_t timeout_ms, spawn_done_fn done, struct cvm_err *err);
/* A handshake is running for p. */
bool spawn_busy(const struct process *p);
/* The reaper collected p's child during a handshake: finish it now from what the child
 * queued (its error message, else "child died"; in SPAWN_RELEASE, EOF = exec'd). A child
 * dead during setup always fails it. */
void spawn_child_exited(struct process *p);
/* p is going away: kill the child, drop the sources, no done(). Accepts an idle p. */
void spawn_abort(struct process *p);

/* ---- spawn_sync.c ---- */
/* Blocking wait (bounded) for one sync message. 0 and *m filled, -ETIMEDOUT, -EPIPE on EOF.
 * A passed fd lands in *passed_fd (cloexec) when non-NULL, else is closed; -1 if none. */
int sync_recv(int fd, struct sync_msg *m, int timeout_ms);
int sync_recv_fd(int fd, struct sync_msg *m, int timeout_ms, int *passed_fd);
/* One message if one is queued: 0, -EAGAIN, -EPIPE on EOF, -EBADMSG, -errno. Never waits. */
int sync_try_recv_fd(int fd, struct sync_msg *m, int *passed_fd);
int sync_send(int fd, char type, int err, const char *msg);
int sync_send_fd(int fd, char type, int passfd);

#endif

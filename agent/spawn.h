/* Parent side of starting a container process: stdio pipes or pty, the setup socket,
 * namespaces, cgroup placement, then the child (child.c) runs the OCI setup and blocks
 * before execve until process_release() sends the start byte. */
#ifndef CVM_AGENT_SPAWN_H
#define CVM_AGENT_SPAWN_H

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

/* Create the container's init process (is_init) or an exec process, leaving it in
 * PROC_CREATED. proc: the process to run (the spec's, or an exec's). */
int spawn_process(struct agent *a, struct container *c, struct process *p,
                  const struct oci_process *proc, struct cvm_err *err);

/* Blocking wait (bounded) for one sync message. 0 and *m filled, -ETIMEDOUT, -EPIPE on EOF.
 * A passed fd lands in *passed_fd (cloexec) when non-NULL, else is closed; -1 if none. */
int sync_recv(int fd, struct sync_msg *m, int timeout_ms);
int sync_recv_fd(int fd, struct sync_msg *m, int timeout_ms, int *passed_fd);
int sync_send(int fd, char type, int err, const char *msg);
int sync_send_fd(int fd, char type, int passfd);

#endif

/* stdio streams: the listener on port 1025 (handshake "STREAM <cid> <eid|-> <kind>\n" ->
 * "OK\n" | "ERR <msg>\n", see proto/agent.proto) and one bounded relay per stream between
 * the process's pipe (or pty) and the host connection. */
#ifndef CVM_AGENT_STDIO_H
#define CVM_AGENT_STDIO_H

#include <stdbool.h>

#include "agent.h"

#define STDIO_HANDSHAKE_MAX 256
#define STDIO_HANDSHAKE_TIMEOUT_US (5u * 1000 * 1000)
#define STDIO_MAX_PENDING 64

/* Accept stream connections on listen_fd (borrowed). */
int stdio_listener_start(struct agent *a, int listen_fd);

/* Parse a handshake line (without the '\n'). Pure: fills ids and kind; -EINVAL + msg. */
int stdio_parse_handshake(const char *line, char cid[AGENT_ID_MAX + 1], char eid[AGENT_ID_MAX + 1],
                          enum stdio_kind *kind, const char **why);

/* Attach a connected, handshaken socket (ownership passes) as stream kind of p. */
int stream_attach(struct process *p, enum stdio_kind kind, int sock, const char **why);
/* Output streams: true once EOF was relayed (or the stream was never wanted). */
bool stream_drained(const struct process *p, enum stdio_kind kind);
/* Process exited: output relays may now give up on a pipe that never reaches EOF. */
void stream_process_exited(struct process *p);
/* CloseStdin: close the process's stdin once buffered input is written. */
void stream_close_stdin(struct process *p);
void stream_free(struct stream *s);

/* The pty master of a terminal process, or -1. */
int stream_tty_fd(const struct process *p);

#endif

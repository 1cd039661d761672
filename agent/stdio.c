#include "stdio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "stdio"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "relay.h"

/* Output relays give up on a pipe that has not reached EOF this long after the process
 * exited with nothing moving (a daemonized grandchild holding the pipe). */
#define DRAIN_IDLE_US (5u * 1000 * 1000)

/* One stream is one relay (common/relay.h): stdout/stderr from the process's pipe or pty master
 * to the host's vsock connection (half-closed at the end), stdin the other way. A pty master's
 * output is read in batches (RELAY_TTY_BATCH). */
struct stream {
    struct process *p;
    enum stdio_kind kind;
    struct relay *relay; /* NULL once done: its fds are closed then */
    bool done;
};

struct pending {
    struct agent *a;
    int fd;
    struct loop_source *src, *timer;
    char line[STDIO_HANDSHAKE_MAX + 1];
    size_t len;
};

static size_t n_pending;

static void stream_done(struct relay *r, int status, void *data)
{
    struct stream *s = data;
    if (s->kind == STDIO_IN && s->p->terminal && status == 0) {
        /* pty stdin: the line discipline turns VEOF into EOF for the reader */
        static const char eot = 4;
        (void)write(relay_sink_fd(r), &eot, 1);
    }
    if (status == -ETIMEDOUT)
        log_warn("container %s exec '%s': output stream %d still open %us after exit; closing it",
                 s->p->c->id, s->p->exec_id, (int)s->kind, DRAIN_IDLE_US / 1000000);
    log_debug("stream %s/%s/%d: %" PRIu64 " bytes in %" PRIu64 " reads", s->p->c->id, s->p->exec_id,
              (int)s->kind, relay_status(r).bytes_in, relay_status(r).reads);
    s->done = true;
    s->relay = NULL;
    relay_free(r); /* closes the pipe and the socket: the writer and the host see the end */
    if (s->kind != STDIO_IN)
        s->p->stream_ended(s->p);
}

int stream_attach(struct process *p, enum stdio_kind kind, int sock, const char **why)
{
    if (!p->want[kind] || p->fds[kind] < 0) {
        *why =
            p->streams[kind] ? "stream already attached" : "stream not announced for this process";
        return -EINVAL;
    }
    struct stream *s = calloc(1, sizeof(*s));
    if (!s) {
        *why = "out of memory";
        return -ENOMEM;
    }
    s->p = p;
    s->kind = kind;
    int pipe_fd = p->fds[kind];
    (void)fd_set_nonblock(pipe_fd, 1);
    (void)fd_set_nonblock(sock, 1);
    if (kind != STDIO_IN)
        (void)shutdown(sock, SHUT_RD);
    unsigned flags = RELAY_OWN_SRC | RELAY_OWN_SINK;
    if (kind != STDIO_IN)
        flags |= RELAY_SHUT_SINK | (p->terminal && kind == STDIO_OUT ? RELAY_TTY_BATCH : 0);
    struct relay_cb cb = {.done = stream_done, .data = s};
    int r =
        kind == STDIO_IN
            ? relay_new(agent_global->loop, sock, pipe_fd, AGENT_STREAM_BUF, flags, &cb, &s->relay)
            : relay_new(agent_global->loop, pipe_fd, sock, AGENT_STREAM_BUF, flags, &cb, &s->relay);
    if (r < 0) {
        free(s);
        *why = "relay setup failed";
        return r;
    }
    p->fds[kind] = -1; /* the relay's now */
    p->streams[kind] = s;
    if (p->state >= PROC_EXITED && kind != STDIO_IN)
        stream_process_exited(p);
    p->stream_attached(p);
    return 0;
}

bool stream_drained(const struct process *p, enum stdio_kind kind)
{
    if (!p->want[kind] || (p->terminal && kind == STDIO_ERR))
        return true;
    return p->streams[kind] ? p->streams[kind]->done : p->fds[kind] < 0;
}

void stream_process_exited(struct process *p)
{
    for (int k = STDIO_OUT; k <= STDIO_ERR; k++) {
        struct stream *s = p->streams[k];
        if (s && !s->done)
            (void)relay_idle_limit(s->relay, DRAIN_IDLE_US);
    }
    /* Stdin has nobody to feed any more. */
    if (p->streams[STDIO_IN] && !p->streams[STDIO_IN]->done)
        relay_end(p->streams[STDIO_IN]->relay);
}

void stream_close_stdin(struct process *p)
{
    struct stream *s = p->streams[STDIO_IN];
    p->stdin_close_requested = true;
    if (!s) {
        p->fds[STDIO_IN] = safe_close(p->fds[STDIO_IN]);
        return;
    }
    /* Take what the host already sent, deliver it, then EOF. Bytes the host sends after this
     * point are not waited for: hosts that need every byte delivered half-close the stream
     * instead of calling CloseStdin. */
    if (!s->done)
        relay_close_src(s->relay);
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    relay_free(s->relay);
    free(s);
}

/* ---- handshake ---- */

int stdio_parse_handshake(const char *line, char cid[AGENT_ID_MAX + 1], char eid[AGENT_ID_MAX + 1],
                          enum stdio_kind *kind, const char **why)
{
    char c[AGENT_ID_MAX + 2], e[AGENT_ID_MAX + 2], k[8], extra[2];
    if (strncmp(line, "STREAM ", 7) != 0) {
        *why = "expected \"STREAM <container-id> <exec-id|-> <stdin|stdout|stderr>\"";
        return -EINVAL;
    }
    if (sscanf(line + 7, "%65s %65s %7s %1s", c, e, k, extra) != 3) {
        *why = "malformed STREAM line";
        return -EINVAL;
    }
    if (!agent_id_valid(c, false)) {
        *why = "invalid container id";
        return -EINVAL;
    }
    if (strcmp(e, "-") == 0)
        e[0] = '\0';
    else if (!agent_id_valid(e, false)) {
        *why = "invalid exec id";
        return -EINVAL;
    }
    if (strcmp(k, "stdin") == 0)
        *kind = STDIO_IN;
    else if (strcmp(k, "stdout") == 0)
        *kind = STDIO_OUT;
    else if (strcmp(k, "stderr") == 0)
        *kind = STDIO_ERR;
    else {
        *why = "stream must be stdin, stdout or stderr";
        return -EINVAL;
    }
    /* The line is made of single spaces only: no tabs, no leading or doubled spaces. */
    char canon[STDIO_HANDSHAKE_MAX + 1];
    snprintf(canon, sizeof(canon), "STREAM %s %s %s", c, e[0] ? e : "-", k);
    if (strcmp(canon, line) != 0) {
        *why = "malformed STREAM line";
        return -EINVAL;
    }
    strcpy(cid, c);
    strcpy(eid, e);
    return 0;
}

static void pending_free(struct pending *pc)
{
    loop_source_free(pc->src);
    loop_source_free(pc->timer);
    safe_close(pc->fd);
    free(pc);
    n_pending--;
}

static void pending_reply_err(struct pending *pc, const char *why)
{
    char msg[STDIO_HANDSHAKE_MAX];
    int n = snprintf(msg, sizeof(msg), "ERR %s\n", why);
    (void)send(pc->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    pending_free(pc);
}

static void on_handshake(struct loop_source *src, int fd, uint32_t ev, void *data)
{
    struct pending *pc = data;
    (void)src;
    (void)ev;
    /* One byte at a time: stdin data may follow the line at once and must stay unread. */
    while (pc->len < STDIO_HANDSHAKE_MAX) {
        char ch;
        ssize_t n = read(fd, &ch, 1);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            pending_free(pc);
            return;
        }
        if (ch == '\n') {
            char cid[AGENT_ID_MAX + 1], eid[AGENT_ID_MAX + 1];
            enum stdio_kind kind;
            const char *why = NULL;
            pc->line[pc->len] = '\0';
            if (stdio_parse_handshake(pc->line, cid, eid, &kind, &why) < 0)
                return pending_reply_err(pc, why);
            struct container *c = agent_find_container(pc->a, cid);
            struct process *p = c ? container_find_process(c, eid) : NULL;
            if (!p)
                return pending_reply_err(pc, c ? "no such exec" : "no such container");
            if (p->state >= PROC_DONE)
                return pending_reply_err(pc, "process already finished");
            if (kind == STDIO_ERR && p->terminal)
                return pending_reply_err(pc, "terminal processes have no stderr stream");
            if (send(fd, "OK\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT) != 3)
                return pending_free(pc);
            int sock = TAKE_FD(pc->fd);
            pc->src = loop_source_free(pc->src); /* the stream registers the fd itself */
            if (stream_attach(p, kind, sock, &why) < 0) {
                /* OK already went out; close so the host sees the stream end at once. */
                log_warn("stream %s/%s/%d: %s", cid, eid, (int)kind, why);
                close(sock);
            }
            pending_free(pc);
            return;
        }
        pc->line[pc->len++] = ch;
    }
    pending_reply_err(pc, "handshake line too long");
}

static void on_handshake_timeout(struct loop_source *t, void *data)
{
    (void)t;
    pending_reply_err(data, "handshake timed out");
}

static void on_accept(struct loop_source *src, int lfd, uint32_t ev, void *data)
{
    struct agent *a = data;
    (void)src;
    (void)ev;
    for (int i = 0; i < 16; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (n_pending >= STDIO_MAX_PENDING) {
            close(fd);
            continue;
        }
        struct pending *pc = calloc(1, sizeof(*pc));
        if (!pc) {
            close(fd);
            continue;
        }
        pc->a = a;
        pc->fd = fd;
        n_pending++;
        if (loop_add_io(a->loop, fd, EPOLLIN, on_handshake, pc, &pc->src) < 0 ||
            loop_add_timer(a->loop, STDIO_HANDSHAKE_TIMEOUT_US, on_handshake_timeout, pc,
                           &pc->timer) < 0)
            pending_free(pc);
    }
}

int stdio_listener_start(struct agent *a, int listen_fd)
{
    static struct loop_source *listener;
    (void)fd_set_nonblock(listen_fd, 1);
    return loop_add_io(a->loop, listen_fd, EPOLLIN, on_accept, a, &listener);
}

int stream_tty_fd(const struct process *p)
{
    if (!p->terminal)
        return -1;
    if (p->streams[STDIO_OUT] && !p->streams[STDIO_OUT]->done)
        return relay_src_fd(p->streams[STDIO_OUT]->relay);
    return p->fds[STDIO_OUT];
}

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
#include "buf.h"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"

/* Output relays give up on a pipe that has not reached EOF this long after the process
 * exited with nothing moving (a daemonized grandchild holding the pipe). */
#define DRAIN_IDLE_US (5u * 1000 * 1000)

/* A pty master gives its reader what the line discipline has moved across so far: with OPOST
 * and ONLCR (a runc terminal has them too) the slave's writes reach the master a line at a
 * time, and a relay that reads whenever it is woken pays a wakeup, a read and a vsock packet
 * per line (under TCG: 16,883 reads for 1 MiB of 64-byte lines, 6.3 s). A read of less than
 * half the master's 4 KiB buffer (N_TTY_BUF_SIZE; a full one returns 4095 bytes) means the
 * writer is still producing: the master leaves epoll for TTY_BATCH_US so its output collects,
 * then is read on (429 reads, 0.8 s). The first bytes of a burst go out at once, so echo and
 * prompts are not delayed; only the read after a short one waits. Measured under TCG: 1 ms
 * pauses read 670 times (1.5 s), 3 ms is no faster than 2 ms. */
#define TTY_SHORT_READ 2048
#define TTY_BATCH_US 2000u

struct stream {
    struct process *p;
    enum stdio_kind kind;
    int pipe_fd, sock_fd;
    struct loop_source *pipe_src, *sock_src, *idle_timer, *batch_timer;
    struct buf b;
    bool src_eof;   /* reading side reached EOF */
    bool sink_dead; /* writing side failed: discard from now on */
    bool batching;  /* pty output: reading paused until batch_timer fires */
    bool done;
    uint64_t reads, bytes; /* for the debug line at the end: how the source was read */
};

struct pending {
    struct agent *a;
    int fd;
    struct loop_source *src, *timer;
    char line[STDIO_HANDSHAKE_MAX + 1];
    size_t len;
};

static size_t n_pending;

static void stream_update(struct stream *s);

static int src_fd(const struct stream *s)
{
    return s->kind == STDIO_IN ? s->sock_fd : s->pipe_fd;
}

static int sink_fd(const struct stream *s)
{
    return s->kind == STDIO_IN ? s->pipe_fd : s->sock_fd;
}

static void stream_finish(struct stream *s)
{
    if (s->done)
        return;
    s->done = true;
    s->pipe_src = loop_source_free(s->pipe_src);
    s->sock_src = loop_source_free(s->sock_src);
    s->idle_timer = loop_source_free(s->idle_timer);
    s->batch_timer = loop_source_free(s->batch_timer);
    if (s->kind != STDIO_IN && s->sock_fd >= 0)
        (void)shutdown(s->sock_fd, SHUT_WR);
    s->pipe_fd = safe_close(s->pipe_fd);
    s->sock_fd = safe_close(s->sock_fd);
    buf_done(&s->b);
    log_debug("stream %s/%s/%d: %" PRIu64 " bytes in %" PRIu64 " reads", s->p->c->id, s->p->exec_id,
              (int)s->kind, s->bytes, s->reads);
    if (s->kind != STDIO_IN)
        s->p->stream_ended(s->p);
}

static void on_batch(struct loop_source *t, void *data);

/* After a short read from a pty master: pause reading (stream_update drops EPOLLIN) until the
 * batch timer fires. */
static void batch_start(struct stream *s)
{
    if (!s->batch_timer &&
        loop_add_timer(agent_global->loop, TTY_BATCH_US, on_batch, s, &s->batch_timer) < 0)
        return; /* no timer: read as data comes, which is only slower */
    if (s->batch_timer && loop_timer_set(s->batch_timer, TTY_BATCH_US) == 0)
        s->batching = true;
}

static void on_io(struct loop_source *src, int fd, uint32_t ev, void *data)
{
    struct stream *s = data;
    (void)src;
    (void)fd;
    (void)ev;
    bool batch = s->kind == STDIO_OUT && s->p->terminal;
    /* Bounded work per wakeup so one busy stream cannot starve the loop. */
    for (int round = 0; round < 16 && !s->done; round++) {
        bool moved = false;
        if (!s->src_eof && buf_avail(&s->b) < AGENT_STREAM_BUF) {
            long n = buf_read_fd(&s->b, src_fd(s), AGENT_STREAM_BUF - buf_avail(&s->b));
            if (n > 0) {
                s->reads++;
                s->bytes += (uint64_t)n;
                moved = true;
                if (batch && n < TTY_SHORT_READ)
                    batch_start(s);
            } else if (n == 0 || (n < 0 && n != -EAGAIN)) {
                /* EIO on a pty master: the slave side is gone, which is EOF here. */
                s->src_eof = true;
                moved = true;
            }
        }
        if (buf_avail(&s->b) > 0) {
            if (s->sink_dead) {
                buf_consume(&s->b, buf_avail(&s->b));
                moved = true;
            } else {
                long n = buf_write_fd(&s->b, sink_fd(s));
                if (n > 0)
                    moved = true;
                else if (n < 0 && n != -EAGAIN) {
                    s->sink_dead = true;
                    moved = true;
                }
            }
        }
        if (moved && s->idle_timer)
            (void)loop_timer_set(s->idle_timer, DRAIN_IDLE_US);
        if (!moved || s->batching)
            break;
    }
    stream_update(s);
}

static void on_batch(struct loop_source *t, void *data)
{
    struct stream *s = data;
    (void)t;
    s->batching = false;
    on_io(NULL, -1, 0, s);
}

static int set_interest(struct stream *s, struct loop_source **src, int fd, uint32_t events)
{
    if (!events) {
        *src = loop_source_free(*src);
        return 0;
    }
    if (*src)
        return loop_io_set_events(*src, events);
    return loop_add_io(agent_global->loop, fd, events, on_io, s, src);
}

static void stream_update(struct stream *s)
{
    if (s->done)
        return;
    if (s->src_eof && buf_avail(&s->b) == 0) {
        if (s->kind != STDIO_IN || !s->p->terminal) {
            stream_finish(s);
            return;
        }
        /* pty stdin: the line discipline turns VEOF into EOF for the reader. */
        static const char eot = 4;
        (void)write(s->pipe_fd, &eot, 1);
        stream_finish(s);
        return;
    }
    bool want_read = !s->src_eof && !s->batching && buf_avail(&s->b) < AGENT_STREAM_BUF;
    bool want_write = buf_avail(&s->b) > 0 && !s->sink_dead;
    bool in = s->kind == STDIO_IN;
    /* An fd without interest leaves epoll: a hung-up pipe or socket would otherwise be
     * reported (EPOLLHUP) on every wait while the other side is blocked. */
    if (set_interest(s, in ? &s->sock_src : &s->pipe_src, src_fd(s), want_read ? EPOLLIN : 0) < 0 ||
        set_interest(s, in ? &s->pipe_src : &s->sock_src, sink_fd(s), want_write ? EPOLLOUT : 0) < 0) {
        log_error("stream %s/%s/%d: event loop registration failed", s->p->c->id, s->p->exec_id, (int)s->kind);
        s->sink_dead = true;
        s->src_eof = true;
        stream_finish(s);
        return;
    }
    if (s->sink_dead && buf_avail(&s->b) > 0)
        on_io(NULL, -1, 0, s); /* discard without waiting for an event */
}

static void on_idle(struct loop_source *t, void *data)
{
    struct stream *s = data;
    (void)t;
    log_warn("container %s exec '%s': output stream %d still open %us after exit; closing it",
             s->p->c->id, s->p->exec_id, (int)s->kind, DRAIN_IDLE_US / 1000000);
    stream_finish(s);
}

int stream_attach(struct process *p, enum stdio_kind kind, int sock, const char **why)
{
    struct agent *a = agent_global;
    if (!p->want[kind] || p->fds[kind] < 0) {
        *why = p->streams[kind] ? "stream already attached" : "stream not announced for this process";
        return -EINVAL;
    }
    struct stream *s = calloc(1, sizeof(*s));
    if (!s) {
        *why = "out of memory";
        return -ENOMEM;
    }
    s->p = p;
    s->kind = kind;
    s->pipe_fd = p->fds[kind];
    s->sock_fd = sock;
    buf_init(&s->b, AGENT_STREAM_BUF);
    (void)fd_set_nonblock(s->pipe_fd, 1);
    (void)fd_set_nonblock(s->sock_fd, 1);
    if (kind != STDIO_IN)
        (void)shutdown(sock, SHUT_RD);
    (void)a;
    p->fds[kind] = -1;
    p->streams[kind] = s;
    if (p->state >= PROC_EXITED && kind != STDIO_IN)
        stream_process_exited(p);
    stream_update(s);
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
        if (!s || s->done || s->idle_timer)
            continue;
        (void)loop_add_timer(agent_global->loop, DRAIN_IDLE_US, on_idle, s, &s->idle_timer);
    }
    /* Stdin has nobody to feed any more. */
    if (p->streams[STDIO_IN] && !p->streams[STDIO_IN]->done) {
        p->streams[STDIO_IN]->sink_dead = true;
        stream_finish(p->streams[STDIO_IN]);
    }
}

void stream_close_stdin(struct process *p)
{
    struct stream *s = p->streams[STDIO_IN];
    p->stdin_close_requested = true;
    if (!s) {
        p->fds[STDIO_IN] = safe_close(p->fds[STDIO_IN]);
        return;
    }
    if (s->done)
        return;
    /* Take what the host already sent (up to the buffer), deliver it, then EOF. Bytes the
     * host sends after this point are not read: hosts that need every byte delivered
     * half-close the stream instead of calling CloseStdin. */
    while (!s->src_eof && buf_avail(&s->b) < AGENT_STREAM_BUF) {
        long n = buf_read_fd(&s->b, s->sock_fd, AGENT_STREAM_BUF - buf_avail(&s->b));
        if (n <= 0)
            break;
    }
    s->src_eof = true;
    stream_update(s);
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    s->done = true;
    loop_source_free(s->pipe_src);
    loop_source_free(s->sock_src);
    loop_source_free(s->idle_timer);
    loop_source_free(s->batch_timer);
    safe_close(s->pipe_fd);
    safe_close(s->sock_fd);
    buf_done(&s->b);
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
            loop_add_timer(a->loop, STDIO_HANDSHAKE_TIMEOUT_US, on_handshake_timeout, pc, &pc->timer) < 0)
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
        return p->streams[STDIO_OUT]->pipe_fd;
    return p->fds[STDIO_OUT];
}

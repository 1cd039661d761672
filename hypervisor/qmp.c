/* QMP client state machine on the loop. See qmp.h.
 *
 *   GREETING --{"QMP":..}--> NEGOTIATING --reply to qmp_capabilities--> READY --EOF/err--> CLOSED
 *
 * Lines that are not a QMP message are skipped (counted, logged at debug): the next newline
 * resynchronises. A line longer than QMP_LINE_MAX drops the connection, as does a greeting
 * that is not one. Callbacks may call qmp_free(); the object is released after dispatch. */
#define LOG_MODULE "qmp"
#include "qmp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>

#include "buf.h"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "qmp_parse.h"

#define QMP_READ_CHUNK 16384
#define QMP_OUT_MAX (1024 * 1024)
#define QMP_CAPS_ID 0

enum qmp_state { QMP_GREETING, QMP_NEGOTIATING, QMP_READY, QMP_CLOSED };

struct pending {
    int64_t id;
    qmp_reply_cb cb;
    void *data;
    TAILQ_ENTRY(pending) link;
};

struct qmp {
    struct loop *loop;
    int fd;
    struct loop_source *src;
    enum qmp_state state;
    struct buf in, out;
    int64_t next_id;
    unsigned garbage;
    unsigned depth;    /* >0 while inside a callback */
    bool free_pending; /* qmp_free() called from a callback */
    struct qmp_callbacks cb;
    TAILQ_HEAD(pending_head, pending) pending;
};

static void qmp_release(struct qmp *q);

static void fail_pending(struct qmp *q, int r)
{
    struct pending *p;
    while ((p = TAILQ_FIRST(&q->pending))) {
        TAILQ_REMOVE(&q->pending, p, link);
        q->depth++;
        p->cb(q, r, NULL, NULL, NULL, p->data);
        q->depth--;
        free(p);
    }
}

/* Enter CLOSED once: stop watching the fd, fail commands, tell the owner. */
static void qmp_close(struct qmp *q, int r)
{
    if (q->state == QMP_CLOSED)
        return;
    q->state = QMP_CLOSED;
    q->src = loop_source_free(q->src);
    q->fd = safe_close(q->fd);
    fail_pending(q, -ECONNRESET);
    if (q->cb.closed) {
        q->depth++;
        q->cb.closed(q, r, q->cb.data);
        q->depth--;
    }
}

static int queue_line(struct qmp *q, const char *cmd, json_t *args, int64_t id)
{
    _cleanup_free_ char *s = NULL;
    size_t n;
    int r = qmp_encode_command(cmd, args, id, &s, &n);
    if (r < 0)
        return r;
    r = buf_append(&q->out, s, n);
    if (r < 0)
        return r;
    return loop_io_set_events(q->src, EPOLLIN | EPOLLOUT);
}

static void caps_done(struct qmp *q, int r, json_t *ret, const char *cls, const char *desc,
                      void *data)
{
    (void)ret;
    (void)data;
    if (r < 0) {
        log_warn("qmp_capabilities failed: %s %s", cls ? cls : "", desc ? desc : strerror(-r));
        qmp_close(q, -EPROTO);
        return;
    }
    q->state = QMP_READY;
    if (q->cb.ready)
        q->cb.ready(q, q->cb.data);
}

static int add_pending(struct qmp *q, int64_t id, qmp_reply_cb cb, void *data)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->id = id;
    p->cb = cb;
    p->data = data;
    TAILQ_INSERT_TAIL(&q->pending, p, link);
    return 0;
}

static void handle_reply(struct qmp *q, const struct qmp_msg *m)
{
    struct pending *p;
    if (!m->has_id) {
        log_debug("reply without our id, ignoring");
        return;
    }
    TAILQ_FOREACH(p, &q->pending, link)
    if (p->id == m->id)
        break;
    if (!p) {
        log_debug("reply to unknown id %lld, ignoring", (long long)m->id);
        return;
    }
    TAILQ_REMOVE(&q->pending, p, link);
    if (m->kind == QMP_MSG_RETURN)
        p->cb(q, 0, m->ret, NULL, NULL, p->data);
    else
        p->cb(q, -EIO, NULL, m->err_class, m->err_desc, p->data);
    free(p);
}

static void handle_msg(struct qmp *q, const struct qmp_msg *m)
{
    switch (m->kind) {
    case QMP_MSG_GREETING:
        if (q->state != QMP_GREETING) {
            log_debug("second greeting, ignoring");
            return;
        }
        q->state = QMP_NEGOTIATING;
        if (add_pending(q, QMP_CAPS_ID, caps_done, NULL) < 0 ||
            queue_line(q, "qmp_capabilities", NULL, QMP_CAPS_ID) < 0)
            qmp_close(q, -ENOMEM);
        return;
    case QMP_MSG_EVENT:
        if (q->cb.event)
            q->cb.event(q, m->event, m->data, q->cb.data);
        return;
    case QMP_MSG_RETURN:
    case QMP_MSG_ERROR: handle_reply(q, m); return;
    }
}

static void process_lines(struct qmp *q)
{
    while (q->state != QMP_CLOSED && !q->free_pending) {
        size_t len = 0, used = 0;
        struct qmp_msg m;
        int r = qmp_frame(buf_peek(&q->in), buf_avail(&q->in), QMP_LINE_MAX, &len, &used);
        if (r == 0)
            return;
        if (r < 0) {
            log_warn("QMP line longer than %d bytes, dropping the connection", QMP_LINE_MAX);
            qmp_close(q, r);
            return;
        }
        r = len ? qmp_parse_line((const char *)buf_peek(&q->in), len, &m) : -EBADMSG;
        buf_consume(&q->in, used);
        if (r < 0) {
            q->garbage++;
            log_debug("skipping a line that is not a QMP message");
            if (q->state == QMP_GREETING) {
                qmp_close(q, -EPROTO);
                return;
            }
            continue;
        }
        q->depth++;
        handle_msg(q, &m);
        q->depth--;
        qmp_msg_done(&m);
    }
}

static void on_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct qmp *q = data;
    (void)s;
    if (revents & EPOLLOUT) {
        long n = buf_write_fd(&q->out, fd);
        if (n < 0 && n != -EAGAIN) {
            qmp_close(q, (int)n);
            goto out;
        }
        if (buf_avail(&q->out) == 0)
            (void)loop_io_set_events(q->src, EPOLLIN);
    }
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        long n = buf_read_fd(&q->in, fd, QMP_READ_CHUNK);
        if (n == -EAGAIN)
            goto out;
        if (n > 0) {
            process_lines(q);
        } else {
            /* EOF (n == 0) or error: whatever complete lines are left were processed. */
            qmp_close(q, (int)n);
        }
    }
out:
    if (q->free_pending && q->depth == 0)
        qmp_release(q);
}

int qmp_new(struct loop *l, int fd, const struct qmp_callbacks *cb, struct qmp **ret)
{
    struct qmp *q;
    int r = fd_set_nonblock(fd, 1);
    if (r < 0)
        return r;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->loop = l;
    q->fd = fd;
    q->cb = *cb;
    q->next_id = QMP_CAPS_ID + 1;
    buf_init(&q->in, QMP_LINE_MAX + 2 + QMP_READ_CHUNK);
    buf_init(&q->out, QMP_OUT_MAX);
    TAILQ_INIT(&q->pending);
    r = loop_add_io(l, fd, EPOLLIN, on_io, q, &q->src);
    if (r < 0) {
        buf_done(&q->in);
        buf_done(&q->out);
        free(q);
        return r;
    }
    *ret = q;
    return 0;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, qmp_reply_cb cb, void *data)
{
    int64_t id;
    int r;
    if (q->state != QMP_READY || q->free_pending)
        return -ENOTCONN;
    id = q->next_id++;
    r = add_pending(q, id, cb, data);
    if (r < 0)
        return r;
    r = queue_line(q, cmd, args, id);
    if (r < 0) {
        struct pending *p = TAILQ_LAST(&q->pending, pending_head);
        TAILQ_REMOVE(&q->pending, p, link);
        free(p);
    }
    return r;
}

static void qmp_release(struct qmp *q)
{
    q->src = loop_source_free(q->src);
    q->fd = safe_close(q->fd);
    fail_pending(q, -ECANCELED);
    buf_done(&q->in);
    buf_done(&q->out);
    free(q);
}

void qmp_free(struct qmp *q)
{
    if (!q || q->free_pending)
        return;
    q->free_pending = true;
    if (q->depth == 0)
        qmp_release(q);
}

int qmp_is_ready(const struct qmp *q)
{
    return q->state == QMP_READY;
}

unsigned qmp_garbage_count(const struct qmp *q)
{
    return q->garbage;
}

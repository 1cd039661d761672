/* Bidirectional socket relay (duplex_relay.h): two one-direction relays (relay.h) back to back,
 * dir[0] reading A and writing B, dir[1] reading B and writing A. Each has its own fds (side
 * B's and A's are dup'ed for dir[1]) so that each fd has one epoll registration. */
#include "duplex_relay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>

#include "cleanup.h"
#include "loop.h"
#include "relay.h"

#define HEAD_MAX 64u

struct duplex_relay {
    struct loop *l;
    int fd[2];
    struct relay *dir[2];
    bool dir_done[2];
    bool gone[2];  /* side k hung up both ways: nothing is written to it any more */
    int status;    /* the first error, or 0 */
    bool finished; /* the outcome is decided; the owner hears it from fin_timer */
    struct loop_source *fin_timer;
    size_t head_n; /* bytes still expected as B's head (0: none / done) */
    duplex_head_fn head;
    duplex_done_fn done;
    void *data;
};

static void tell_owner(struct loop_source *t, void *data)
{
    struct duplex_relay *r = data;
    (void)t;
    r->fin_timer = loop_source_free(r->fin_timer);
    r->done(r, r->status, r->data); /* may free r */
}

/* Decided: tell the owner from the loop, never from inside a relay's own callback (the owner
 * frees the relays). */
static void finish(struct duplex_relay *r, int status)
{
    if (r->finished)
        return;
    r->finished = true;
    r->status = status;
    if (loop_add_timer(r->l, 1, tell_owner, r, &r->fin_timer) < 0) /* 1 us: 0 disarms */
        tell_owner(NULL, r); /* no timer: the caller (our own code, never a relay's) copes */
}

static int dir_of(const struct duplex_relay *r, const struct relay *x)
{
    return r->dir[1] == x ? 1 : 0;
}

/* Both directions finished, or a side is gone and what it sent is delivered. */
static void check(struct duplex_relay *r)
{
    for (int k = 0; k < 2; k++)
        if (r->gone[k] && r->dir_done[k]) {
            finish(r, 0);
            return;
        }
    if (r->dir_done[0] && r->dir_done[1])
        finish(r, 0);
}

static void on_dir_done(struct relay *x, int status, void *data)
{
    struct duplex_relay *r = data;
    int k = dir_of(r, x);
    r->dir_done[k] = true;
    if (status < 0) {
        finish(r, status);
        return;
    }
    check(r);
}

/* Side k's peer closed both ways: what it sent is still taken; what is for it is dropped. */
static void on_src_hangup(struct relay *x, void *data)
{
    struct duplex_relay *r = data;
    int k = dir_of(r, x);
    r->gone[k] = true;
    if (r->dir[1 - k] && !r->dir_done[1 - k])
        relay_sink_gone(r->dir[1 - k]);
}

static void on_sink_broken(struct relay *x, void *data)
{
    struct duplex_relay *r = data;
    r->gone[1 - dir_of(r, x)] = true;
}

/* dir[1] holds B's bytes from A until the head has been taken and accepted. */
static int on_b_input(struct relay *x, void *data)
{
    struct duplex_relay *r = data;
    uint8_t head[HEAD_MAX];
    if (!r->head_n)
        return 0;
    if (relay_take_head(x, head, r->head_n) < 0)
        return relay_status(x).src_eof ? -EPROTO : 0; /* the peer ended before its header */
    size_t n = r->head_n;
    r->head_n = 0;
    int h = r->head(head, n, r->data);
    if (h < 0)
        return h;
    relay_release_sink(x);
    return 0;
}

int duplex_relay_new(struct loop *l, int fd_a, int fd_b, size_t bufsz, duplex_done_fn done,
                     void *data, struct duplex_relay **ret)
{
    struct duplex_relay *r;
    _cleanup_close_ int dup_a = -EBADF, dup_b = -EBADF;
    int e;
    if (fd_a < 0 || fd_b < 0 || bufsz == 0 || !done)
        return -EINVAL;
    dup_a = fcntl(fd_a, F_DUPFD_CLOEXEC, 3);
    dup_b = fcntl(fd_b, F_DUPFD_CLOEXEC, 3);
    if (dup_a < 0 || dup_b < 0)
        return -errno;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->l = l, r->done = done, r->data = data;
    r->fd[0] = fd_a, r->fd[1] = fd_b;
    struct relay_cb cb = {.done = on_dir_done,
                          .input = on_b_input,
                          .sink_broken = on_sink_broken,
                          .src_hangup = on_src_hangup,
                          .data = r};
    unsigned f = RELAY_SHUT_SINK | RELAY_ABORT_ON_ERROR;
    e = relay_new(l, fd_a, fd_b, bufsz, f, &cb, &r->dir[0]);
    if (e == 0) {
        e = relay_new(l, dup_b, dup_a, bufsz, f | RELAY_OWN_SRC | RELAY_OWN_SINK, &cb, &r->dir[1]);
        if (e == 0)
            dup_a = dup_b = -EBADF; /* dir[1]'s now */
    }
    if (e < 0) {
        relay_free(r->dir[0]);
        free(r);
        return e;
    }
    *ret = r;
    return 0;
}

int duplex_relay_send_b(struct duplex_relay *r, const void *p, size_t n)
{
    return relay_prepend(r->dir[0], p, n);
}

int duplex_relay_expect_b(struct duplex_relay *r, size_t n, duplex_head_fn head)
{
    if (n == 0 || n > HEAD_MAX || !head)
        return -EINVAL;
    r->head_n = n;
    r->head = head;
    relay_hold_sink(r->dir[1]);
    return 0;
}

uint64_t duplex_relay_bytes(const struct duplex_relay *r, int dir)
{
    return relay_status(r->dir[dir ? 1 : 0]).bytes_out;
}

int duplex_relay_fd(const struct duplex_relay *r, int side)
{
    return r->fd[side ? 1 : 0];
}

void duplex_relay_free(struct duplex_relay *r)
{
    if (!r)
        return;
    loop_source_free(r->fin_timer);
    relay_free(r->dir[0]);
    relay_free(r->dir[1]);
    safe_close(r->fd[0]);
    safe_close(r->fd[1]);
    free(r);
}

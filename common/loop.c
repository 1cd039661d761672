#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum source_kind { SRC_IO, SRC_TIMER, SRC_SIGNAL, SRC_CHILD };

struct loop_source {
    struct loop *loop;
    enum source_kind kind;
    int fd;       /* watched fd */
    bool owns_fd; /* timerfd, signalfd, pidfd */
    bool dead;
    uint32_t events;
    pid_t pid;
    int sig;
    union {
        loop_io_cb io;
        loop_timer_cb timer;
        loop_signal_cb signal;
        loop_child_cb child;
    } cb;
    void *data;
    TAILQ_ENTRY(loop_source) dead_link;
    TAILQ_ENTRY(loop_source) child_link; /* SRC_CHILD while registered */
};

struct deferred {
    loop_defer_cb cb;
    void *data;
    TAILQ_ENTRY(deferred) link;
};

struct loop {
    int epfd;
    bool quitting;
    int quit_code;
    TAILQ_HEAD(, loop_source) dead;
    TAILQ_HEAD(, loop_source) children;
    TAILQ_HEAD(, deferred) deferred;
};

int loop_new(struct loop **ret)
{
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int r = -errno;
        free(l);
        return r;
    }
    TAILQ_INIT(&l->dead);
    TAILQ_INIT(&l->children);
    TAILQ_INIT(&l->deferred);
    *ret = l;
    return 0;
}

static void reap_dead(struct loop *l)
{
    struct loop_source *s;
    while ((s = TAILQ_FIRST(&l->dead))) {
        TAILQ_REMOVE(&l->dead, s, dead_link);
        free(s);
    }
}

void loop_free(struct loop *l)
{
    struct deferred *d;
    if (!l)
        return;
    reap_dead(l);
    while ((d = TAILQ_FIRST(&l->deferred))) {
        TAILQ_REMOVE(&l->deferred, d, link);
        free(d);
    }
    safe_close(l->epfd);
    free(l);
}

static int source_register(struct loop *l, struct loop_source *s)
{
    struct epoll_event ev = {.events = s->events, .data.ptr = s};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
        return -errno;
    return 0;
}

static struct loop_source *source_new(struct loop *l, enum source_kind kind, int fd, void *data)
{
    struct loop_source *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = l;
    s->kind = kind;
    s->fd = fd;
    s->data = data;
    s->events = EPOLLIN;
    return s;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *data,
                struct loop_source **ret)
{
    struct loop_source *s = source_new(l, SRC_IO, fd, data);
    int r;
    if (!s)
        return -ENOMEM;
    s->events = events;
    s->cb.io = cb;
    r = source_register(l, s);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

int loop_io_set_events(struct loop_source *s, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (s->dead)
        return -ESTALE;
    if (s->events == events)
        return 0;
    if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
        return -errno;
    s->events = events;
    return 0;
}

uint32_t loop_io_get_events(const struct loop_source *s)
{
    return s->events;
}

int loop_add_timer(struct loop *l, uint64_t usec, loop_timer_cb cb, void *data,
                   struct loop_source **ret)
{
    _cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct loop_source *s;
    int r;
    if (fd < 0)
        return -errno;
    s = source_new(l, SRC_TIMER, fd, data);
    if (!s)
        return -ENOMEM;
    s->cb.timer = cb;
    s->owns_fd = true;
    r = loop_timer_set(s, usec);
    if (r >= 0)
        r = source_register(l, s);
    if (r < 0) {
        free(s);
        return r;
    }
    TAKE_FD(fd);
    *ret = s;
    return 0;
}

int loop_timer_set(struct loop_source *s, uint64_t usec)
{
    struct itimerspec its = {0};
    if (s->kind != SRC_TIMER)
        return -EINVAL;
    its.it_value.tv_sec = (time_t)(usec / 1000000);
    its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
    if (timerfd_settime(s->fd, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

int loop_add_signal(struct loop *l, int sig, loop_signal_cb cb, void *data,
                    struct loop_source **ret)
{
    sigset_t set;
    struct loop_source *s;
    int fd, r;

    sigemptyset(&set);
    sigaddset(&set, sig);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    s = source_new(l, SRC_SIGNAL, fd, data);
    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    s->sig = sig;
    s->cb.signal = cb;
    s->owns_fd = true;
    r = source_register(l, s);
    if (r < 0) {
        close(fd);
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

int loop_add_child(struct loop *l, pid_t pid, int pidfd, loop_child_cb cb, void *data,
                   struct loop_source **ret)
{
    struct loop_source *s;
    int r;

    if (pidfd < 0) {
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
            return -errno;
    }
    s = source_new(l, SRC_CHILD, pidfd, data);
    if (!s) {
        close(pidfd);
        return -ENOMEM;
    }
    s->pid = pid;
    s->cb.child = cb;
    s->owns_fd = true;
    r = source_register(l, s);
    if (r < 0) {
        close(pidfd);
        free(s);
        return r;
    }
    TAILQ_INSERT_TAIL(&l->children, s, child_link);
    *ret = s;
    return 0;
}

bool loop_child_watched(const struct loop *l, pid_t pid)
{
    const struct loop_source *s;
    TAILQ_FOREACH(s, &l->children, child_link)
    if (s->pid == pid)
        return true;
    return false;
}

int loop_child_pidfd(const struct loop_source *s)
{
    return s->kind == SRC_CHILD ? s->fd : -EINVAL;
}

struct loop_source *loop_source_free(struct loop_source *s)
{
    if (!s || s->dead)
        return NULL;
    s->dead = true;
    if (s->kind == SRC_CHILD)
        TAILQ_REMOVE(&s->loop->children, s, child_link);
    (void)epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->owns_fd)
        s->fd = safe_close(s->fd);
    TAILQ_INSERT_TAIL(&s->loop->dead, s, dead_link);
    return NULL;
}

void *loop_source_data(const struct loop_source *s)
{
    return s->data;
}

int loop_defer(struct loop *l, loop_defer_cb cb, void *data)
{
    struct deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->cb = cb;
    d->data = data;
    TAILQ_INSERT_TAIL(&l->deferred, d, link);
    return 0;
}

static void dispatch_signal(struct loop_source *s)
{
    struct signalfd_siginfo si;
    /* Drain fully: signals coalesce, the callback must loop its own reaping. */
    while (!s->dead && read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        s->cb.signal(s, &si, s->data);
}

static void dispatch_child(struct loop_source *s)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid((idtype_t)P_PIDFD, (id_t)s->fd, &si, WEXITED | WNOHANG) < 0) {
        /* Someone else reaped it (a catch-all SIGCHLD reaper): report an unknown exit. */
        si.si_code = CLD_EXITED;
        si.si_status = 255;
    } else if (si.si_pid == 0) {
        return; /* spurious */
    }
    /* Unregister before the callback so it fires exactly once. */
    struct loop_source keep = *s;
    loop_source_free(s);
    keep.cb.child(s, keep.pid, &si, keep.data);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
    struct epoll_event evs[64];
    struct deferred *d;
    int n;

    n = epoll_wait(l->epfd, evs, (int)ELEMENTSOF(evs), TAILQ_EMPTY(&l->deferred) ? timeout_ms : 0);
    if (n < 0) {
        if (errno != EINTR)
            return -errno;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        struct loop_source *s = evs[i].data.ptr;
        if (s->dead)
            continue;
        switch (s->kind) {
        case SRC_IO: s->cb.io(s, s->fd, evs[i].events, s->data); break;
        case SRC_TIMER: {
            uint64_t ticks;
            (void)!read(s->fd, &ticks, sizeof(ticks));
            s->cb.timer(s, s->data);
            break;
        }
        case SRC_SIGNAL: dispatch_signal(s); break;
        case SRC_CHILD: dispatch_child(s); break;
        }
    }
    /* Deferred work may queue more deferred work: run only what was queued up to now. */
    {
        TAILQ_HEAD(, deferred) batch = TAILQ_HEAD_INITIALIZER(batch);
        TAILQ_CONCAT(&batch, &l->deferred, link);
        while ((d = TAILQ_FIRST(&batch))) {
            TAILQ_REMOVE(&batch, d, link);
            d->cb(d->data);
            free(d);
        }
    }
    reap_dead(l);
    return n;
}

int loop_run(struct loop *l)
{
    while (!l->quitting) {
        int r = loop_run_once(l, -1);
        if (r < 0)
            return r;
    }
    return l->quit_code;
}

void loop_quit(struct loop *l, int code)
{
    l->quitting = true;
    l->quit_code = code;
}

void loop_resume(struct loop *l)
{
    l->quitting = false;
    l->quit_code = 0;
}

int loop_is_quitting(const struct loop *l)
{
    return l->quitting;
}

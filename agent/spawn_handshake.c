/* The parent side of the setup protocol, driven by the loop: an io source on the setup
 * socket, a deadline timer, and one done() per phase (see spawn.h for the state machine).
 * A child is bounded by the protocol itself: every message ends the phase except one pty. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define LOG_MODULE "spawn"
#include "cleanup.h"
#include "log.h"
#include "loop.h"

struct spawn {
    struct process *p;
    enum spawn_phase phase;
    struct loop_source *io, *timer;
    spawn_done_fn done;
    bool reaped;         /* the reaper collected the child: its pid is no longer ours to signal */
    bool child_reported; /* the failure is the child's own SYNC_ERROR (it exits by itself) */
};

bool spawn_busy(const struct process *p)
{
    return p->spawn != NULL;
}

static const char *phase_what(const struct spawn *s)
{
    return s->phase == SPAWN_SETUP ? "container process setup" : "starting process";
}

/* Free the handshake; the process stays. */
static void drop(struct process *p)
{
    struct spawn *s = p->spawn;
    p->spawn = NULL;
    loop_source_free(s->io);
    loop_source_free(s->timer);
    free(s);
}

/* End the phase: r == 0 success, else failure with err. done() runs last: it may free p. */
static void finish(struct spawn *s, int r, const struct cvm_err *err)
{
    struct process *p = s->p;
    spawn_done_fn done = s->done;
    bool setup = s->phase == SPAWN_SETUP, reaped = s->reaped;
    bool exits_itself = s->child_reported && !setup;

    drop(p);
    if (r == 0 && setup) {
        p->state = PROC_CREATED; /* p->sync_fd stays for the release */
    } else {
        p->sync_fd = safe_close(p->sync_fd);
        if (r == 0) {
            p->state = PROC_RUNNING;
        } else {
            /* A child that reported its own failure to exec exits by itself with 126/127, the
             * status runc gives; a SIGKILL racing that exit would turn it into 137. */
            if (!reaped && p->pid > 0 && !exits_itself)
                (void)kill(p->pid, SIGKILL); /* the reaper collects it */
            if (setup) {
                p->pid = 0; /* no process owns the pid any more */
                for (int i = 0; i < 3; i++)
                    p->fds[i] = safe_close(p->fds[i]);
            }
        }
    }
    if (r < 0)
        log_debug("container %s exec '%s': %s", p->c->id, p->exec_id, err->msg);
    done(p, r, err);
}

/* Fail with "<phase>: <detail>". */
static void fail(struct spawn *s, int r, const char *detail)
{
    struct cvm_err err = {0};
    cvm_err_set(&err, r, "%s: %s", phase_what(s), detail);
    finish(s, r, &err);
}

/* Fail with the child's own report (SYNC_ERROR): its errno and message, verbatim. */
static void fail_child(struct spawn *s, const struct sync_msg *m)
{
    struct cvm_err err = {0};
    int r = -(m->err > 0 && m->err < 4096 ? m->err : EIO);
    s->child_reported = true;
    cvm_err_set(&err, r, "%s", m->msg);
    finish(s, r, &err);
}

/* One message of the setup phase; true when it ended the phase. */
static bool setup_msg(struct spawn *s, const struct sync_msg *m, int passed)
{
    struct process *p = s->p;
    if (m->type == SYNC_PTY) {
        if (passed < 0 || !p->terminal || p->fds[STDIO_OUT] >= 0) {
            safe_close(passed);
            fail(s, -EPROTO, "unexpected pty");
            return true;
        }
        p->fds[STDIO_OUT] = passed;
        if (p->want[STDIO_IN] && (p->fds[STDIO_IN] = fcntl(passed, F_DUPFD_CLOEXEC, 3)) < 0) {
            struct cvm_err err = {0};
            finish(s, cvm_err_set(&err, -EMFILE, "out of file descriptors"), &err);
            return true;
        }
        return false;
    }
    safe_close(passed);
    if (m->type == SYNC_ERROR) {
        fail_child(s, m);
        return true;
    }
    if (m->type == SYNC_READY && s->reaped)
        return false; /* it died after all: EOF follows and fails the setup */
    if (m->type != SYNC_READY || (p->terminal && p->fds[STDIO_OUT] < 0)) {
        fail(s, -EPROTO, "unexpected message");
        return true;
    }
    finish(s, 0, NULL);
    return true;
}

/* Read until the phase ends or nothing is queued; at most the protocol's few messages. */
static void pump(struct spawn *s)
{
    for (;;) {
        struct sync_msg m;
        int passed = -1;
        int r = sync_try_recv_fd(s->p->sync_fd, &m, &passed);
        if (r == -EAGAIN && !s->reaped)
            return;
        if (r == -EAGAIN)
            r = -EPIPE; /* the child is gone: nothing more will come */
        if (s->phase == SPAWN_RELEASE) {
            safe_close(passed);
            if (r == -EPIPE) {
                finish(s, 0, NULL); /* close-on-exec: execve succeeded */
            } else if (r == 0 && m.type == SYNC_ERROR) {
                fail_child(s, &m);
            } else {
                fail(s, r < 0 ? r : -EPROTO, "no answer from the child");
            }
            return;
        }
        if (r < 0) {
            fail(s, r, r == -EPIPE ? "child died" : strerror(-r));
            return;
        }
        if (setup_msg(s, &m, passed))
            return;
    }
}

static void on_io(struct loop_source *src, int fd, uint32_t revents, void *data)
{
    (void)src;
    (void)fd;
    (void)revents;
    pump(data);
}

static void on_deadline(struct loop_source *src, void *data)
{
    struct spawn *s = data;
    (void)src;
    log_warn("container %s exec '%s' pid %d: no answer from the child in time, killing it",
             s->p->c->id, s->p->exec_id, (int)s->p->pid);
    fail(s, -ETIMEDOUT, s->phase == SPAWN_SETUP ? strerror(ETIMEDOUT) : "no answer from the child");
}

int spawn_handshake_start(struct loop *l, struct process *p, enum spawn_phase phase,
                          uint32_t timeout_ms, spawn_done_fn done, struct cvm_err *err)
{
    const char *what = phase == SPAWN_SETUP ? "container process setup" : "starting process";
    if (p->spawn || p->sync_fd < 0 || p->pid <= 0)
        return cvm_err_set(err, -EALREADY, "%s: handshake already running", what);
    struct spawn *s = calloc(1, sizeof(*s));
    if (!s)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    s->p = p;
    s->phase = phase;
    s->done = done;
    int r = loop_add_io(l, p->sync_fd, EPOLLIN, on_io, s, &s->io);
    if (r >= 0)
        r = loop_add_timer(l, (uint64_t)timeout_ms * 1000, on_deadline, s, &s->timer);
    if (r < 0) {
        loop_source_free(s->io);
        free(s);
        return cvm_err_set(err, r, "%s: event loop: %s", what, strerror(-r));
    }
    p->spawn = s;
    return 0;
}

void spawn_child_exited(struct process *p)
{
    struct spawn *s = p->spawn;
    if (!s)
        return;
    s->reaped = true;
    pump(s);
}

void spawn_abort(struct process *p)
{
    struct spawn *s = p->spawn;
    if (!s)
        return;
    if (!s->reaped && p->pid > 0)
        (void)kill(p->pid, SIGKILL);
    log_info("container %s exec '%s' pid %d: %s abandoned", p->c->id, p->exec_id, (int)p->pid,
             phase_what(s));
    drop(p);
}

/* The monitor: the process the caller watches (--pid-file). containerd's runc shim and conmon
 * reap it and report its exit status as the container's, so it exits with exactly what the
 * shim's Wait answers (128+signal for a signal death). It holds the stdio the caller gave us
 * (or the pty slave) open while the shim relays /proc/<monitor>/fd/{0,1,2}: the shim answers
 * Wait only after the output reached them, so nothing is lost when we exit.
 *
 * One loop: the Wait call (no deadline), signals sent to us forwarded to the process (the
 * runc shim signals an exec's pid directly), SIGWINCH turned into ResizePty. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "loop.h"
#include "rt.h"
#include "ttrpc.h"

#define STATUS_SHIM_LOST 255

struct mon {
    const struct rt_monitor_args *m;
    struct rt_shim *sh;
    struct loop *loop;
    int status;
};

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void waited(const struct ttrpc_result *res, void *data)
{
    struct mon *mo = data;
    if (res->code == 0) {
        Containerd__Task__V2__WaitResponse *w =
            containerd__task__v2__wait_response__unpack(NULL, res->len, res->payload);
        if (w) {
            mo->status = (int)(w->exit_status & 0xff);
            containerd__task__v2__wait_response__free_unpacked(w, NULL);
        }
    } else {
        rt_err(mo->m->ctx, "container %s: wait: %s", mo->m->id,
               res->message ? res->message : "failed");
    }
    loop_quit(mo->loop, 0);
}

static void ignore_reply(const struct ttrpc_result *res, void *data)
{
    (void)res, (void)data;
}

static const struct ttrpc_kv ns_md = {"containerd-namespace-ttrpc", RT_NAMESPACE};

static void resize(struct mon *mo)
{
    struct winsize ws;
    if (!mo->m->terminal || ioctl(0, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
        return;
    Containerd__Task__V2__ResizePtyRequest req = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
    req.id = (char *)mo->m->id;
    req.exec_id = (char *)mo->m->exec_id;
    req.width = ws.ws_col;
    req.height = ws.ws_row;
    (void)ttrpc_client_call(rt_shim_client(mo->sh), RT_TASK_SERVICE, "ResizePty", &req.base, &ns_md,
                            1, RT_CALL_TIMEOUT_NS, ignore_reply, NULL);
}

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
    struct mon *mo = data;
    (void)s;
    if (si->ssi_signo == SIGWINCH) {
        resize(mo);
        return;
    }
    Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    req.id = (char *)mo->m->id;
    req.exec_id = (char *)mo->m->exec_id;
    req.signal = si->ssi_signo;
    (void)ttrpc_client_call(rt_shim_client(mo->sh), RT_TASK_SERVICE, "Kill", &req.base, &ns_md, 1,
                            RT_CALL_TIMEOUT_NS, ignore_reply, NULL);
}

void rt_monitor_main(const struct rt_monitor_args *m)
{
    struct mon mo = {.m = m, .status = STATUS_SHIM_LOST};
    struct loop_source *sigs[8] = {0};
    char go = 0;
    ssize_t n;

    signal(SIGPIPE, SIG_IGN);
    (void)!chdir("/");
    /* block the forwarded signals now: one sent before the loop exists is still forwarded */
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGWINCH);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (m->terminal && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
        _exit(rt_err(m->ctx, "monitor: controlling terminal: %m"));
    if (write(m->ready_fd, "r", 1) != 1)
        _exit(1);
    close(m->ready_fd);
    while ((n = read(m->sync_fd, &go, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        _exit(1); /* create failed: nobody watches us */
    close(m->sync_fd);

    int r = rt_shim_connect(m->ctx, m->id, &mo.sh);
    if (r < 0)
        _exit(rt_err(m->ctx, "monitor: shim of %s: %s", m->id, strerror(-r)) ? STATUS_SHIM_LOST
                                                                             : 0);
    mo.loop = rt_shim_loop(mo.sh);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        (void)loop_add_signal(mo.loop, forwarded[i], on_signal, &mo, &sigs[i]);
    (void)loop_add_signal(mo.loop, SIGWINCH, on_signal, &mo, &sigs[7]);

    Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
    req.id = (char *)m->id;
    req.exec_id = (char *)m->exec_id;
    r = ttrpc_client_call(rt_shim_client(mo.sh), RT_TASK_SERVICE, "Wait", &req.base, &ns_md, 1, 0,
                          waited, &mo);
    if (r < 0)
        _exit(rt_err(m->ctx, "monitor: wait: %s", strerror(-r)) ? STATUS_SHIM_LOST : 0);
    if (m->exec_id[0])
        resize(&mo); /* an exec's terminal: the size it starts with */
    loop_run(mo.loop);

    if (m->exec_id[0]) {
        /* the exec is ours to forget once reaped (runc's exec leaves nothing either) */
        Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
        del.id = (char *)m->id;
        del.exec_id = (char *)m->exec_id;
        (void)rt_shim_call(mo.sh, "Delete", &del.base, RT_CALL_TIMEOUT_NS, NULL, NULL, NULL);
    }
    for (size_t i = 0; i < 8; i++)
        loop_source_free(sigs[i]);
    rt_shim_close(mo.sh);
    _exit(mo.status);
}

/* A hostile guest agent for test/e2e/62-hostile-agent.sh (issue 17, check (b)): a static PID 1
 * that speaks the agent protocol (proto/agent.proto: ttrpc on vsock port 1024, stdio streams
 * on port 1025) well enough for the real shim to boot the sandbox, create and start a
 * container and exec into it, and then misbehaves as the kernel argument cvm.hostile=<mode>
 * says. Nothing runs in the guest: containers and processes are bookkeeping only (an exec
 * prints "hostile-exec" and exits 0; an init process runs until signalled).
 *
 * Modes (each one case of the e2e tier):
 *   polite      behaves (the baseline; the tier uses it to see the fake is good enough)
 *   oomflood    every WaitOOM is answered at once with AGENT_MAX_OOM_IDS copies of the
 *               container's id: a TaskOOM flood as fast as the shim asks
 *   oversize    StatsContainer, ListProcesses and WaitOOM answers just under the 4 MiB frame
 *               cap, made of empty repeated sub-messages (2 bytes each on the wire, far more
 *               once unpacked); PauseContainer fails with a status carrying ~2M details
 *   malformed   every answer's payload is broken protobuf (truncated varints, lengths past
 *               the end, wire type 7, field 0, wrong wire types), rotating
 *   unknownids  WaitOOM names containers that are not this sandbox's (cvm.victim=<id>: the
 *               other sandbox's container), ListProcesses names unknown exec ids, and forged
 *               WaitProcess answers go to stream ids the shim never used or already closed
 *   stdoutflood stdout/stderr streams never end: 64 KiB writes as fast as the host reads,
 *               also after the process "exited" and WaitProcess was answered
 *   hang        once the init process's WaitProcess arrives: no answer ever again, and the
 *               agent connection is no longer read (the shim's writes pile up)
 *   garbage     after start: junk frames every 50 ms (DATA and unknown frame types, requests
 *               to the shim, responses for unknown/even/closed stream ids, a broken Response
 *               envelope on the live WaitOOM call, an oversized frame, an empty frame), normal
 *               calls still answered; the first ListProcesses is answered, then a frame whose
 *               length lies (misaligning the stream), then a 0xffffffff length header and
 *               random bytes for ever
 *
 * It reuses the project's frame codec (proto/ttrpc_frame.h), loop and generated messages, but
 * not ttrpc_server.c: a hostile peer must write bytes the server would never produce. Its three
 * files: this one (the API, connections, stdio streams, PID 1), hostile_wire.c (frames and
 * answers, malformed and oversized) and hostile_modes.c (the misbehaviour on timers). */
#include "hostile_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const mode_names[] = { "polite", "oomflood", "oversize", "malformed",
                                          "unknownids", "stdoutflood", "hang", "garbage" };

static struct loop *L;
enum mode mode;
char victim[AGENT_MAX_ID_LEN + 1];
struct proc procs[MAX_PROCS];
static uint32_t next_pid = 100;
uint8_t *big; /* scratch for the oversized answers */
uint8_t flood_chunk[FLOOD_CHUNK];
static uint64_t init_ns, ready_ns;
static struct conn *agent_conn; /* the latest API connection (the shim keeps one) */

/* ---- processes ---- */

static struct proc *proc_find(const char *cid, const char *eid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !strcmp(procs[i].cid, cid) && !strcmp(procs[i].eid, eid ? eid : ""))
            return &procs[i];
    return NULL;
}

static struct proc *proc_add(const char *cid, const char *eid)
{
    if (!cid || strlen(cid) > AGENT_MAX_ID_LEN || (eid && strlen(eid) > AGENT_MAX_ID_LEN))
        return NULL;
    for (int i = 0; i < MAX_PROCS; i++)
        if (!procs[i].used) {
            struct proc *p = &procs[i];
            memset(p, 0, sizeof(*p));
            p->used = true;
            snprintf(p->cid, sizeof(p->cid), "%s", cid);
            snprintf(p->eid, sizeof(p->eid), "%s", eid ? eid : "");
            p->pid = next_pid++;
            p->out_fd[0] = p->out_fd[1] = -1;
            return p;
        }
    return NULL;
}

const char *first_container(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !procs[i].eid[0])
            return procs[i].cid;
    return NULL;
}

void answer_wait(struct proc *p, uint32_t id, struct conn *c)
{
    Cvm__Agent__V1__WaitProcessResponse w = CVM__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    w.exit_status = p->status;
    w.pid = p->pid;
    w.exited_at_unix_ns = (uint64_t)time(NULL) * 1000000000ull;
    reply_msg(c, id, &w.base);
}

/* The process ends: its output streams end first (agent.proto: WaitProcess answers after the
 * output drained), except in stdoutflood, where they never do. */
static void proc_exit(struct proc *p, uint32_t status)
{
    if (p->exited)
        return;
    p->exited = true;
    p->status = status;
    if (mode != M_STDOUTFLOOD)
        for (int i = 0; i < 2; i++)
            if (p->out_fd[i] >= 0) {
                (void)shutdown(p->out_fd[i], SHUT_WR);
                p->out_fd[i] = -1; /* the stream source closes it on the host's EOF */
            }
    if (mode == M_OOMFLOOD && p->n_waits) {
        p->exit_deferred = true;
        return;
    }
    if (p->wconn && p->wconn == agent_conn)
        for (int i = 0; i < p->n_waits; i++)
            answer_wait(p, p->waits[i], p->wconn);
    p->n_waits = 0;
    if (agent_conn)
        conn_flush(agent_conn);
}

/* ---- the API ---- */

#define DECODE(type, fn, var)                                                                  \
    type *var = fn##__unpack(NULL, len, payload);                                              \
    if (!var) {                                                                                \
        send_response(c, id, 3, "bad request", NULL, 0);                                       \
        return;                                                                                \
    }

static void m_create(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__CreateContainerRequest, cvm__agent__v1__create_container_request, rq);
    struct proc *p = proc_find(rq->container_id, "") ? NULL : proc_add(rq->container_id, "");
    if (!p) {
        send_response(c, id, 6, "container exists or no room", NULL, 0);
    } else {
        Cvm__Agent__V1__CreateContainerResponse r = CVM__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
        r.pid = p->pid;
        reply_msg(c, id, &r.base);
        say("hostile: created %s", p->cid);
        if (mode == M_OOMFLOOD && c->oom_held)
            oom_answer(c);
    }
    cvm__agent__v1__create_container_request__free_unpacked(rq, NULL);
}

static void m_exec(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__ExecProcessRequest, cvm__agent__v1__exec_process_request, rq);
    if (!proc_find(rq->container_id, "") || proc_find(rq->container_id, rq->exec_id) ||
        !rq->exec_id[0] || !proc_add(rq->container_id, rq->exec_id))
        send_response(c, id, 5, "no such container, or exec exists", NULL, 0);
    else
        reply_empty(c, id);
    cvm__agent__v1__exec_process_request__free_unpacked(rq, NULL);
}

static void m_start(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__StartProcessRequest, cvm__agent__v1__start_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        Cvm__Agent__V1__StartProcessResponse r = CVM__AGENT__V1__START_PROCESS_RESPONSE__INIT;
        r.pid = p->pid;
        p->started = true;
        reply_msg(c, id, &r.base);
        if (p->eid[0]) { /* an exec says its word and exits */
            if (p->out_fd[0] >= 0 && mode != M_STDOUTFLOOD)
                (void)!write(p->out_fd[0], "hostile-exec\n", 13);
            proc_exit(p, 0);
        }
    }
    cvm__agent__v1__start_process_request__free_unpacked(rq, NULL);
}

static void m_wait(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__WaitProcessRequest, cvm__agent__v1__wait_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else if (p->exited && !(mode == M_OOMFLOOD && p->n_waits < MAX_WAITS)) {
        answer_wait(p, id, c);
    } else if (p->n_waits < MAX_WAITS) {
        p->exit_deferred = p->exited; /* oomflood: behind the next WaitOOM answer */
        p->waits[p->n_waits++] = id;
        p->wconn = c;
    }
    if (p && !p->eid[0] && mode == M_HANG && !p->exited) {
        say("hostile: hanging now");
        c->hung = true;
    }
    if (p && !p->eid[0] && (mode == M_GARBAGE || mode == M_UNKNOWNIDS) && !c->junk_timer)
        (void)loop_add_timer(L, 50000, junk_timer_cb, c, &c->junk_timer);
    cvm__agent__v1__wait_process_request__free_unpacked(rq, NULL);
}

static void m_signal(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__SignalProcessRequest, cvm__agent__v1__signal_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        reply_empty(c, id);
        if (rq->signal == SIGKILL || rq->signal == SIGTERM || rq->signal == SIGINT) {
            for (int i = 0; rq->all && i < MAX_PROCS; i++)
                if (procs[i].used && !strcmp(procs[i].cid, p->cid))
                    proc_exit(&procs[i], 128 + rq->signal);
            proc_exit(p, 128 + rq->signal);
        }
    }
    cvm__agent__v1__signal_process_request__free_unpacked(rq, NULL);
}

static void m_delete_process(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__DeleteProcessRequest, cvm__agent__v1__delete_process_request, rq);
    struct proc *p = proc_find(rq->container_id, rq->exec_id);
    if (!p) {
        send_response(c, id, 5, "not found", NULL, 0);
    } else {
        Cvm__Agent__V1__DeleteProcessResponse r = CVM__AGENT__V1__DELETE_PROCESS_RESPONSE__INIT;
        r.exit_status = p->status;
        r.pid = p->pid;
        reply_msg(c, id, &r.base);
        p->used = false;
    }
    cvm__agent__v1__delete_process_request__free_unpacked(rq, NULL);
}

static void m_remove(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__RemoveContainerRequest, cvm__agent__v1__remove_container_request, rq);
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !strcmp(procs[i].cid, rq->container_id)) {
            proc_exit(&procs[i], 137);
            procs[i].used = false;
        }
    reply_empty(c, id);
    cvm__agent__v1__remove_container_request__free_unpacked(rq, NULL);
}

static void m_list(struct conn *c, uint32_t id, const uint8_t *payload, size_t len)
{
    DECODE(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request, rq);
    if (mode == M_OVERSIZE) {
        reply_big_list(c, id);
    } else {
        Cvm__Agent__V1__ProcessInfo pi[MAX_PROCS + 4], *list[MAX_PROCS + 4];
        Cvm__Agent__V1__ListProcessesResponse r = CVM__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
        static char l200[201];
        memset(l200, 'e', 200);
        size_t n = 0;
        for (int i = 0; i < MAX_PROCS; i++)
            if (procs[i].used && !strcmp(procs[i].cid, rq->container_id) && !procs[i].exited) {
                cvm__agent__v1__process_info__init(&pi[n]);
                pi[n].pid = procs[i].pid;
                pi[n].exec_id = procs[i].eid;
                list[n] = &pi[n];
                n++;
            }
        if (mode == M_UNKNOWNIDS) { /* processes the shim never started */
            char *fake[] = { "ghost", l200, victim[0] ? victim : "victim", "../../etc" };
            for (size_t i = 0; i < 4; i++) {
                cvm__agent__v1__process_info__init(&pi[n]);
                pi[n].pid = 9000 + (uint32_t)i;
                pi[n].exec_id = fake[i];
                list[n] = &pi[n];
                n++;
            }
        }
        r.processes = list;
        r.n_processes = n;
        reply_msg(c, id, &r.base);
    }
    if (mode == M_GARBAGE && !c->flood) {
        conn_flush(c);
        garbage_phase2(c);
    }
    cvm__agent__v1__container_request__free_unpacked(rq, NULL);
}

static void m_stats(struct conn *c, uint32_t id)
{
    if (mode == M_OVERSIZE) {
        reply_big_stats(c, id);
        return;
    }
    Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
    Io__Containerd__Cgroups__V2__PidsStat ps = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
    Cvm__Agent__V1__StatsResponse r = CVM__AGENT__V1__STATS_RESPONSE__INIT;
    ps.current = 1;
    m.pids = &ps;
    r.metrics = &m;
    reply_msg(c, id, &r.base);
}

static void shutdown_cb(struct loop_source *s, void *data)
{
    (void)s;
    (void)data;
    say("hostile: powering off");
    sync();
    reboot(RB_POWER_OFF);
}

static void dispatch(struct conn *c, uint32_t id, const char *method, const uint8_t *payload, size_t len)
{
    if (!strcmp(method, "Health")) {
        Cvm__Agent__V1__HealthResponse h = CVM__AGENT__V1__HEALTH_RESPONSE__INIT;
        h.serving = true;
        h.init_uptime_ns = init_ns;
        h.ready_uptime_ns = ready_ns;
        h.uptime_ns = boottime_ns();
        reply_msg(c, id, &h.base);
    } else if (!strcmp(method, "Version")) {
        Cvm__Agent__V1__VersionResponse v = CVM__AGENT__V1__VERSION_RESPONSE__INIT;
        v.agent_version = "hostile";
        v.api_version = 1;
        v.kernel = "";
        reply_msg(c, id, &v.base);
    } else if (!strcmp(method, "CreateContainer")) {
        m_create(c, id, payload, len);
    } else if (!strcmp(method, "ExecProcess")) {
        m_exec(c, id, payload, len);
    } else if (!strcmp(method, "StartProcess")) {
        m_start(c, id, payload, len);
    } else if (!strcmp(method, "WaitProcess")) {
        m_wait(c, id, payload, len);
    } else if (!strcmp(method, "SignalProcess")) {
        m_signal(c, id, payload, len);
    } else if (!strcmp(method, "DeleteProcess")) {
        m_delete_process(c, id, payload, len);
    } else if (!strcmp(method, "RemoveContainer")) {
        m_remove(c, id, payload, len);
    } else if (!strcmp(method, "ListProcesses")) {
        m_list(c, id, payload, len);
    } else if (!strcmp(method, "StatsContainer")) {
        m_stats(c, id);
    } else if (!strcmp(method, "PauseContainer") && mode == M_OVERSIZE) {
        reply_big_status(c, id);
    } else if (!strcmp(method, "WaitOOM")) {
        if (c->oom_held) {
            send_response(c, id, 9, "one WaitOOM at a time", NULL, 0);
            return;
        }
        c->oom_held = id;
        if (mode == M_OOMFLOOD && first_container())
            oom_answer(c);
        else if (mode == M_OVERSIZE || mode == M_UNKNOWNIDS || mode == M_MALFORMED)
            loop_timer_set(c->oom_timer, mode == M_OVERSIZE ? 200000 : 100000);
    } else if (!strcmp(method, "Shutdown")) {
        reply_empty(c, id);
        struct loop_source *t;
        (void)loop_add_timer(L, 100000, shutdown_cb, NULL, &t);
    } else if (!strcmp(method, "PauseContainer") || !strcmp(method, "ResumeContainer") ||
               !strcmp(method, "ResizeTty") || !strcmp(method, "CloseStdin") ||
               !strcmp(method, "UpdateContainer") || !strcmp(method, "ConfigureNetwork") ||
               !strcmp(method, "ListNetwork")) {
        reply_empty(c, id);
    } else {
        send_response(c, id, 12, "method not implemented", NULL, 0);
    }
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    if (agent_conn == c)
        agent_conn = NULL;
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].wconn == c) {
            procs[i].wconn = NULL;
            procs[i].n_waits = 0;
        }
    loop_source_free(c->src);
    loop_source_free(c->oom_timer);
    loop_source_free(c->junk_timer);
    close(c->fd);
    ttrpc_reader_done(&c->rd);
    buf_done(&c->out);
    free(c);
}

static void conn_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct conn *c = data;
    struct ttrpc_frame f;
    (void)s;
    if (revents & EPOLLOUT)
        conn_flush(c);
    if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->hung)
        return;
    long n = ttrpc_reader_read_fd(&c->rd, fd);
    if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
        conn_free(c);
        return;
    }
    while (!c->hung && ttrpc_reader_next(&c->rd, &f) == 1) {
        if (f.oversized || f.hdr.type != TTRPC_TYPE_REQUEST)
            continue;
        Ttrpc__Request *rq = ttrpc__request__unpack(NULL, f.hdr.length, f.payload);
        if (!rq)
            continue;
        dispatch(c, f.hdr.stream_id, rq->method, rq->payload.data, rq->payload.len);
        ttrpc__request__free_unpacked(rq, NULL);
    }
    conn_flush(c);
}

static void api_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)revents;
    (void)data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(cfd);
        return;
    }
    c->fd = cfd;
    ttrpc_reader_init(&c->rd, TTRPC_MAX_PAYLOAD);
    buf_init(&c->out, OUT_CAP);
    if (loop_add_io(L, cfd, EPOLLIN, conn_cb, c, &c->src) < 0 ||
        loop_add_timer(L, 0, oom_timer_cb, c, &c->oom_timer) < 0) {
        conn_free(c);
        return;
    }
    agent_conn = c;
}

/* ---- stdio streams (port 1025) ---- */

static void stream_free(struct stream *st)
{
    if (st->p && st->p->out_fd[st->k] == st->fd)
        st->p->out_fd[st->k] = -1;
    loop_source_free(st->src);
    close(st->fd);
    free(st);
}

static void stream_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct stream *st = data;
    (void)s;
    if (st->flood && (revents & EPOLLOUT)) {
        memset(flood_chunk, 'F', sizeof(flood_chunk));
        for (int i = 0; i < 64; i++)
            if (write(fd, flood_chunk, sizeof(flood_chunk)) < 0)
                break;
    }
    if (st->ready) { /* stdin bytes, or the host's close of an output stream */
        char b[4096];
        ssize_t n = (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? read(fd, b, sizeof(b)) : -1;
        if (n == 0 || (n < 0 && (revents & (EPOLLHUP | EPOLLERR))))
            stream_free(st);
        return;
    }
    while (st->got < sizeof(st->line) - 1) {
        ssize_t n = read(fd, st->line + st->got, 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            stream_free(st);
            return;
        }
        if (st->line[st->got++] != '\n')
            continue;
        st->line[st->got - 1] = 0;
        char cid[80], eid[80], kind[16];
        struct proc *p = NULL;
        if (sscanf(st->line, "STREAM %79s %79s %15s", cid, eid, kind) == 3)
            p = proc_find(cid, strcmp(eid, "-") ? eid : "");
        if (!p) {
            (void)!write(fd, "ERR no such process\n", 20);
            stream_free(st);
            return;
        }
        (void)!write(fd, "OK\n", 3);
        st->ready = true;
        if (!strcmp(kind, "stdout") || !strcmp(kind, "stderr")) {
            int k = !strcmp(kind, "stderr");
            if (mode == M_STDOUTFLOOD) {
                st->flood = true;
                (void)loop_io_set_events(st->src, EPOLLIN | EPOLLOUT);
            } else if (p->exited) {
                (void)shutdown(fd, SHUT_WR);
            } else {
                p->out_fd[k] = fd;
                st->p = p;
                st->k = k;
            }
        }
        return;
    }
    stream_free(st);
}

static void stdio_accept_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)revents;
    (void)data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    struct stream *st = calloc(1, sizeof(*st));
    if (!st) {
        close(cfd);
        return;
    }
    st->fd = cfd;
    if (loop_add_io(L, cfd, EPOLLIN, stream_cb, st, &st->src) < 0) {
        close(cfd);
        free(st);
    }
}

/* ---- PID 1 ---- */

static int listen_vsock(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void read_cmdline(void)
{
    char cmd[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    cmd[n] = 0;
    for (char *t = strtok(cmd, " \n"); t; t = strtok(NULL, " \n")) {
        if (!strncmp(t, "cvm.hostile=", 12)) {
            for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (!strcmp(t + 12, mode_names[i]))
                    mode = (enum mode)i;
        } else if (!strncmp(t, "cvm.victim=", 11)) {
            snprintf(victim, sizeof(victim), "%s", t + 11);
        }
    }
}

static void die(const char *what)
{
    say("hostile: %s: %s; powering off", what, strerror(errno));
    reboot(RB_POWER_OFF);
    _exit(1);
}

int main(void)
{
    struct loop_source *a1, *a2;
    int fd;

    init_ns = boottime_ns();
    (void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    (void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    read_cmdline();
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)init_ns);
    big = malloc(TTRPC_MAX_PAYLOAD + 64);
    if (!big)
        die("malloc");
    if (loop_new(&L) < 0)
        die("loop");
    int api = listen_vsock(AGENT_PORT), io = listen_vsock(AGENT_STDIO_PORT);
    if (api < 0 || io < 0)
        die("vsock listen");
    if (loop_add_io(L, api, EPOLLIN, api_accept_cb, NULL, &a1) < 0 ||
        loop_add_io(L, io, EPOLLIN, stdio_accept_cb, NULL, &a2) < 0)
        die("loop_add_io");
    ready_ns = boottime_ns();
    say("hostile: ready, mode %s%s%s", mode_names[mode], victim[0] ? ", victim " : "", victim);
    loop_run(L);
    die("loop ended");
    return 1;
}

/* agent/spawn_handshake.c: the parent side of the setup protocol on the loop, against
 * scripted children (fork + a socketpair, no namespaces): every outcome of both phases,
 * the deadline, the child dying before its messages are read (the reaper first), the
 * process removed mid-handshake; done() exactly once, no fd left behind. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/spawn.h"
#include "check_main.h"
#include "fd.h"
#include "loop.h"
#include "ttrpc.h"

static struct agent A;
static struct container *C;
static int fds_at_start;

struct result {
    int calls;
    int r, code;
    char msg[256];
    enum proc_state state;
    pid_t pid;
    int fd_in, fd_out, sync_fd;
};
static struct result R;
static int n_ok, n_noent, n_died, n_timedout; /* every done() by outcome */

static void setup(void)
{
    memset(&A, 0, sizeof(A));
    memset(&R, 0, sizeof(R));
    n_ok = n_noent = n_died = n_timedout = 0;
    fds_at_start = fd_count_open();
    ck_assert_int_eq(loop_new(&A.loop), 0);
    agent_global = &A;
    ck_assert_int_eq(reaper_init(&A), 0);
    C = calloc(1, sizeof(*C));
    ck_assert_ptr_nonnull(C);
    strcpy(C->id, "c1");
    A.containers = C;
    A.n_containers = 1;
}

static void teardown(void)
{
    while (A.containers)
        container_free(&A, A.containers);
    A.sigchld = loop_source_free(A.sigchld);
    loop_run_once(A.loop, 0);
    loop_free(A.loop);
    ck_assert_int_eq(fd_count_open(), fds_at_start);
}

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* As the RPC handlers do: a failed setup frees its process. */
static void on_done(struct process *p, int r, const struct cvm_err *err)
{
    R.calls++;
    R.r = r;
    n_ok += r == 0;
    n_noent += r == -ENOENT;
    n_died += r == -EPIPE;
    n_timedout += r == -ETIMEDOUT;
    R.code = err ? err->code : 0;
    snprintf(R.msg, sizeof(R.msg), "%s", err ? err->msg : "");
    R.state = p->state;
    R.pid = p->pid;
    R.fd_in = p->fds[STDIO_IN];
    R.fd_out = p->fds[STDIO_OUT];
    R.sync_fd = p->sync_fd;
    ck_assert_ptr_null(p->spawn);
    if (r < 0 && p->state == PROC_SPAWNING) {
        if (p->c->init == p)
            p->c->init = NULL;
        process_free(p);
    }
}

static void run_until_done(int calls, int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    while (R.calls < calls && ms_now() < end)
        ck_assert_int_ge(loop_run_once(A.loop, 20), 0);
}

static void run_for(int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    while (ms_now() < end)
        ck_assert_int_ge(loop_run_once(A.loop, 10), 0);
}

typedef void (*script_fn)(int fd);

/* The container's init as a scripted child, in PROC_SPAWNING with the parent end of the
 * setup socket, as spawn_process() leaves it. */
static struct process *new_child(script_fn script, bool terminal)
{
    struct process *p;
    int sv[2];
    ck_assert_int_eq(process_new(C, "", &p), 0);
    C->init = p;
    p->terminal = terminal;
    p->want[STDIO_IN] = terminal;
    p->want[STDIO_OUT] = terminal;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* as child.c's fds are at execve: only the setup socket (the test's ttrpc
         * connection must not live on in here) */
        if (fd_close_all_except(3, &sv[1], 1) < 0)
            _exit(125);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        script(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    ck_assert_int_eq(fd_set_nonblock(sv[0], 1), 0);
    p->pid = pid;
    p->sync_fd = sv[0];
    p->state = PROC_SPAWNING;
    return p;
}

static void start_setup(struct process *p, uint32_t timeout_ms)
{
    struct cvm_err err = {0};
    ck_assert_int_eq(spawn_handshake_start(A.loop, p, SPAWN_SETUP, timeout_ms, on_done, &err), 0);
    ck_assert(spawn_busy(p));
}

/* Wait (without reaping) for the child to be a zombie, then do what the reaper does: the
 * exit is seen before any of the child's messages were read. */
static void exit_before_messages(pid_t pid)
{
    siginfo_t si;
    int st;
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    struct process *p = agent_find_pid(&A, pid);
    ck_assert_ptr_nonnull(p);
    process_on_exit(p, st);
}

static bool child_gone_within(pid_t pid, int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    while (ms_now() < end) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        loop_run_once(A.loop, 10); /* the reaper collects it */
    }
    return false;
}

/* ---- child scripts ---- */
#define NOT_FOUND_MSG "exec: \"none\": executable file not found in $PATH"

static void wait_start(int fd)
{
    struct sync_msg m;
    if (sync_recv(fd, &m, 5000) < 0 || m.type != SYNC_START)
        _exit(125);
}
static void s_ready_exec(int fd) /* ready; on start "exec" (the socket closes), live on */
{
    sync_send(fd, SYNC_READY, 0, NULL);
    wait_start(fd);
    close(fd);
    usleep(200 * 1000);
    _exit(0);
}
static void s_ready_exit_at_once(int fd) /* ready; on start exec something that exits at once */
{
    sync_send(fd, SYNC_READY, 0, NULL);
    wait_start(fd);
    _exit(3);
}
static void s_not_found(int fd)
{
    sync_send(fd, SYNC_ERROR, ENOENT, NOT_FOUND_MSG);
    _exit(127);
}
static void s_die(int fd)
{
    (void)fd;
    _exit(125);
}
static void s_ready_then_die(int fd)
{
    sync_send(fd, SYNC_READY, 0, NULL);
    _exit(9);
}
static void s_hang(int fd)
{
    (void)fd;
    sleep(30);
}
static void s_pty(int fd)
{
    int pf[2];
    if (pipe2(pf, O_CLOEXEC) < 0)
        _exit(125);
    sync_send_fd(fd, SYNC_PTY, pf[0]);
    sync_send(fd, SYNC_READY, 0, NULL);
    sleep(30);
}
static void s_ready_no_pty(int fd)
{
    sync_send(fd, SYNC_READY, 0, NULL);
    sleep(30);
}
static void s_short_msg(int fd)
{
    (void)!write(fd, "R", 1);
    sleep(30);
}
static void s_exec_fails(int fd)
{
    sync_send(fd, SYNC_READY, 0, NULL);
    wait_start(fd);
    sync_send(fd, SYNC_ERROR, EACCES, "exec: \"/bin/x\": Permission denied");
    _exit(126);
}
static void s_hang_after_start(int fd)
{
    sync_send(fd, SYNC_READY, 0, NULL);
    wait_start(fd);
    sleep(30);
}

/* ---- setup phase ---- */

START_TEST(setup_ready_then_release)
{
    struct process *p = new_child(s_ready_exec, false);
    pid_t pid = p->pid;
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, 0);
    ck_assert_int_eq(p->state, PROC_CREATED);
    ck_assert_int_ge(p->sync_fd, 0);
    ck_assert_int_eq(p->pid, pid);
    ck_assert(!spawn_busy(p));

    struct cvm_err err = {0};
    memset(&R, 0, sizeof(R));
    ck_assert_int_eq(spawn_release(p, on_done, &err), 0);
    ck_assert_int_eq(R.calls, 0); /* never from inside spawn_release() */
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, 0);
    ck_assert_int_eq(R.state, PROC_RUNNING);
    ck_assert_int_lt(p->sync_fd, 0);
    /* then the exit, as for any running process */
    uint64_t end = ms_now() + 2000;
    while (p->state != PROC_DONE && ms_now() < end)
        loop_run_once(A.loop, 20);
    ck_assert_int_eq(p->state, PROC_DONE);
    ck_assert_int_eq(p->exit_status, 0);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(setup_child_error)
{
    struct process *p = new_child(s_not_found, false);
    pid_t pid = p->pid;
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -ENOENT);
    ck_assert_int_eq(R.code, RPC_NOT_FOUND);
    ck_assert_str_eq(R.msg, NOT_FOUND_MSG);
    ck_assert_int_eq(R.pid, 0);
    ck_assert_ptr_null(C->init);
    ck_assert(child_gone_within(pid, 1000));
    run_for(50);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

/* The reaper runs before the io source: the error the child queued still wins. */
START_TEST(setup_child_error_reaped_first)
{
    struct process *p = new_child(s_not_found, false);
    pid_t pid = p->pid;
    start_setup(p, 2000);
    exit_before_messages(pid);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -ENOENT);
    ck_assert_str_eq(R.msg, NOT_FOUND_MSG);
    ck_assert_ptr_null(C->init);
    run_for(100);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(setup_child_dies)
{
    struct process *p = new_child(s_die, false);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -EPIPE);
    ck_assert_int_eq(R.code, RPC_UNAVAILABLE);
    ck_assert_str_eq(R.msg, "container process setup: child died");
    run_for(50);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(setup_child_dies_reaped_first)
{
    struct process *p = new_child(s_die, false);
    start_setup(p, 2000);
    exit_before_messages(p->pid);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_str_eq(R.msg, "container process setup: child died");
    ck_assert_ptr_null(C->init);
}
END_TEST

/* READY queued, then dead: a dead child cannot be started, the setup fails. */
START_TEST(setup_ready_then_dies_reaped_first)
{
    struct process *p = new_child(s_ready_then_die, false);
    start_setup(p, 2000);
    exit_before_messages(p->pid);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -EPIPE);
    ck_assert_str_eq(R.msg, "container process setup: child died");
    ck_assert_ptr_null(C->init);
}
END_TEST

START_TEST(setup_deadline)
{
    struct process *p = new_child(s_hang, false);
    pid_t pid = p->pid;
    uint64_t t0 = ms_now();
    start_setup(p, 200);
    run_until_done(1, 2000);
    uint64_t dt = ms_now() - t0;
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -ETIMEDOUT);
    ck_assert_int_eq(R.code, RPC_DEADLINE_EXCEEDED);
    ck_assert_str_eq(R.msg, "container process setup: Connection timed out");
    ck_assert_uint_ge(dt, 190);
    ck_assert_uint_lt(dt, 1500);
    ck_assert(child_gone_within(pid, 1000)); /* killed and reaped */
    run_for(300);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

/* The container goes while its init sets up (RemoveContainer --force, shutdown): the child
 * is killed, done() never runs, nothing leaks (teardown counts fds; ASan the memory). */
START_TEST(setup_container_removed)
{
    struct process *p = new_child(s_hang, false);
    pid_t pid = p->pid;
    start_setup(p, 500);
    run_for(30);
    container_free(&A, C);
    ck_assert(child_gone_within(pid, 1000));
    run_for(700); /* past the deadline: nothing fires */
    ck_assert_int_eq(R.calls, 0);
}
END_TEST

START_TEST(setup_pty)
{
    struct process *p = new_child(s_pty, true);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.r, 0);
    ck_assert_int_ge(p->fds[STDIO_OUT], 0);
    ck_assert_int_ge(p->fds[STDIO_IN], 0); /* stdin wanted: a dup of the master */
    ck_assert_int_ne(p->fds[STDIO_IN], p->fds[STDIO_OUT]);
}
END_TEST

START_TEST(setup_unexpected_pty)
{
    struct process *p = new_child(s_pty, false);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.r, -EPROTO);
    ck_assert_str_eq(R.msg, "container process setup: unexpected pty");
}
END_TEST

START_TEST(setup_terminal_without_pty)
{
    struct process *p = new_child(s_ready_no_pty, true);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.r, -EPROTO);
    ck_assert_str_eq(R.msg, "container process setup: unexpected message");
}
END_TEST

START_TEST(setup_short_message)
{
    struct process *p = new_child(s_short_msg, false);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.r, -EBADMSG);
    ck_assert_ptr_nonnull(strstr(R.msg, "container process setup: "));
}
END_TEST

/* ---- release phase ---- */

static struct process *created(script_fn script)
{
    struct process *p = new_child(script, false);
    start_setup(p, 2000);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.r, 0);
    ck_assert_int_eq(p->state, PROC_CREATED);
    memset(&R, 0, sizeof(R));
    return p;
}

/* The process exec'd and exited before its EOF was read: still a successful start. */
START_TEST(release_exit_reaped_first)
{
    struct process *p = created(s_ready_exit_at_once);
    struct cvm_err err = {0};
    ck_assert_int_eq(spawn_release(p, on_done, &err), 0);
    exit_before_messages(p->pid);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, 0);
    ck_assert_int_eq(R.state, PROC_RUNNING); /* started first, then exited */
    ck_assert_int_eq(p->state, PROC_DONE);
    ck_assert_int_eq(p->exit_status, 3);
    run_for(50);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(release_exec_error)
{
    struct process *p = created(s_exec_fails);
    struct cvm_err err = {0};
    ck_assert_int_eq(spawn_release(p, on_done, &err), 0);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -EACCES);
    ck_assert_int_eq(R.code, RPC_PERMISSION_DENIED);
    ck_assert_str_eq(R.msg, "exec: \"/bin/x\": Permission denied");
    ck_assert_int_eq(R.state, PROC_CREATED);
    ck_assert_int_lt(R.sync_fd, 0);
    uint64_t end = ms_now() + 2000;
    while (p->state != PROC_DONE && ms_now() < end)
        loop_run_once(A.loop, 20);
    ck_assert_int_eq(p->exit_status, 126);
    /* a second Start finds no setup socket */
    memset(&err, 0, sizeof(err));
    ck_assert_int_lt(spawn_release(p, on_done, &err), 0);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(release_exec_error_reaped_first)
{
    struct process *p = created(s_exec_fails);
    struct cvm_err err = {0};
    ck_assert_int_eq(spawn_release(p, on_done, &err), 0);
    exit_before_messages(p->pid);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -EACCES);
    ck_assert_str_eq(R.msg, "exec: \"/bin/x\": Permission denied");
    ck_assert_int_eq(p->state, PROC_DONE);
    ck_assert_int_eq(p->exit_status, 126);
}
END_TEST

START_TEST(release_deadline)
{
    struct process *p = created(s_hang_after_start);
    struct cvm_err err = {0};
    ck_assert_int_eq(sync_send(p->sync_fd, SYNC_START, 0, NULL), 0);
    ck_assert_int_eq(spawn_handshake_start(A.loop, p, SPAWN_RELEASE, 200, on_done, &err), 0);
    run_until_done(1, 2000);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.r, -ETIMEDOUT);
    ck_assert_str_eq(R.msg, "starting process: no answer from the child");
    /* killed; the reaper reports its exit as for any process */
    uint64_t end = ms_now() + 2000;
    while (p->state != PROC_DONE && ms_now() < end)
        loop_run_once(A.loop, 20);
    ck_assert_int_eq(p->state, PROC_DONE);
    ck_assert_int_eq(p->exit_status, 128 + SIGKILL);
    ck_assert_int_eq(R.calls, 1);
}
END_TEST

START_TEST(release_container_removed)
{
    struct process *p = created(s_hang_after_start);
    pid_t pid = p->pid;
    struct cvm_err err = {0};
    ck_assert_int_eq(spawn_release(p, on_done, &err), 0);
    run_for(30);
    container_free(&A, C);
    ck_assert(child_gone_within(pid, 1000));
    ck_assert_int_eq(R.calls, 0);
}
END_TEST

START_TEST(handshake_refused_twice)
{
    struct process *p = new_child(s_hang, false);
    struct cvm_err err = {0};
    start_setup(p, 2000);
    ck_assert_int_eq(spawn_handshake_start(A.loop, p, SPAWN_SETUP, 2000, on_done, &err), -EALREADY);
    ck_assert_int_eq(spawn_release(p, on_done, &err), -EALREADY); /* not created yet */
    ck_assert_int_eq(R.calls, 0);
}
END_TEST

/* Many setups at once, each ending its own way, in one loop. */
START_TEST(many_at_once)
{
    static const script_fn scripts[] = {s_ready_no_pty, s_not_found, s_die, s_hang};
    for (int i = 0; i < 16; i++) {
        C = calloc(1, sizeof(*C));
        ck_assert_ptr_nonnull(C);
        snprintf(C->id, sizeof(C->id), "m%d", i);
        C->next = A.containers;
        A.containers = C;
        A.n_containers++;
        start_setup(new_child(scripts[i % 4], false), 300);
    }
    run_until_done(16, 3000);
    ck_assert_int_eq(R.calls, 16);
    ck_assert_int_eq(n_ok, 4);
    ck_assert_int_eq(n_noent, 4);
    ck_assert_int_eq(n_died, 4);
    ck_assert_int_eq(n_timedout, 4);
    size_t created = 0;
    for (struct container *c = A.containers; c; c = c->next)
        created += c->init && c->init->state == PROC_CREATED;
    ck_assert_uint_eq(created, 4);
    run_for(100);
    ck_assert_int_eq(R.calls, 16);
}
END_TEST

/* ---- the call a spawn answers later (process_hold_spawn_call), as CreateContainer and
 * ExecProcess keep theirs: answered once, or dropped when its connection goes ---- */

static struct ttrpc_server *srv;
static struct ttrpc_client *cli;
static int held_done_calls, held_done_had_call;

static void s_ready_later(int fd)
{
    usleep(300 * 1000);
    sync_send(fd, SYNC_READY, 0, NULL);
    sleep(30);
}

static void held_done(struct process *p, int r, const struct cvm_err *err)
{
    struct ttrpc_call *call = process_take_spawn_call(p);
    held_done_calls++;
    held_done_had_call = call != NULL;
    if (call && r < 0)
        ttrpc_call_reply_errno(call, r, err);
    else if (call)
        ttrpc_call_reply(call, NULL);
}

static void h_hold(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    struct cvm_err err = {0};
    (void)payload;
    (void)len;
    (void)ud;
    struct process *p = new_child(s_ready_later, false);
    ck_assert_int_eq(spawn_handshake_start(A.loop, p, SPAWN_SETUP, 2000, held_done, &err), 0);
    process_hold_spawn_call(p, call);
}

static const struct ttrpc_method test_methods[] = {{"Hold", h_hold}};

static void setup_calls(void)
{
    int sv[2];
    setup();
    held_done_calls = held_done_had_call = 0;
    struct ttrpc_server_opts o = {0};
    ck_assert_int_eq(ttrpc_server_new(A.loop, &o, &srv), 0);
    ck_assert_int_eq(ttrpc_server_register(srv, "test.Spawn", test_methods, 1, &A), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(srv, sv[0]), 0);
    ck_assert_int_eq(ttrpc_client_new(A.loop, sv[1], &cli), 0);
}

static void teardown_calls(void)
{
    ttrpc_client_free(cli);
    loop_run_once(A.loop, 0);
    while (A.containers)
        container_free(&A, A.containers);
    ttrpc_server_free(srv);
    teardown();
}

struct reply {
    int n, code;
    char msg[256];
};

static void on_reply(const struct ttrpc_result *res, void *data)
{
    struct reply *rp = data;
    rp->n++;
    rp->code = res->code;
    snprintf(rp->msg, sizeof(rp->msg), "%s", res->message ? res->message : "");
}

static void call_hold(struct reply *rp)
{
    ck_assert_int_eq(ttrpc_client_call_raw(cli, "test.Spawn", "Hold", NULL, 0, NULL, 0, 0, on_reply, rp), 0);
    uint64_t end = ms_now() + 1000;
    while (!C->init && ms_now() < end)
        loop_run_once(A.loop, 10);
    ck_assert_ptr_nonnull(C->init);
}

START_TEST(call_answered_when_setup_ends)
{
    struct reply rp = {0};
    call_hold(&rp);
    run_for(100);
    ck_assert_int_eq(rp.n, 0); /* the child is not ready yet: no answer */
    uint64_t end = ms_now() + 2000;
    while (!rp.n && ms_now() < end)
        loop_run_once(A.loop, 10);
    ck_assert_int_eq(rp.n, 1);
    ck_assert_int_eq(rp.code, RPC_OK);
    ck_assert_int_eq(held_done_calls, 1);
    ck_assert(held_done_had_call);
}
END_TEST

START_TEST(call_dropped_when_client_goes)
{
    struct reply rp = {0};
    call_hold(&rp);
    ttrpc_client_free(cli); /* the server sees EOF and cancels the held call */
    cli = NULL;
    ck_assert_int_eq(rp.n, 1);
    ck_assert_int_eq(rp.code, RPC_CANCELLED);
    run_for(50);
    ck_assert_ptr_null(C->init->spawn_call);
    uint64_t end = ms_now() + 2000;
    while (!held_done_calls && ms_now() < end)
        loop_run_once(A.loop, 10);
    ck_assert_int_eq(held_done_calls, 1); /* the setup went on, answered to nobody */
    ck_assert(!held_done_had_call);
    ck_assert_int_eq(C->init->state, PROC_CREATED);
}
END_TEST

START_TEST(call_failed_when_container_removed)
{
    struct reply rp = {0};
    call_hold(&rp);
    run_for(30);
    pid_t pid = C->init->pid;
    container_free(&A, C);
    uint64_t end = ms_now() + 1000;
    while (!rp.n && ms_now() < end)
        loop_run_once(A.loop, 10);
    ck_assert_int_eq(rp.n, 1);
    ck_assert_int_eq(rp.code, RPC_NOT_FOUND);
    ck_assert_str_eq(rp.msg, "container c1 exec '': process removed");
    ck_assert(child_gone_within(pid, 1000));
    run_for(400);
    ck_assert_int_eq(held_done_calls, 0);
    ck_assert_int_eq(rp.n, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_spawn");
    TCase *tc = tcase_create("handshake");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, setup_ready_then_release);
    tcase_add_test(tc, setup_child_error);
    tcase_add_test(tc, setup_child_error_reaped_first);
    tcase_add_test(tc, setup_child_dies);
    tcase_add_test(tc, setup_child_dies_reaped_first);
    tcase_add_test(tc, setup_ready_then_dies_reaped_first);
    tcase_add_test(tc, setup_deadline);
    tcase_add_test(tc, setup_container_removed);
    tcase_add_test(tc, setup_pty);
    tcase_add_test(tc, setup_unexpected_pty);
    tcase_add_test(tc, setup_terminal_without_pty);
    tcase_add_test(tc, setup_short_message);
    tcase_add_test(tc, release_exit_reaped_first);
    tcase_add_test(tc, release_exec_error);
    tcase_add_test(tc, release_exec_error_reaped_first);
    tcase_add_test(tc, release_deadline);
    tcase_add_test(tc, release_container_removed);
    tcase_add_test(tc, handshake_refused_twice);
    tcase_add_test(tc, many_at_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("calls");
    tcase_add_checked_fixture(tc, setup_calls, teardown_calls);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, call_answered_when_setup_ends);
    tcase_add_test(tc, call_dropped_when_client_goes);
    tcase_add_test(tc, call_failed_when_container_removed);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

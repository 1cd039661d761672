/* The shim daemon of one container, driven as containerd drives it: `start` (cwd = the
 * container's state dir, which is the daemon's "bundle" for its address and log files; the
 * OCI bundle itself is only named in Create), then Task calls over ttrpc.
 *
 * Events: the daemon publishes to containerd, and there is none here: CVM_SHIM_EVENTS=none
 * makes its publisher count and drop them (shim/events/events.h), so a daemon's exit never
 * waits on a delivery. Our callers learn exits from the monitor. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "fs_beneath.h"
#include "loop.h"
#include "rt.h"
#include "ttrpc.h"

#define SHUTDOWN_WAIT_MS 15000

struct rt_shim {
    struct loop *loop;
    struct ttrpc_client *client;
    pid_t shim_pid;
};

/* The last failed call's message: outlives the connection (callers close, then report). */
static char last_msg[1024];

extern char **environ;

struct loop *rt_shim_loop(struct rt_shim *sh)
{
    return sh->loop;
}

struct ttrpc_client *rt_shim_client(struct rt_shim *sh)
{
    return sh->client;
}

/* Run the shim binary with a subcommand in the state dir; its stdout into out (n bytes). */
static int run_shim(const struct rt_ctx *ctx, const char *id, const char *sub, char *out, size_t n,
                    char *errbuf, size_t errn)
{
    char dir[PATH_MAX], evaddr[PATH_MAX + 32];
    int op[2], ep[2];
    rt_dir_path(ctx, id, dir, sizeof(dir));
    snprintf(evaddr, sizeof(evaddr), "TTRPC_ADDRESS=%s/%s/events.sock", ctx->root, id);
    char *argv[] = {
        (char *)ctx->shim_bin, "-namespace", RT_NAMESPACE, "-id",       (char *)id, "-address",
        (char *)ctx->root,     "-bundle",    dir,          (char *)sub, NULL,       NULL};
    if (ctx->a->debug) {
        argv[9] = "-debug";
        argv[10] = (char *)sub;
    }
    if (pipe2(op, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(op[0]), close(op[1]);
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
        return r;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nul < 0 || chdir(dir) < 0 || dup2(nul, 0) < 0 || dup2(op[1], 1) < 0 ||
            dup2(ep[1], 2) < 0)
            _exit(127);
        putenv(evaddr);
        putenv("CVM_SHIM_EVENTS=none");
        execve(ctx->shim_bin, argv, environ);
        dprintf(2, "exec %s: %m", ctx->shim_bin);
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    /* start prints the address and exits; its daemon has /dev/null for stdio, so EOF comes */
    ssize_t got = read_all(op[0], out, n - 1);
    out[got > 0 ? got : 0] = 0;
    ssize_t egot = read_all(ep[0], errbuf, errn - 1);
    errbuf[egot > 0 ? egot : 0] = 0;
    close(op[0]);
    close(ep[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int connect_addr(const char *addr, const char *id, struct rt_shim **ret)
{
    const char *path = strncmp(addr, "unix://", 7) == 0 ? addr + 7 : addr;
    struct rt_shim *sh = calloc(1, sizeof(*sh));
    int fd = -EBADF, r;
    if (!sh)
        return -ENOMEM;
    if ((r = loop_new(&sh->loop)) < 0 || (r = ttrpc_dial_unix(path, &fd)) < 0 ||
        (r = ttrpc_client_new(sh->loop, TAKE_FD(fd), &sh->client)) < 0) {
        rt_shim_close(sh);
        return r;
    }
    Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
    req.id = (char *)id;
    _cleanup_free_ uint8_t *out = NULL;
    size_t len = 0;
    const char *msg;
    r = rt_shim_call(sh, "Connect", &req.base, RT_CALL_TIMEOUT_NS, &out, &len, &msg);
    if (r == 0) {
        Containerd__Task__V2__ConnectResponse *cr =
            containerd__task__v2__connect_response__unpack(NULL, len, out);
        if (cr) {
            sh->shim_pid = (pid_t)cr->shim_pid;
            containerd__task__v2__connect_response__free_unpacked(cr, NULL);
        }
    }
    *ret = sh;
    return 0;
}

int rt_shim_spawn(const struct rt_ctx *ctx, const char *id, struct rt_shim **ret)
{
    char addr[512], errbuf[1024];
    _cleanup_close_ int dfd = fsb_open_dir(ctx->root_fd, id, true);
    if (dfd < 0)
        return dfd;
    /* the daemon logs to "log" in its cwd: a plain file here (containerd's is a FIFO) */
    _cleanup_close_ int lfd = openat(dfd, "log", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lfd < 0)
        return -errno;
    int r = run_shim(ctx, id, "start", addr, sizeof(addr), errbuf, sizeof(errbuf));
    if (r < 0) {
        rt_err(ctx, "shim start: %s", errbuf[0] ? errbuf : "failed");
        return r;
    }
    addr[strcspn(addr, "\n")] = 0;
    return connect_addr(addr, id, ret);
}

int rt_shim_connect(const struct rt_ctx *ctx, const char *id, struct rt_shim **ret)
{
    char addr[512];
    _cleanup_close_ int dfd = fsb_open_dir(ctx->root_fd, id, true);
    if (dfd < 0)
        return dfd;
    _cleanup_close_ int fd = openat(dfd, "address", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read_all(fd, addr, sizeof(addr) - 1);
    if (n <= 0)
        return n < 0 ? (int)n : -ENOENT;
    addr[n] = 0;
    addr[strcspn(addr, "\n")] = 0;
    return connect_addr(addr, id, ret);
}

void rt_shim_close(struct rt_shim *sh)
{
    if (!sh)
        return;
    ttrpc_client_free(sh->client);
    if (sh->loop)
        loop_run_once(sh->loop, 0);
    loop_free(sh->loop);
    free(sh);
}

int rt_shim_call(struct rt_shim *sh, const char *method, const ProtobufCMessage *req,
                 uint64_t timeout_ns, uint8_t **ret_payload, size_t *ret_len, const char **ret_msg)
{
    struct ttrpc_kv md = {"containerd-namespace-ttrpc", RT_NAMESPACE};
    struct cvm_err err = {0};
    uint8_t *out = NULL;
    size_t len = 0;
    int r = ttrpc_client_call_sync(sh->client, sh->loop, RT_TASK_SERVICE, method, req, &md, 1,
                                   timeout_ns, &out, &len, &err);
    if (r < 0) {
        snprintf(last_msg, sizeof(last_msg), "%s", err.msg[0] ? err.msg : strerror(-r));
        if (ret_msg)
            *ret_msg = last_msg;
        free(out);
        return r;
    }
    if (ret_payload) {
        *ret_payload = out;
        *ret_len = len;
    } else {
        free(out);
    }
    return 0;
}

int rt_shim_shutdown(struct rt_shim *sh, const char *id)
{
    Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    req.id = (char *)id;
    req.now = 1;
    _cleanup_close_ int pidfd =
        sh->shim_pid > 0 ? (int)syscall(SYS_pidfd_open, sh->shim_pid, 0) : -1;
    /* the reply may be lost with the daemon's exit: what counts is that the process goes */
    (void)rt_shim_call(sh, "Shutdown", &req.base, RT_CALL_TIMEOUT_NS, NULL, NULL, NULL);
    if (pidfd < 0)
        return 0;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, SHUTDOWN_WAIT_MS)) < 0 && errno == EINTR)
        ;
    return r > 0 ? 0 : -ETIMEDOUT;
}

int rt_shim_cleanup(const struct rt_ctx *ctx, const char *id)
{
    char out[512], errbuf[1024];
    return run_shim(ctx, id, "delete", out, sizeof(out), errbuf, sizeof(errbuf));
}

const char *rt_status_name(int st)
{
    switch (st) {
    case 1: return "created";
    case 2: return "running";
    case 3: return "stopped";
    case 4: return "paused";
    case 5: return "pausing";
    default: return "unknown";
    }
}

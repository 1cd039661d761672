/* create (and run): a state dir, the monitor, the shim daemon, Task Create with the monitor's
 * stdio, the pty master to --console-socket, then the pid file. Prestart and createRuntime
 * hooks run inside the shim's Create with QEMU's pid, whose netns is the VM's (a fresh one when
 * the spec names none): Docker's libnetwork-setkey adds the veth there and the shim joins it
 * to a NIC of the VM (shim/sandbox_net.c). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "launch.h"
#include "rt.h"
#include "runtimeoptions/v1/api.pb-c.h"

#define SPEC_MAX (4u << 20)

struct spec_bits {
    bool terminal;
    char root[PATH_MAX];
};

static int read_spec(const char *bundle, struct spec_bits *ret, char *err, size_t n)
{
    char path[PATH_MAX + 16];
    json_error_t je;
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, n, "open %s: %m", path);
        return -errno;
    }
    _cleanup_free_ char *buf = malloc(SPEC_MAX);
    ssize_t len = buf ? read_all(fd, buf, SPEC_MAX) : -ENOMEM;
    if (len < 0) {
        snprintf(err, n, "read %s: %s", path, strerror((int)-len));
        return (int)len;
    }
    json_t *spec = json_loadb(buf, (size_t)len, 0, &je);
    if (!spec) {
        snprintf(err, n, "%s: %s", path, je.text);
        return -EINVAL;
    }
    ret->terminal = json_is_true(json_object_get(json_object_get(spec, "process"), "terminal"));
    const char *root = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
    if (!root)
        root = "rootfs";
    if (root[0] == '/')
        snprintf(ret->root, sizeof(ret->root), "%s", root);
    else
        snprintf(ret->root, sizeof(ret->root), "%s/%s", bundle, root);
    json_decref(spec);
    return 0;
}

static void now_rfc3339(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

/* Go's os/exec leaves a closed stdio fd closed; the shim needs something to open for each. */
static void fill_stdio(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0) {
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0 && nul != fd) {
                dup2(nul, fd);
                close(nul);
            }
        }
}

enum { STDIO_PATH, STDIO_NONE };

/* What the shim can be given for one of our stdio fds: a pipe, FIFO or terminal it opens
 * through /proc/<monitor>/fd/N and polls; nothing for /dev/null (stdin: EOF at once; output:
 * discarded, as the shim does for an empty path). A regular file or a socket cannot be polled
 * or reopened that way: -EINVAL, named to the user. */
static int stdio_kind(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd)))
        return STDIO_PATH;
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
        return STDIO_NONE;
    return -EINVAL; /* "Invalid argument": a pipe, a terminal or /dev/null is needed */
}

static int abspath(const char *p, char *out, size_t n)
{
    char cwd[PATH_MAX];
    if (p[0] == '/') {
        snprintf(out, n, "%s", p);
        return 0;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        return -errno;
    snprintf(out, n, "%s/%s", cwd, p);
    return 0;
}

/* Spawn the monitor; returns its pid once its stdio is in place (the shim opens
 * /proc/<pid>/fd/N right after: before the monitor's dup2 that would be our own stdio). In the
 * child: never returns. */
static pid_t fork_monitor(const struct rt_ctx *ctx, const char *id, const char *exec_id,
                          bool terminal, int slave, int master, int sync[2])
{
    int ready[2];
    char b;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(ready[0]), close(ready[1]);
        return r;
    }
    if (pid > 0) {
        close(ready[1]);
        ssize_t n;
        while ((n = read(ready[0], &b, 1)) < 0 && errno == EINTR)
            ;
        close(ready[0]);
        if (n != 1) { /* it died setting up */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            return -EIO;
        }
        return pid;
    }
    close(sync[1]);
    close(ready[0]);
    if (terminal) {
        close(master);
        if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
            _exit(1);
        close(slave);
    }
    struct rt_monitor_args m = {ctx, id, exec_id, sync[0], ready[1], terminal};
    rt_monitor_main(&m);
}

int rt_launch_begin(const struct rt_ctx *ctx, const char *id, const char *exec_id, bool terminal,
                    struct launch *l)
{
    int r;
    l->master = l->slave = -1;
    l->sync[0] = l->sync[1] = -1;
    fill_stdio();
    if (terminal && (r = rt_pty_open(&l->master, &l->slave)) < 0)
        return rt_err(ctx, "allocate a pty: %s", strerror(-r)), r;
    if (pipe2(l->sync, O_CLOEXEC) < 0)
        return rt_err(ctx, "pipe: %m"), -errno;
    l->monitor = fork_monitor(ctx, id, exec_id, terminal, l->slave, l->master, l->sync);
    if (l->monitor < 0)
        return rt_err(ctx, "fork: %s", strerror(-l->monitor)), l->monitor;
    close(l->sync[0]);
    l->sync[0] = -1;
    if (l->slave >= 0)
        l->slave = safe_close(l->slave);
    if (terminal) {
        snprintf(l->in, sizeof(l->in), "/proc/%d/fd/0", (int)l->monitor);
        snprintf(l->out, sizeof(l->out), "/proc/%d/fd/1", (int)l->monitor);
        l->err[0] = 0; /* a terminal has one output stream */
        return 0;
    }
    char *paths[3] = {l->in, l->out, l->err};
    for (int fd = 0; fd < 3; fd++) {
        r = stdio_kind(fd);
        if (r < 0)
            return rt_err(ctx, "%s: %s",
                          fd == 0   ? "stdin"
                          : fd == 1 ? "stdout"
                                    : "stderr",
                          strerror(-r)),
                   r;
        if (r == STDIO_PATH)
            snprintf(paths[fd], sizeof(l->in), "/proc/%d/fd/%d", (int)l->monitor, fd);
        else
            paths[fd][0] = 0;
    }
    return 0;
}

/* Success: the master to the console socket (if any), the pid file, then let the monitor go. */
int rt_launch_commit(const struct rt_ctx *ctx, struct launch *l, const char *console,
                     const char *pid_file)
{
    int r;
    if (l->master >= 0 && console && (r = rt_console_send(console, l->master)) < 0)
        return rt_err(ctx, "send the pty master to %s: %s", console, strerror(-r)), r;
    l->master = safe_close(l->master);
    if (pid_file && (r = rt_pidfile_write(pid_file, l->monitor)) < 0)
        return rt_err(ctx, "write pid file %s: %s", pid_file, strerror(-r)), r;
    if (write(l->sync[1], "g", 1) != 1)
        return rt_err(ctx, "release the monitor: %m"), -errno;
    l->sync[1] = safe_close(l->sync[1]);
    return 0;
}

/* Failure: the monitor sees EOF and exits; reap it (it is still our child). */
void rt_launch_abort(struct launch *l)
{
    l->master = safe_close(l->master);
    l->slave = safe_close(l->slave);
    l->sync[1] = safe_close(l->sync[1]);
    if (l->monitor > 0)
        while (waitpid(l->monitor, NULL, 0) < 0 && errno == EINTR)
            ;
    l->monitor = 0;
}

static void undo_create(const struct rt_ctx *ctx, const char *id, struct rt_shim *sh,
                        struct launch *l)
{
    rt_launch_abort(l);
    if (sh) {
        (void)rt_shim_shutdown(sh, id);
        rt_shim_close(sh);
    }
    (void)rt_shim_cleanup(ctx, id);
    (void)rt_dir_remove(ctx, id);
}

static int create(struct rt_ctx *ctx, const char *id, const char *bundle_arg, const char *pid_arg,
                  const char *console, pid_t *ret_monitor)
{
    struct rt_state st = {0};
    struct spec_bits sb = {0};
    struct launch l = {0};
    struct rt_shim *sh = NULL;
    char pid_file[PATH_MAX], emsg[1024];
    const char *msg = NULL;
    int r;

    if ((r = abspath(bundle_arg ? bundle_arg : ".", st.bundle, sizeof(st.bundle))) < 0)
        return rt_err(ctx, "bundle: %s", strerror(-r));
    if (pid_arg && (r = abspath(pid_arg, pid_file, sizeof(pid_file))) < 0)
        return rt_err(ctx, "pid file: %s", strerror(-r));
    if (read_spec(st.bundle, &sb, emsg, sizeof(emsg)) < 0)
        return rt_err(ctx, "%s", emsg);
    if (sb.terminal && !console)
        return rt_err(ctx,
                      "cannot allocate tty if runc will detach without setting console socket");
    if (!sb.terminal && console)
        return rt_err(ctx, "cannot use console socket if runc will not detach or allocate tty");
    r = rt_dir_create(ctx, id);
    if (r == -EEXIST)
        return rt_err(ctx, "container with id exists: %s", id);
    if (r < 0)
        return rt_err(ctx, "state dir %s/%s: %s", ctx->root, id, strerror(-r));
    snprintf(st.id, sizeof(st.id), "%s", id);
    snprintf(st.rootfs, sizeof(st.rootfs), "%s", sb.root);
    now_rfc3339(st.created, sizeof(st.created));
    st.terminal = sb.terminal;
    if ((r = rt_state_save(ctx, &st)) < 0) {
        (void)rt_dir_remove(ctx, id);
        return rt_err(ctx, "save state: %s", strerror(-r));
    }
    if (rt_launch_begin(ctx, id, "", sb.terminal, &l) < 0) {
        undo_create(ctx, id, NULL, &l);
        return 1;
    }
    if ((r = rt_shim_spawn(ctx, id, &sh)) < 0) {
        undo_create(ctx, id, NULL, &l);
        return rt_err(ctx, "start the shim for %s: %s", id, strerror(-r));
    }
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    Runtimeoptions__V1__Options ro = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    _cleanup_free_ uint8_t *ro_buf = NULL;
    req.id = (char *)id;
    req.bundle = st.bundle;
    req.terminal = sb.terminal;
    req.stdin = l.in;
    req.stdout = l.out;
    req.stderr = l.err;
    if (ctx->a->cvm_config) {
        ro.config_path = (char *)ctx->a->cvm_config;
        ro_buf = malloc(runtimeoptions__v1__options__get_packed_size(&ro) + 1);
        if (!ro_buf) {
            undo_create(ctx, id, sh, &l);
            return rt_err(ctx, "out of memory");
        }
        any.type_url = "runtimeoptions.v1.Options";
        any.value.len = runtimeoptions__v1__options__pack(&ro, ro_buf);
        any.value.data = ro_buf;
        req.options = &any;
    }
    r = rt_shim_call(sh, "Create", &req.base, RT_CREATE_TIMEOUT_NS, NULL, NULL, &msg);
    if (r < 0) {
        snprintf(emsg, sizeof(emsg), "%s", msg ? msg : strerror(-r));
        undo_create(ctx, id, sh, &l);
        return rt_err(ctx, "create %s: %s", id, emsg);
    }
    if ((r = rt_monitor_save(ctx, id, l.monitor)) < 0 ||
        rt_launch_commit(ctx, &l, console, pid_arg ? pid_file : NULL) < 0) {
        if (r < 0)
            rt_err(ctx, "save the monitor's identity: %s", strerror(-r));
        (void)kill(l.monitor, SIGKILL);
        undo_create(ctx, id, sh, &l);
        return 1;
    }
    rt_shim_close(sh);
    if (ret_monitor)
        *ret_monitor = l.monitor;
    return 0;
}

int rt_cmd_create(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx);
    if (!id)
        return 1;
    return create(ctx, id, rt_flag(ctx->a, "bundle"), rt_flag(ctx->a, "pid-file"),
                  rt_flag(ctx->a, "console-socket"), NULL);
}

/* run = create + start; without --detach we wait for our own monitor and take its status. */
int rt_cmd_run(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx);
    pid_t mon = 0;
    if (!id)
        return 1;
    bool detach = rt_flag_bool(ctx->a, "detach");
    int r = create(ctx, id, rt_flag(ctx->a, "bundle"), rt_flag(ctx->a, "pid-file"),
                   rt_flag(ctx->a, "console-socket"), &mon);
    if (r != 0)
        return r;
    r = rt_start_id(ctx, id);
    if (r != 0 || detach)
        return r;
    int status;
    while (waitpid(mon, &status, 0) < 0)
        if (errno != EINTR)
            return rt_err(ctx, "wait for the monitor: %m");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

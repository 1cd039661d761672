/* exec: one more process in the running container (Task Exec + Start), watched by its own
 * monitor, whose pid goes to --pid-file (--detach) or which we wait for and whose status we
 * return. The process comes from --process (what Docker and podman pass) or, as in runc, from
 * the operands and --env/--cwd/--user/--tty. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "launch.h"
#include "rt.h"

#define PROCESS_MAX (1u << 20)
#define PROCESS_URL "types.containerd.io/opencontainers/runtime-spec/1/Process"

static json_t *process_from_file(const struct rt_ctx *ctx, const char *path)
{
    json_error_t je;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rt_err(ctx, "open %s: %m", path);
        return NULL;
    }
    _cleanup_free_ char *buf = malloc(PROCESS_MAX);
    ssize_t n = buf ? read_all(fd, buf, PROCESS_MAX) : -ENOMEM;
    if (n < 0) {
        rt_err(ctx, "read %s: %s", path, strerror((int)-n));
        return NULL;
    }
    json_t *p = json_loadb(buf, (size_t)n, 0, &je);
    if (!p || !json_is_object(p)) {
        json_decref(p);
        rt_err(ctx, "%s: not a process JSON object: %s", path, je.text);
        return NULL;
    }
    return p;
}

/* runc's way without --process: the operands are the command; uid[:gid] numeric. */
static json_t *process_from_args(const struct rt_ctx *ctx)
{
    const struct rt_args *a = ctx->a;
    if (a->n_operands < 2) {
        rt_err(ctx, "exec: a command or --process is required");
        return NULL;
    }
    json_t *args = json_array(), *env = json_array();
    for (size_t i = 1; i < a->n_operands; i++)
        json_array_append_new(args, json_string(a->operands[i]));
    json_array_append_new(
        env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    for (size_t i = 0; i < a->n_flags; i++)
        if (strcmp(a->flags[i].name, "env") == 0)
            json_array_append_new(env, json_string(a->flags[i].value));
    long uid = 0, gid = 0;
    const char *user = rt_flag(a, "user");
    if (user) {
        char *end;
        uid = strtol(user, &end, 10);
        if (*end == ':')
            gid = strtol(end + 1, &end, 10);
        if (*end || uid < 0 || gid < 0) {
            json_decref(args), json_decref(env);
            rt_err(ctx, "exec: --user must be uid[:gid] (numbers)");
            return NULL;
        }
    }
    const char *cwd = rt_flag(a, "cwd");
    return json_pack("{s:b, s:o, s:o, s:s, s:{s:I, s:I}}", "terminal", rt_flag_bool(a, "tty"),
                     "args", args, "env", env, "cwd", cwd ? cwd : "/", "user", "uid",
                     (json_int_t)uid, "gid", (json_int_t)gid);
}

int rt_cmd_exec(struct rt_ctx *ctx)
{
    const char *id = rt_id_operand(ctx), *pfile = rt_flag(ctx->a, "process"), *msg = NULL;
    const char *console = rt_flag(ctx->a, "console-socket"), *pid_arg = rt_flag(ctx->a, "pid-file");
    struct rt_state st;
    struct rt_shim *sh = NULL;
    struct launch l = {0};
    char exec_id[40], pid_file[PATH_MAX], emsg[1024];
    uint8_t rnd[8];
    int r;

    if (!id)
        return 1;
    json_t *proc = pfile ? process_from_file(ctx, pfile) : process_from_args(ctx);
    if (!proc)
        return 1;
    if (rt_flag_bool(ctx->a, "tty"))
        json_object_set_new(proc, "terminal", json_true());
    bool terminal = json_is_true(json_object_get(proc, "terminal"));
    _cleanup_free_ char *spec = json_dumps(proc, JSON_COMPACT);
    json_decref(proc);
    if (!spec)
        return rt_err(ctx, "out of memory");
    if (terminal && !console)
        return rt_err(ctx,
                      "cannot allocate tty if runc will detach without setting console socket");
    if (!terminal && console)
        return rt_err(ctx, "cannot use console socket if runc will not detach or allocate tty");
    if (pid_arg) {
        char cwd[PATH_MAX];
        if (pid_arg[0] != '/' && !getcwd(cwd, sizeof(cwd)))
            return rt_err(ctx, "getcwd: %m");
        snprintf(pid_file, sizeof(pid_file), "%s%s%s", pid_arg[0] == '/' ? "" : cwd,
                 pid_arg[0] == '/' ? "" : "/", pid_arg);
    }
    r = rt_state_load(ctx, id, &st);
    if (r < 0)
        return rt_err(ctx, r == -ENOENT ? "container does not exist" : "state of %s: %s", id,
                      strerror(-r));
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return rt_err(ctx, "getrandom: %m");
    snprintf(exec_id, sizeof(exec_id), "exec-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if ((r = rt_shim_connect(ctx, id, &sh)) < 0)
        return rt_err(ctx, "cannot exec in a stopped container");
    if (rt_launch_begin(ctx, id, exec_id, terminal, &l) < 0) {
        rt_launch_abort(&l);
        rt_shim_close(sh);
        return 1;
    }
    Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = PROCESS_URL;
    any.value.data = (uint8_t *)spec;
    any.value.len = strlen(spec);
    req.id = (char *)id;
    req.exec_id = exec_id;
    req.terminal = terminal;
    req.stdin = l.in;
    req.stdout = l.out;
    req.stderr = l.err;
    req.spec = &any;
    r = rt_shim_call(sh, "Exec", &req.base, RT_CALL_TIMEOUT_NS, NULL, NULL, &msg);
    if (r == 0) {
        Containerd__Task__V2__StartRequest sreq = CONTAINERD__TASK__V2__START_REQUEST__INIT;
        sreq.id = (char *)id;
        sreq.exec_id = exec_id;
        r = rt_shim_call(sh, "Start", &sreq.base, RT_CALL_TIMEOUT_NS, NULL, NULL, &msg);
        if (r < 0) {
            snprintf(emsg, sizeof(emsg), "%s", msg);
            Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
            del.id = (char *)id;
            del.exec_id = exec_id;
            (void)rt_shim_call(sh, "Delete", &del.base, RT_CALL_TIMEOUT_NS, NULL, NULL, NULL);
            msg = emsg;
        }
    }
    if (r < 0 && msg != emsg)
        snprintf(emsg, sizeof(emsg), "%s", msg ? msg : strerror(-r));
    rt_shim_close(sh); /* msg pointed into it */
    if (r < 0) {
        rt_launch_abort(&l);
        return rt_err(ctx, "exec failed: %s", emsg);
    }
    if (rt_launch_commit(ctx, &l, console, pid_arg ? pid_file : NULL) < 0) {
        rt_launch_abort(&l);
        return 1;
    }
    if (rt_flag_bool(ctx->a, "detach"))
        return 0;
    int status;
    while (waitpid(l.monitor, &status, 0) < 0)
        if (errno != EINTR)
            return rt_err(ctx, "wait for the exec's monitor: %m");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

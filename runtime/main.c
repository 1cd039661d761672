/* cvm-runtime: runc's command line, each container in a VM of the shim's making. See rt.h and
 * the README ("Docker and podman"). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define RT_VERSION "0.1.0"
#define RT_SHIM_NAME "containerd-shim-cvm-v1"

static const struct {
    const char *name;
    int (*fn)(struct rt_ctx *);
} commands[] = {
    {"create", rt_cmd_create}, {"start", rt_cmd_start},   {"run", rt_cmd_run},
    {"state", rt_cmd_state},   {"list", rt_cmd_list},     {"kill", rt_cmd_kill},
    {"delete", rt_cmd_delete}, {"exec", rt_cmd_exec},     {"ps", rt_cmd_ps},
    {"pause", rt_cmd_pause},   {"resume", rt_cmd_resume}, {"update", rt_cmd_update},
    {"events", rt_cmd_events},
};

static void usage(void)
{
    fputs("usage: cvm-runtime [--root DIR] [--log FILE] [--log-format text|json] [--cvm-config "
          "FILE]\n"
          "                   COMMAND [flags] ID [args]\n"
          "commands: create start run state list kill delete exec ps pause resume update events\n",
          stdout);
}

/* The shim next to us (make install puts both in PREFIX/bin); CVM_SHIM overrides (tests). */
static int find_shim(struct rt_ctx *ctx)
{
    ssize_t n = readlink("/proc/self/exe", ctx->self, sizeof(ctx->self) - 1);
    if (n < 0)
        return -errno;
    ctx->self[n] = 0;
    const char *env = getenv("CVM_SHIM");
    if (env && env[0] == '/') {
        snprintf(ctx->shim_bin, sizeof(ctx->shim_bin), "%s", env);
        return 0;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", ctx->self);
    snprintf(ctx->shim_bin, sizeof(ctx->shim_bin), "%s/%s", dirname(dir), RT_SHIM_NAME);
    return access(ctx->shim_bin, X_OK) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
    struct rt_args a;
    struct rt_ctx ctx = {.a = &a, .root_fd = -1, .log_fd = -1};
    char err[512];
    int r;

    signal(SIGPIPE, SIG_IGN);
    if (rt_args_parse(argc, argv, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "cvm-runtime: %s\n", err);
        return 1;
    }
    if (a.version) {
        printf("cvm-runtime version %s\nspec: 1.0.2\n", RT_VERSION);
        return 0;
    }
    if (a.help || !a.cmd) {
        usage();
        return 0;
    }
    if (a.log && *a.log) {
        ctx.log_fd = open(a.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (ctx.log_fd < 0)
            fprintf(stderr, "cvm-runtime: open log %s: %m\n", a.log);
    }
    ctx.log_json = a.log_format && strcmp(a.log_format, "json") == 0;
    if ((r = find_shim(&ctx)) < 0)
        return rt_err(&ctx, "%s: %s (install it next to cvm-runtime, or set CVM_SHIM)",
                      ctx.shim_bin, strerror(-r));
    if ((r = rt_root_open(&ctx)) < 0)
        return rt_err(&ctx, "root %s: %s", a.root ? a.root : RT_DEFAULT_ROOT, strerror(-r));
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, a.cmd) == 0)
            return commands[i].fn(&ctx);
    return rt_err(&ctx, "unknown command %s", a.cmd);
}

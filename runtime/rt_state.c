/* The state tree under --root. Only cvm-runtime writes it (0700, root's): the guest's share
 * lives under the shim's own run dir, never here, so nothing in this tree is guest-writable.
 * Entries are still opened beneath the root fd without following links (fs_beneath.h), so a
 * link planted by anyone cannot redirect a write or a removal. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "fs_beneath.h"
#include "sandbox/pidfile.h"
#include "rt.h"

#define STATE_MAX (64u * 1024u)

bool rt_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > RT_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

int rt_root_open(struct rt_ctx *ctx)
{
    const char *root = ctx->a->root && *ctx->a->root ? ctx->a->root : RT_DEFAULT_ROOT;
    if (root[0] != '/' || strlen(root) >= sizeof(ctx->root) - RT_ID_MAX - 32)
        return -EINVAL;
    snprintf(ctx->root, sizeof(ctx->root), "%s", root);
    int r = mkdir_p(ctx->root, 0711, 0700);
    if (r < 0 && r != -EEXIST)
        return r;
    ctx->root_fd = open(ctx->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return ctx->root_fd < 0 ? -errno : 0;
}

void rt_dir_path(const struct rt_ctx *ctx, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", ctx->root, id);
}

int rt_dir_create(const struct rt_ctx *ctx, const char *id)
{
    if (mkdirat(ctx->root_fd, id, 0700) < 0)
        return -errno;
    return 0;
}

int rt_dir_remove(const struct rt_ctx *ctx, const char *id)
{
    return fsb_rm_tree(ctx->root_fd, id);
}

char *rt_state_format(const struct rt_state *st)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", st->id, "bundle", st->bundle, "rootfs",
                          st->rootfs, "created", st->created, "terminal", st->terminal);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static int copy_str(json_t *o, const char *key, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= n)
        return -EINVAL;
    snprintf(out, n, "%s", v);
    return 0;
}

int rt_state_parse(const char *text, size_t len, struct rt_state *ret)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int r = -EINVAL;
    memset(ret, 0, sizeof(*ret));
    if (o && json_is_object(o) && copy_str(o, "id", ret->id, sizeof(ret->id)) == 0 &&
        rt_id_valid(ret->id) && copy_str(o, "bundle", ret->bundle, sizeof(ret->bundle)) == 0 &&
        copy_str(o, "rootfs", ret->rootfs, sizeof(ret->rootfs)) == 0 &&
        copy_str(o, "created", ret->created, sizeof(ret->created)) == 0 &&
        json_is_boolean(json_object_get(o, "terminal"))) {
        ret->terminal = json_is_true(json_object_get(o, "terminal"));
        r = 0;
    }
    json_decref(o);
    return r;
}

/* <root>/<id> as an fd, no link followed. */
static int open_cdir(const struct rt_ctx *ctx, const char *id)
{
    if (!rt_id_valid(id))
        return -EINVAL;
    return fsb_open_dir(ctx->root_fd, id, true); /* O_PATH: enough for the *at calls */
}

static int write_atomic(int dfd, const char *name, const char *text)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    (void)unlinkat(dfd, tmp, 0);
    _cleanup_close_ int fd =
        openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (write_all(fd, text, strlen(text)) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
        int r = -errno;
        (void)unlinkat(dfd, tmp, 0);
        return r;
    }
    return 0;
}

int rt_state_save(const struct rt_ctx *ctx, const struct rt_state *st)
{
    _cleanup_close_ int dfd = open_cdir(ctx, st->id);
    _cleanup_free_ char *text = rt_state_format(st);
    if (dfd < 0)
        return dfd;
    if (!text)
        return -ENOMEM;
    return write_atomic(dfd, "state.json", text);
}

int rt_state_load(const struct rt_ctx *ctx, const char *id, struct rt_state *ret)
{
    _cleanup_close_ int dfd = open_cdir(ctx, id);
    if (dfd < 0)
        return dfd;
    _cleanup_close_ int fd = openat(dfd, "state.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_free_ char *buf = malloc(STATE_MAX);
    if (!buf)
        return -ENOMEM;
    ssize_t n = read_all(fd, buf, STATE_MAX);
    if (n < 0)
        return (int)n;
    return rt_state_parse(buf, (size_t)n, ret);
}

int rt_monitor_save(const struct rt_ctx *ctx, const char *id, pid_t pid)
{
    char dir[PATH_MAX];
    rt_dir_path(ctx, id, dir, sizeof(dir));
    return pidfile_write(dir, "monitor.pid", pid);
}

int rt_monitor_pid(const struct rt_ctx *ctx, const char *id, int *ret_pidfd)
{
    char dir[PATH_MAX];
    struct pid_ref ref = PID_REF_INIT;
    rt_dir_path(ctx, id, dir, sizeof(dir));
    int r = pidfile_open(dir, "monitor.pid", &ref);
    if (r == -ESRCH || r == -ESTALE || r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (ret_pidfd)
        *ret_pidfd = ref.pidfd;
    else
        close(ref.pidfd);
    return ref.id.pid;
}

int rt_pidfile_write(const char *path, pid_t pid)
{
    char tmp[PATH_MAX], text[32];
    if (strlen(path) + 8 >= sizeof(tmp))
        return -ENAMETOOLONG;
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(tmp, sizeof(tmp), "%.*s.%s", (int)(slash - path + 1), path, slash + 1);
    else
        snprintf(tmp, sizeof(tmp), ".%s", path);
    snprintf(text, sizeof(text), "%d", (int)pid);
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write_all(fd, text, strlen(text)) < 0 || rename(tmp, path) < 0) {
        int r = -errno;
        (void)unlink(tmp);
        return r;
    }
    return 0;
}

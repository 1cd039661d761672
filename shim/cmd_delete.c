/* `delete` (spec §2.6): idempotent clean-up for one container, safe while the daemon lives.
 * Tears the sandbox down (daemon, QEMU, helpers, mounts, run dir, socket) only when the daemon
 * is gone. Prints a protobuf DeleteResponse{exit_status 137, exited_at now}; < 5 s. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "cleanup.h"
#include "cmd.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "mounts.h"
#include "pidfile.h"

static int socket_alive(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
        return 0;
    strcpy(sa.sun_path, path);
    return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* The daemon is dead (or dying): wait a little for an orderly exit, then kill what is left
 * of the sandbox: the daemon's process group (QEMU and helpers are in it) and QEMU by pid. */
static void kill_sandbox(const char *run_dir)
{
    pid_t shim = pidfile_read(run_dir, "shim.pid", NULL);
    pid_t qemu = pidfile_read(run_dir, "qemu.pid", "qemu");

    for (int i = 0; shim > 0 && i < 20 && pid_alive(shim); i++)
        usleep(100 * 1000);
    if (shim > 0) {
        (void)kill(-shim, SIGKILL);
        (void)kill(shim, SIGKILL);
    }
    if (qemu > 0)
        (void)kill(qemu, SIGKILL);
    for (int i = 0; qemu > 0 && i < 20 && pid_alive(qemu); i++)
        usleep(50 * 1000);
}

static void print_response(void)
{
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    struct timespec now;
    uint8_t buf[64];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &now);
    ts.seconds = now.tv_sec;
    ts.nanos = (int32_t)now.tv_nsec;
    resp.exit_status = 128 + SIGKILL;
    resp.exited_at = &ts;
    n = containerd__task__v2__delete_response__pack(&resp, buf);
    (void)write_all(1, buf, n);
}

int cmd_delete(const struct shim_flags *f)
{
    char bundle[PATH_MAX], group[256], hash[65], run_dir[128], sock[PATH_MAX], path[PATH_MAX];
    const char *address = f->address && *f->address ? f->address : SHIM_DEFAULT_ADDRESS;

    if (!f->namespace_ || !*f->namespace_ || !f->id || !*f->id) {
        fprintf(stderr, "delete: -namespace and -id are required");
        return 1;
    }
    if (f->bundle && *f->bundle)
        snprintf(bundle, sizeof(bundle), "%s", f->bundle);
    else if (!getcwd(bundle, sizeof(bundle))) {
        fprintf(stderr, "delete: no bundle");
        return 1;
    }
    /* Per container: nothing of ours may stay mounted in its bundle. */
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    (void)mnt_umount_tree(path);

    if (shim_group_from_bundle(bundle, f->id, group, sizeof(group)) < 0)
        snprintf(group, sizeof(group), "%s", f->id);
    shim_group_hash(address, f->namespace_, group, hash);
    shim_run_dir(hash, run_dir, sizeof(run_dir));
    snprintf(sock, sizeof(sock), "%s/%s", SHIM_SOCKET_DIR, hash);

    if (!socket_alive(sock)) {
        /* No daemon serves this sandbox: nothing else will clean up after it. */
        kill_sandbox(run_dir);
        (void)mnt_umount_tree(run_dir);
        (void)mnt_rm_tree(run_dir);
        (void)unlink(sock);
    } else {
        /* A live (possibly shared) VM: only this container's host mounts, which the daemon
         * normally removed already at Delete. */
        snprintf(path, sizeof(path), "%s/shared/%s", run_dir, f->id);
        if (strcmp(group, f->id) != 0)
            (void)mnt_umount_tree(path);
    }
    print_response();
    return 0;
}

/* `delete` (spec §2.6): idempotent clean-up for one container, safe while the daemon lives.
 * Whether the daemon lives is decided by the process named in shim.pid (identity: pid,
 * starttime, exe; not exiting), never by the socket alone: a killed daemon's socket may still
 * accept for a few ms. Only without a usable identity (no shim.pid yet, or one in an older
 * format) does the socket decide. When the daemon is not alive, everything the sandbox made
 * goes: its processes (each by its own identity-checked pid file, signalled through a pidfd),
 * the mounts under the run dir, the run dir, the socket. A pid file naming anything else is
 * left alone. Repeatable: a second run finishes an interrupted first. Prints a protobuf
 * DeleteResponse{exit_status 137, exited_at now}; < 5 s. */
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

#include "naming/address.h"
#include "cleanup.h"
#include "cli/cmd.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "cgroup/host_cgroup.h"
#include "fs_beneath.h"
#include "sandbox/mounts.h"
#include "sandbox/pidfile.h"

#define DYING_WAIT_MS 2000 /* a daemon on its way out: time to finish its own teardown */
#define KILL_WAIT_MS 1500  /* after SIGKILL: time for the processes to be gone */

/* The sandbox's other processes, each in a pid file written by the daemon (shim/sandbox.c). */
static const char *const helper_pidfiles[] = {"qemu.pid", "virtiofsd.pid", "vsockd.pid"};

static void cleanup_pid_ref(struct pid_ref *r)
{
    pid_ref_close(r);
}
#define _cleanup_pid_ref_ _cleanup_(cleanup_pid_ref)

/* Does something listen on path? Non-blocking: a full backlog (EAGAIN) is a listener too. */
static int socket_accepts(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
        return 0;
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return 1;
    return errno == EAGAIN || errno == EINPROGRESS;
}

static void stale(const char *name, const struct pid_ref *r, int err)
{
    const char *why = err == -EINVAL   ? "does not parse"
                      : err == -ESTALE ? "names another process (starttime or exe differ)"
                      : err == -ESRCH  ? "names a process that is gone or exiting"
                                       : strerror(-err);
    if (r->id.pid > 0)
        fprintf(stderr, "delete: stale pid file %s (pid %d): %s: left alone\n", name,
                (int)r->id.pid, why);
    else
        fprintf(stderr, "delete: stale pid file %s: %s: left alone\n", name, why);
}

enum daemon_state { DAEMON_LIVE, DAEMON_GONE };

/* Only the socket can tell: a killed daemon's listener is gone within ms, so it must accept
 * twice, 100 ms apart. */
static enum daemon_state by_socket(const char *sock)
{
    if (!socket_accepts(sock))
        return DAEMON_GONE;
    usleep(100 * 1000);
    return socket_accepts(sock) ? DAEMON_LIVE : DAEMON_GONE;
}

/* Is the daemon serving this sandbox alive? A verified daemon on its way out (exiting, or no
 * longer listening) gets DYING_WAIT_MS to finish, then is killed with its process group:
 * either way it is gone when this returns DAEMON_GONE. */
static enum daemon_state daemon_state(const char *run_dir, const char *sock)
{
    _cleanup_pid_ref_ struct pid_ref shim = PID_REF_INIT;
    struct pid_ref *refs[] = {&shim};
    int r = pidfile_open(run_dir, "shim.pid", &shim);

    switch (r) {
    case 0: break;
    case -ENOENT:
    case -ENOTDIR:
        /* No sandbox yet (shim.pid is written with the run dir) or one already half removed. */
        return by_socket(sock);
    case -ESRCH:
    case -ESTALE:
        /* The daemon that wrote it is dead, whatever its socket says. */
        stale("shim.pid", &shim, r);
        return DAEMON_GONE;
    case -EINVAL:
        /* No identity to go by (e.g. written by an older shim that may still be serving). */
        stale("shim.pid", &shim, r);
        return by_socket(sock);
    default:
        fprintf(stderr, "delete: cannot check shim.pid: %s: going by the socket\n", strerror(-r));
        return by_socket(sock);
    }
    if (!proc_stat_exiting(&shim.st) && socket_accepts(sock))
        return DAEMON_LIVE;
    if (pid_refs_wait(refs, 1, DYING_WAIT_MS) > 0) {
        fprintf(stderr, "delete: shim daemon (pid %d) did not exit in %d ms: killing it\n",
                (int)shim.id.pid, DYING_WAIT_MS);
        (void)pid_ref_kill_group(&shim, SIGKILL);
        (void)pid_ref_kill(&shim, SIGKILL);
        (void)pid_refs_wait(refs, 1, KILL_WAIT_MS / 3);
    }
    return DAEMON_GONE;
}

/* QEMU, virtiofsd, cvm-vsockd: each dies with the daemon (PDEATHSIG) but make sure; each is
 * its own process group's leader (virtiofsd's sandbox child is in the group). */
static void kill_helpers(const char *run_dir)
{
    struct pid_ref refs[ELEMENTSOF(helper_pidfiles)];
    struct pid_ref *live[ELEMENTSOF(helper_pidfiles)];
    size_t n = 0;

    for (size_t i = 0; i < ELEMENTSOF(helper_pidfiles); i++) {
        struct pid_ref *p = &refs[i];
        int r = pidfile_open(run_dir, helper_pidfiles[i], p);
        if (r == -ENOENT || r == -ENOTDIR)
            continue;
        if (r < 0) {
            stale(helper_pidfiles[i], p, r);
            continue;
        }
        if (pid_ref_kill_group(p, SIGKILL) < 0)
            (void)pid_ref_kill(p, SIGKILL);
        live[n++] = p;
    }
    if (n > 0 && pid_refs_wait(live, n, KILL_WAIT_MS) > 0)
        fprintf(stderr, "delete: some sandbox processes did not exit in %d ms after SIGKILL\n",
                KILL_WAIT_MS);
    for (size_t i = 0; i < n; i++)
        pid_ref_close(live[i]);
}

static void teardown(const char *run_dir, const char *sock)
{
    int r;

    kill_helpers(run_dir);
    /* the VM's host cgroup (runc removes its container's at delete) */
    host_cgroup_remove_recorded(run_dir, KILL_WAIT_MS);
    /* Lazy unmounts, shallowest first; stacked mounts may need another pass. Then removal by
     * fd that never follows a link nor enters a mount left behind (fs_beneath.h). */
    for (int i = 0; i < 4 && mnt_umount_tree(run_dir) > 0; i++)
        ;
    r = fsb_rm_path(run_dir);
    if (r < 0)
        fprintf(stderr, "delete: remove %s: %s\n", run_dir, strerror(-r));
    if (unlink(sock) < 0 && errno != ENOENT)
        fprintf(stderr, "delete: remove %s: %s\n", sock, strerror(errno));
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

    if (daemon_state(run_dir, sock) == DAEMON_GONE) {
        /* No daemon serves this sandbox: nothing else will clean up after it. */
        teardown(run_dir, sock);
    } else {
        /* A live (possibly shared) VM: only this container's host mounts, which the daemon
         * normally removed already at Delete. */
        if (strcmp(group, f->id) != 0) {
            snprintf(path, sizeof(path), "%s/mounts/%s", run_dir, f->id);
            (void)mnt_umount_tree(path);
            snprintf(path, sizeof(path), "%s/shared/%s", run_dir, f->id);
            (void)mnt_umount_tree(path);
        }
    }
    print_response();
    return 0;
}

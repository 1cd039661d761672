/* The hybrid vsock backend: cvm-vsockd, our vhost-user-vsock device server.
 *
 * CLI (fixed): cvm-vsockd --vhost-user-socket PATH --uds-path PATH --guest-cid CID
 *                         [--root DIR --uid N --gid N] [--debug]
 * It prints "READY\n" on stdout once listening, then closes stdout. QEMU is started only
 * after READY (QEMU connects to the vhost-user socket at start-up).
 *
 * As root we start it with --root <run_dir>/vsock (its whole filesystem view: a private mount
 * namespace pivoted there, the socket paths given as seen from inside) and the sandbox's uid
 * and gid, and it inherits the uid lease (fd 3) so the uid stays taken while it lives. */
#define LOG_MODULE "hv"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "hv_internal.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"

static void on_exit_vsockd(struct hv_proc *p, const siginfo_t *si, void *data)
{
    struct hv_vm *vm = data;
    vm->events->helper_exited(vm, p, "cvm-vsockd", si);
}

void hv_vsockd_done_waiting(struct hv_vm *vm)
{
    vm->vsockd_out = loop_source_free(vm->vsockd_out);
    if (vm->vsockd)
        hv_proc_close_stdout(vm->vsockd);
}

static void on_stdout(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct hv_vm *vm = data;
    size_t room = sizeof(vm->vsockd_line) - 1 - vm->vsockd_line_len;
    ssize_t n;
    (void)s;
    (void)revents;
    n = read(fd, vm->vsockd_line + vm->vsockd_line_len, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        hv_vsockd_done_waiting(vm);
        vm->events->fail(vm, "cvm-vsockd closed its stdout without printing READY");
        return;
    }
    vm->vsockd_line_len += (size_t)n;
    vm->vsockd_line[vm->vsockd_line_len] = '\0';
    if (strncmp(vm->vsockd_line, "READY\n", 6) == 0) {
        hv_vsockd_done_waiting(vm);
        vm->events->helpers_ready(vm);
    } else if (strchr(vm->vsockd_line, '\n') ||
               vm->vsockd_line_len == sizeof(vm->vsockd_line) - 1) {
        char why[96];
        snprintf(why, sizeof(why), "cvm-vsockd printed '%.40s' instead of READY", vm->vsockd_line);
        hv_vsockd_done_waiting(vm);
        vm->events->fail(vm, why);
    }
}

int hv_vsockd_start(struct hv_vm *vm, struct cvm_err *err)
{
    char cid[16], uid[16], found[4096];
    const char *bin = hv_find_helper(vm->vsockd_bin, "cvm-vsockd", found, sizeof(found));
    char *argv[16];
    struct hv_proc_fd fds[] = {{.src = vm->uid_lock_fd, .target = 3}};
    struct hv_proc_opts o = {.name = "vsockd",
                             .argv = argv,
                             .netns_fd = -1,
                             .capture_stdout = true,
                             .fds = fds,
                             .n_fds = vm->uid ? 1 : 0,
                             .cgroup_fds = vm->cgroup_fds,
                             .n_cgroup_fds = vm->n_cgroup_fds};
    size_t n = 0;
    int r;

    snprintf(cid, sizeof(cid), "%u", vm->cid);
    snprintf(uid, sizeof(uid), "%u", vm->uid);
    argv[n++] = (char *)bin;
    argv[n++] = "--guest-cid", argv[n++] = cid;
    if (vm->uid) {
        /* The paths as cvm-vsockd sees them once "/" is its dir. */
        argv[n++] = "--root", argv[n++] = vm->vsock_dir;
        argv[n++] = "--uid", argv[n++] = uid;
        argv[n++] = "--gid", argv[n++] = uid;
        argv[n++] = "--vhost-user-socket", argv[n++] = vm->vsock_vu_sock + strlen(vm->vsock_dir);
        argv[n++] = "--uds-path", argv[n++] = vm->vsock_uds + strlen(vm->vsock_dir);
    } else {
        argv[n++] = "--vhost-user-socket", argv[n++] = vm->vsock_vu_sock;
        argv[n++] = "--uds-path", argv[n++] = vm->vsock_uds;
    }
    if (vm->debug)
        argv[n++] = "--debug";
    argv[n] = NULL;
    (void)unlink(vm->vsock_vu_sock);
    (void)unlink(vm->vsock_uds);
    r = hv_proc_spawn(vm->loop, &o, on_exit_vsockd, vm, &vm->vsockd);
    if (r < 0)
        return cvm_err_set(err, r, "starting %s", bin);
    r = loop_add_io(vm->loop, hv_proc_stdout_fd(vm->vsockd), EPOLLIN, on_stdout, vm,
                    &vm->vsockd_out);
    if (r < 0)
        return cvm_err_set(err, r, "watching cvm-vsockd's stdout");
    log_debug("cvm-vsockd pid %d (%s)%s%s", (int)hv_proc_pid(vm->vsockd), bin,
              vm->uid ? ", uid " : "", vm->uid ? uid : "");
    return 0;
}

/* hv.h lifecycle without a VM: QEMU and cvm-vsockd are replaced by scripted fakes
 * (test/fakes/qmp/fake_qemu.py, fake_vsockd.py) that speak the same CLI, QMP and CONNECT
 * protocols. Covers ready/pause/resume/status, host->guest vsock, hv_stop, deaths at every
 * stage, deadlines, synchronous start failures, and "nothing left behind" after each. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv.h"
#include "hv_internal.h"
#include "loop.h"

#define FAKES "test/fakes/qmp"

struct t {
    struct loop *loop;
    struct hv_vm *vm;
    struct hv_config cfg;
    struct hv_callbacks cb;
    char dir[64], run[96], kernel[96];
    int ready, died, stopped, done, events;
    int r;
    bool running;
    char reason[1024], status[32], last_event[32];
    unsigned long long t_died;
    bool free_in_died;
    int vfd;
    int lines;
    char first_line[64], last_line[64];
};

static void on_ready(struct hv_vm *vm, void *data)
{
    (void)vm;
    ((struct t *)data)->ready++;
}

static void on_died(struct hv_vm *vm, const char *reason, void *data)
{
    struct t *t = data;
    t->died++;
    t->t_died = now_ns();
    snprintf(t->reason, sizeof(t->reason), "%s", reason);
    if (t->free_in_died) {
        hv_free(vm);
        t->vm = NULL;
    }
}

static void on_stopped(struct hv_vm *vm, void *data)
{
    (void)vm;
    ((struct t *)data)->stopped++;
}

static void on_event(struct hv_vm *vm, const char *name, void *data)
{
    struct t *t = data;
    (void)vm;
    t->events++;
    snprintf(t->last_event, sizeof(t->last_event), "%s", name);
}

static void on_console(struct hv_vm *vm, const char *line, void *data)
{
    struct t *t = data;
    (void)vm;
    if (t->lines++ == 0)
        snprintf(t->first_line, sizeof(t->first_line), "%s", line);
    snprintf(t->last_line, sizeof(t->last_line), "%s", line);
}

/* A file hv_start() takes for a guest kernel: a bzImage boot header ("HdrS" at 0x202). The
 * fake QEMU never reads it. */
static void write_fake_kernel(const char *path)
{
    unsigned char hdr[0x400] = {0};
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    memcpy(hdr + 0x202, "HdrS", 4);
    ck_assert_uint_eq(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    fclose(f);
}

static void setup(struct t *t, const char *qemu_mode, const char *vsockd_mode)
{
    memset(t, 0, sizeof(*t));
    t->vfd = -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/hv-lc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->run, sizeof(t->run), "%s/run", t->dir);
    snprintf(t->kernel, sizeof(t->kernel), "%s/vmlinuz", t->dir);
    write_fake_kernel(t->kernel);
    setenv("FAKE_QEMU_MODE", qemu_mode, 1);
    setenv("FAKE_VSOCKD_MODE", vsockd_mode, 1);
    ck_assert_int_eq(loop_new(&t->loop), 0);
    t->cfg = (struct hv_config){
        .id = "lc", .run_dir = t->run, .kernel = t->kernel,
        .qemu_bin = FAKES "/fake_qemu.py", .vsock_mode = HV_VSOCK_HYBRID,
        .vsockd_bin = FAKES "/fake_vsockd.py", .boot_timeout_ms = 10000,
        .stop_timeout_ms = 2000};
    t->cb = (struct hv_callbacks){on_ready, on_died, on_stopped, on_event, t, on_console};
}

static void teardown_t(struct t *t)
{
    struct stat st;
    hv_free(t->vm);
    loop_run_once(t->loop, 0);
    ck_assert_uint_eq(hv_proc_reap_orphans(t->loop, 5000), 0); /* what hv_free killed */
    loop_free(t->loop);
    ck_assert_msg(stat(t->run, &st) < 0 && errno == ENOENT, "run dir %s left behind", t->run);
    ck_assert_int_eq(unlink(t->kernel), 0);
    ck_assert_int_eq(rmdir(t->dir), 0);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* no child left, reaped or not */
    ck_assert_int_eq(errno, ECHILD);
}

#define SPIN(t, cond)                                                                             \
    do {                                                                                          \
        unsigned long long _end = now_ns() + 15000000000ULL;                                      \
        while (!(cond) && now_ns() < _end)                                                        \
            loop_run_once((t)->loop, 50);                                                         \
        ck_assert_msg((cond), "timed out waiting for " #cond " (died: %s)", (t)->reason);         \
    } while (0)

static void on_status(struct hv_vm *vm, int r, const char *status, bool running, void *data)
{
    struct t *t = data;
    (void)vm;
    t->r = r;
    snprintf(t->status, sizeof(t->status), "%s", status ? status : "");
    t->running = running;
    t->done++;
}

static void on_done(struct hv_vm *vm, int r, const char *msg, void *data)
{
    struct t *t = data;
    (void)vm, (void)msg;
    t->r = r;
    t->done++;
}

static void on_vsock(struct hv_vm *vm, int r, int fd, void *data)
{
    struct t *t = data;
    (void)vm;
    t->r = r;
    t->vfd = fd;
    t->done++;
}

static void start(struct t *t)
{
    struct cvm_err err = {0};
    ck_assert_msg(hv_start(t->loop, &t->cfg, &t->cb, &t->vm, &err) == 0, "%s", err.msg);
}

START_TEST(test_happy_path)
{
    struct t t;
    struct cvm_err err = {0};
    char buf[64];
    int n, fds;
    setup(&t, "", "");
    fds = fd_count_open();
    start(&t);
    ck_assert_int_eq(hv_pause(t.vm, on_done, &t, &err), -ENOTCONN); /* not ready yet */
    SPIN(&t, t.ready == 1);
    ck_assert_int_gt(hv_qemu_pid(t.vm), 0);
    ck_assert_int_eq(hv_vsock_mode(t.vm), HV_VSOCK_HYBRID);
    ck_assert(strstr(hv_vsock_uds_path(t.vm), "/run/vsock/vsock.sock") != NULL);
    /* as root: a sandbox uid of the default range (hv.h), QEMU's and cvm-vsockd's */
    if (geteuid() == 0)
        ck_assert(hv_sandbox_uid(t.vm) >= 1000000000u && hv_sandbox_uid(t.vm) <= 1000065535u);
    else
        ck_assert_uint_eq(hv_sandbox_uid(t.vm), 0);

    ck_assert_int_eq(hv_query_status(t.vm, on_status, &t, NULL), 0);
    SPIN(&t, t.done == 1);
    ck_assert_int_eq(t.r, 0);
    ck_assert_str_eq(t.status, "running");
    ck_assert(t.running);
    ck_assert_int_eq(hv_pause(t.vm, on_done, &t, NULL), 0);
    SPIN(&t, t.done == 2);
    ck_assert_int_eq(t.r, 0);
    ck_assert_int_eq(hv_query_status(t.vm, on_status, &t, NULL), 0);
    SPIN(&t, t.done == 3);
    ck_assert_str_eq(t.status, "paused");
    ck_assert(!t.running);
    ck_assert_str_eq(t.last_event, "STOP");
    ck_assert_int_eq(hv_resume(t.vm, on_done, &t, NULL), 0);
    SPIN(&t, t.done == 4);
    ck_assert_str_eq(t.last_event, "RESUME");

    /* host->guest stream: handshake consumed, stream raw afterwards */
    ck_assert_int_eq(hv_vsock_connect(t.vm, 1024, 2000, on_vsock, &t, NULL, &err), 0);
    SPIN(&t, t.done == 5);
    ck_assert_int_eq(t.r, 0);
    ck_assert_int_ge(t.vfd, 0);
    ck_assert_int_eq(fd_set_nonblock(t.vfd, 0), 0);
    ck_assert_int_eq(write_all(t.vfd, "ping\n", 5), 0);
    n = (int)read_all(t.vfd, buf, 5);
    ck_assert_int_eq(n, 5);
    ck_assert(memcmp(buf, "ping\n", 5) == 0);
    close(t.vfd);
    /* nobody listening on port 9: the backend closes the connection */
    ck_assert_int_eq(hv_vsock_connect(t.vm, 9, 2000, on_vsock, &t, NULL, &err), 0);
    SPIN(&t, t.done == 6);
    ck_assert_int_eq(t.r, -ECONNRESET);
    ck_assert_int_eq(t.vfd, -1);

    /* refused, never answered (deadline), and a reply arriving byte by byte with stream data
     * right behind it: the handshake must not eat the data */
    ck_assert_int_eq(hv_vsock_connect(t.vm, 8, 2000, on_vsock, &t, NULL, &err), 0);
    SPIN(&t, t.done == 7);
    ck_assert_int_eq(t.r, -ECONNREFUSED);
    ck_assert_int_eq(hv_vsock_connect(t.vm, 7, 300, on_vsock, &t, NULL, &err), 0);
    SPIN(&t, t.done == 8);
    ck_assert_int_eq(t.r, -ETIMEDOUT);
    ck_assert_int_eq(hv_vsock_connect(t.vm, 6, 5000, on_vsock, &t, NULL, &err), 0);
    SPIN(&t, t.done == 9);
    ck_assert_int_eq(t.r, 0);
    ck_assert_int_eq(fd_set_nonblock(t.vfd, 0), 0);
    n = (int)read_all(t.vfd, buf, 8);
    ck_assert_int_eq(n, 8);
    ck_assert(memcmp(buf, "greeting", 8) == 0);
    close(t.vfd);
    /* a cancelled request never calls back */
    {
        struct hv_vsock_req *req = NULL;
        ck_assert_int_eq(hv_vsock_connect(t.vm, 7, 200, on_vsock, &t, &req, &err), 0);
        hv_vsock_cancel(req);
        for (int i = 0; i < 6; i++)
            loop_run_once(t.loop, 50);
        ck_assert_int_eq(t.done, 9);
    }

    ck_assert_int_eq(hv_stop(t.vm, 2000), 0);
    ck_assert_int_eq(hv_stop(t.vm, 2000), 0); /* idempotent */
    SPIN(&t, t.stopped == 1);
    ck_assert_int_eq(t.died, 0);
    ck_assert_int_eq(hv_qemu_pid(t.vm), 0);
    ck_assert_str_eq(t.last_event, "SHUTDOWN");
    hv_free(t.vm);
    t.vm = NULL;
    loop_run_once(t.loop, 0);
    ck_assert_int_eq(fd_count_open(), fds);
    teardown_t(&t);
}
END_TEST

START_TEST(test_qemu_fails_at_start)
{
    struct t t;
    setup(&t, "exit1", "");
    start(&t);
    SPIN(&t, t.stopped == 1);
    ck_assert_int_eq(t.died, 1);
    ck_assert_int_eq(t.ready, 0);
    ck_assert_msg(strstr(t.reason, "qemu exited with status 1: fake: boom, cannot start"), "%s", t.reason);
    teardown_t(&t);
}
END_TEST

START_TEST(test_qemu_killed_reported_at_once)
{
    struct t t;
    unsigned long long t0;
    setup(&t, "", "");
    start(&t);
    SPIN(&t, t.ready == 1);
    t0 = now_ns();
    ck_assert_int_eq(kill(hv_qemu_pid(t.vm), SIGKILL), 0);
    SPIN(&t, t.died == 1);
    ck_assert_uint_lt(t.t_died - t0, 1000000000ULL);
    ck_assert_msg(strstr(t.reason, "qemu killed by signal 9 (SIGKILL)") &&
                      strstr(t.reason, "console tail: fake kernel line?[0m|IDLE-READY fake"),
                  "%s", t.reason);
    SPIN(&t, t.stopped == 1);
    teardown_t(&t);
}
END_TEST

/* Console lines reach the callback cleaned up; the log file stays under its cap and keeps
 * the newest part. */
START_TEST(test_console_lines_and_cap)
{
    struct t t;
    struct stat st;
    char tail[256];
    setup(&t, "chatty", "");
    t.cfg.console_max_kib = 16;
    start(&t);
    SPIN(&t, t.ready == 1 && t.lines == 5002);
    ck_assert_str_eq(t.first_line, "fake kernel line?[0m");
    ck_assert_str_eq(t.last_line, "chatty guest line 04999 .........................");
    ck_assert_int_eq(stat(hv_console_path(t.vm), &st), 0);
    ck_assert_int_le(st.st_size, 16 * 1024);
    ck_assert_int_ge(st.st_size, 8 * 1024 - 64);
    ck_assert_int_gt(hv_console_tail(t.vm, tail, sizeof(tail)), 0);
    ck_assert_msg(strstr(tail, "chatty guest line 04999") != NULL, "%s", tail);
    ck_assert_int_eq(hv_stop(t.vm, 2000), 0);
    SPIN(&t, t.stopped == 1);
    teardown_t(&t);
}
END_TEST

/* pid of our child whose command line mentions needle, or 0 */
static pid_t find_child(const char *needle)
{
    char path[300], buf[512];
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        pid_t pid = (pid_t)atoi(de->d_name);
        FILE *f;
        size_t n;
        if (pid <= 1)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        if (!(f = fopen(path, "re")))
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[n] = '\0';
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (strstr(buf, needle) && (f = fopen(path, "re"))) {
            int ppid = 0;
            n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            if (strrchr(buf, ')') && sscanf(strrchr(buf, ')') + 2, "%*c %d", &ppid) == 1 &&
                ppid == getpid()) {
                closedir(d);
                return pid;
            }
        }
    }
    if (d)
        closedir(d);
    return 0;
}

/* A helper dying under a running VM stops the VM, and the report names the helper. */
START_TEST(test_helper_death_stops_vm)
{
    struct t t;
    pid_t vsockd;
    setup(&t, "", "");
    start(&t);
    SPIN(&t, t.ready == 1);
    vsockd = find_child("fake_vsockd.py");
    ck_assert_int_gt(vsockd, 0);
    ck_assert_int_eq(kill(vsockd, SIGKILL), 0);
    SPIN(&t, t.stopped == 1);
    ck_assert_int_eq(t.died, 1);
    ck_assert_msg(strstr(t.reason, "cvm-vsockd killed by signal 9 (SIGKILL)") != NULL, "%s",
                  t.reason);
    teardown_t(&t);
}
END_TEST

START_TEST(test_vsockd_without_ready)
{
    struct t t;
    setup(&t, "", "noready");
    start(&t);
    SPIN(&t, t.stopped == 1);
    ck_assert_int_eq(t.died, 1);
    ck_assert_msg(strstr(t.reason, "cvm-vsockd"), "%s", t.reason);
    teardown_t(&t);

    setup(&t, "", "garbage");
    start(&t);
    SPIN(&t, t.stopped == 1);
    ck_assert_msg(strstr(t.reason, "cvm-vsockd printed 'HELLO") != NULL, "%s", t.reason);
    teardown_t(&t);
}
END_TEST

START_TEST(test_boot_deadline)
{
    struct t t;
    setup(&t, "noqmp", "");
    t.cfg.boot_timeout_ms = 5000; /* the fakes are python: slow to start on a loaded box */
    start(&t);
    SPIN(&t, t.stopped == 1);
    ck_assert_int_eq(t.ready, 0);
    ck_assert_msg(strstr(t.reason, "VM not up within 5000 ms (waiting for "), "%s", t.reason);
    teardown_t(&t);
}
END_TEST

START_TEST(test_stop_escalates_to_sigkill)
{
    struct t t;
    unsigned long long t0;
    setup(&t, "stubborn", "");
    start(&t);
    SPIN(&t, t.ready == 1);
    t0 = now_ns();
    ck_assert_int_eq(hv_stop(t.vm, 400), 0);
    SPIN(&t, t.stopped == 1);
    ck_assert_uint_ge(now_ns() - t0, 350000000ULL);
    ck_assert_int_eq(t.died, 0);
    teardown_t(&t);
}
END_TEST

START_TEST(test_free_inside_died)
{
    struct t t;
    setup(&t, "", "");
    t.free_in_died = true;
    start(&t);
    SPIN(&t, t.ready == 1);
    ck_assert_int_eq(kill(hv_qemu_pid(t.vm), SIGKILL), 0);
    SPIN(&t, t.died == 1);
    loop_run_once(t.loop, 10);
    ck_assert_ptr_null(t.vm);
    ck_assert_int_eq(t.stopped, 0); /* freed: no more callbacks */
    teardown_t(&t);
}
END_TEST

START_TEST(test_sync_start_failures)
{
    struct t t;
    struct cvm_err err = {0};
    struct stat st;
    setup(&t, "", "");
    t.cfg.qemu_bin = "/nonexistent/qemu";
    t.cfg.vsock_mode = HV_VSOCK_HYBRID;
    t.cfg.vsockd_bin = "/nonexistent/cvm-vsockd";
    ck_assert_int_eq(hv_start(t.loop, &t.cfg, &t.cb, &t.vm, &err), -ENOENT);
    ck_assert_msg(strstr(err.msg, "starting sandbox VM 'lc': starting /nonexistent/cvm-vsockd"), "%s", err.msg);
    ck_assert_ptr_null(t.vm);
    ck_assert(stat(t.run, &st) < 0);

    t.cfg.virtiofsd_bin = "/nonexistent/virtiofsd";
    t.cfg.shared_dir = "/tmp";
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hv_start(t.loop, &t.cfg, &t.cb, &t.vm, &err), -ENOENT);
    ck_assert_msg(strstr(err.msg, "virtiofsd"), "%s", err.msg);

    {
        struct hv_config bad = t.cfg;
        bad.run_dir = "relative/dir";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.shared_dir = "/a,b";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.id = "";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.kernel = NULL;
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.fs_cache = "sometimes";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.kernel = "/nonexistent/vmlinuz";
        memset(&err, 0, sizeof(err));
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, &err), -ENOENT);
        ck_assert_msg(strstr(err.msg, "guest kernel '/nonexistent/vmlinuz'"), "%s", err.msg);
        bad = t.cfg, bad.initrd = "/nonexistent/initrd";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -ENOENT);
        /* files that exist but are not what they claim: named, before anything starts */
        bad = t.cfg, bad.initrd = FAKES "/fake_qemu.py";
        memset(&err, 0, sizeof(err));
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, &err), -ENOEXEC);
        ck_assert_msg(strstr(err.msg, "guest initrd '" FAKES "/fake_qemu.py' is not an initrd"), "%s",
                      err.msg);
        bad = t.cfg, bad.kernel = FAKES "/fake_qemu.py";
        memset(&err, 0, sizeof(err));
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, &err), -ENOEXEC);
        ck_assert_msg(strstr(err.msg, "fake_qemu.py' is neither a bzImage nor an ELF"), "%s", err.msg);
        bad = t.cfg, bad.accel = (enum hv_accel)7;
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.netns_path = "/nonexistent/netns";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -ENOENT);
        if (access("/dev/vhost-vsock", R_OK | W_OK) < 0) {
            bad = t.cfg, bad.vsock_mode = HV_VSOCK_KERNEL;
            ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -ENODEV);
        }
        bad = t.cfg, bad.guest_cid = 2;
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -EINVAL);
        bad = t.cfg, bad.run_dir = "/tmp/a-run-dir-name-that-is-far-too-long-for-a-unix-socket-path-"
                                    "once-vsock.sock_4294967295-is-appended";
        ck_assert_int_eq(hv_start(t.loop, &bad, &t.cb, &t.vm, NULL), -ENAMETOOLONG);
    }
    ck_assert_int_eq(t.died + t.stopped + t.ready, 0);
    teardown_t(&t);
}
END_TEST

START_TEST(test_mode_names)
{
    ck_assert_int_eq(hv_vsock_mode_from_string("auto"), HV_VSOCK_AUTO);
    ck_assert_int_eq(hv_vsock_mode_from_string("kernel"), HV_VSOCK_KERNEL);
    ck_assert_int_eq(hv_vsock_mode_from_string("hybrid"), HV_VSOCK_HYBRID);
    ck_assert_int_eq(hv_vsock_mode_from_string("vhost"), -EINVAL);
    ck_assert_int_eq(hv_vsock_mode_from_string(NULL), -EINVAL);
    ck_assert_str_eq(hv_vsock_mode_name(HV_VSOCK_HYBRID), "hybrid");
    ck_assert_str_eq(hv_vsock_mode_name(_HV_VSOCK_MODE_MAX), "invalid");
}
END_TEST

/* cvm-vsockd is looked for next to our own executable (the shim's), then in PATH. */
START_TEST(test_find_helper)
{
    char buf[4096], self[4096], want[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    const char *base;
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    base = strrchr(self, '/') + 1;
    snprintf(want, sizeof(want), "%.*s/%s", (int)(base - self - 1), self, base);
    ck_assert_str_eq(hv_find_helper(NULL, base, buf, sizeof(buf)), want);
    ck_assert_str_eq(hv_find_helper("/opt/x/cvm-vsockd", base, buf, sizeof(buf)), "/opt/x/cvm-vsockd");
    ck_assert_str_eq(hv_find_helper(NULL, "no-such-helper-here", buf, sizeof(buf)), "no-such-helper-here");
}
END_TEST

static Suite *hv_lifecycle_suite(void)
{
    Suite *s = suite_create("hv_lifecycle");
    TCase *tc = tcase_create("fakes");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_happy_path);
    tcase_add_test(tc, test_qemu_fails_at_start);
    tcase_add_test(tc, test_qemu_killed_reported_at_once);
    tcase_add_test(tc, test_vsockd_without_ready);
    tcase_add_test(tc, test_helper_death_stops_vm);
    tcase_add_test(tc, test_boot_deadline);
    tcase_add_test(tc, test_stop_escalates_to_sigkill);
    tcase_add_test(tc, test_free_inside_died);
    tcase_add_test(tc, test_sync_start_failures);
    tcase_add_test(tc, test_mode_names);
    tcase_add_test(tc, test_find_helper);
    tcase_add_test(tc, test_console_lines_and_cap);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(hv_lifecycle_suite)

/* Kernel-mode host->guest connect (AF_VSOCK) on a host without a vsock transport to a guest:
 * this workplace has AF_VSOCK but neither vhost-vsock nor vsock_loopback, so a connect never
 * completes. What must hold anyway: the loop is never blocked, the callback fires exactly
 * once with an error and fd -1, and no fd leaks. A VM object is put together by hand (no
 * QEMU can be started in kernel mode here). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "errmap.h"
#include "fd.h"
#include "hv_internal.h"
#include "loop.h"

struct res {
    int calls, r, fd;
};

static void on_vsock(struct hv_vm *vm, int r, int fd, void *data)
{
    struct res *res = data;
    (void)vm;
    res->calls++;
    res->r = r;
    res->fd = fd;
}

START_TEST(test_kernel_connect_fails_cleanly)
{
    struct loop *l;
    struct hv_vm vm;
    struct res res = {0, 0, -2};
    struct cvm_err err = {0};
    unsigned long long t0, end;
    int fds, r, probe = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        /* no AF_VSOCK at all: the request must fail at once, reported through err */
        ck_assert_int_eq(errno, EAFNOSUPPORT);
    }
    safe_close(probe);
    ck_assert_int_eq(loop_new(&l), 0);
    memset(&vm, 0, sizeof(vm));
    vm.loop = l;
    vm.state = HV_ST_READY;
    vm.mode = HV_VSOCK_KERNEL;
    vm.cid = 1234567;
    TAILQ_INIT(&vm.vsock_reqs);
    fds = fd_count_open();
    t0 = now_ns();
    r = hv_vsock_connect(&vm, 1024, 300, on_vsock, &res, NULL, &err);
    ck_assert_uint_lt(now_ns() - t0, 100000000ULL); /* did not block */
    if (r < 0) {
        ck_assert_msg(strstr(err.msg, "vsock connect to port 1024 (kernel)"), "%s", err.msg);
        ck_assert_int_eq(res.calls, 0);
    } else {
        end = now_ns() + 5000000000ULL;
        while (!res.calls && now_ns() < end)
            loop_run_once(l, 50);
        ck_assert_int_eq(res.calls, 1);
        ck_assert_int_lt(res.r, 0);
        ck_assert_int_eq(res.fd, -1);
        for (int i = 0; i < 5; i++)
            loop_run_once(l, 20);
        ck_assert_int_eq(res.calls, 1);
    }
    ck_assert(TAILQ_EMPTY(&vm.vsock_reqs));
    loop_run_once(l, 0);
    ck_assert_int_eq(fd_count_open(), fds);
    loop_free(l);
}
END_TEST

START_TEST(test_not_ready_refused)
{
    struct loop *l;
    struct hv_vm vm;
    struct cvm_err err = {0};
    ck_assert_int_eq(loop_new(&l), 0);
    memset(&vm, 0, sizeof(vm));
    vm.loop = l;
    vm.state = HV_ST_QEMU;
    vm.mode = HV_VSOCK_KERNEL;
    TAILQ_INIT(&vm.vsock_reqs);
    ck_assert_int_eq(hv_vsock_connect(&vm, 1, 100, on_vsock, NULL, NULL, &err), -ENOTCONN);
    ck_assert_int_eq(err.code, rpc_code_from_errno(ENOTCONN));
    ck_assert(strstr(err.msg, "not running") != NULL);
    loop_free(l);
}
END_TEST

static Suite *hv_vsock_kernel_suite(void)
{
    Suite *s = suite_create("hv_vsock_kernel");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_kernel_connect_fails_cleanly);
    tcase_add_test(tc, test_not_ready_refused);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(hv_vsock_kernel_suite)

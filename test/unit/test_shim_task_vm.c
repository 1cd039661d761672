/* The shim's task service when the VM fails (shim_task/harness.h): VM death (every task 255),
 * boot failure, a silent console, a hung guest (heartbeat, SIGKILL grace). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../shim/naming/address.h"
#include "../../shim/events/events.h"
#include "../../shim/sandbox/mounts.h"
#include "../../shim/task/model.h"
#include "agent.pb-c.h"
#include "containerd/runc/v1/process.pb-c.h"
#include "check_main.h"
#include "shim_task/harness.h"
#include "cleanup.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "fd.h"
#include "hv.h"
#include "loop.h"
#include "runtimeoptions/v1/api.pb-c.h"
#include "ttrpc.h"


START_TEST(test_vm_death_exits_255)
{
    struct res r, w1, w2;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    create("c2", NULL, &r);
    ck_assert_int_eq(r.code, 0);
    simple("Start", "c1", "", &r);
    simple("Start", "c2", "", &r);
    wait_async("c1", "", &w1);
    wait_async("c2", "", &w2);
    settle();
    ck_assert_ptr_nonnull(the_vm);
    the_vm->cb.died(the_vm, "killed by signal 9", the_vm->cb.data);
    run_until(&w1.done);
    run_until(&w2.done);
    ck_assert_uint_eq(wait_status(&w1), 255);
    ck_assert_uint_eq(wait_status(&w2), 255);
    ck_assert_int_eq(state_of("c1", "", NULL), PROC_STOPPED);
    create("c3", NULL, &r); /* a dead sandbox takes no new containers */
    ck_assert_int_eq(r.code, RPC_FAILED_PRECONDITION);
    events_flush();
    int exits = 0;
    for (int i = 0; i < n_topics; i++)
        exits += !strcmp(topics[i], "/tasks/exit:c1=255") || !strcmp(topics[i], "/tasks/exit:c2=255");
    ck_assert_int_eq(exits, 2);
}
END_TEST

START_TEST(test_boot_failure)
{
    struct res r;
    never_ready = 1;
    create("c1", NULL, &r);
    ck_assert_int_eq(r.code, RPC_UNAVAILABLE);
    ck_assert_msg(strstr(r.msg, "did not boot") && strstr(r.msg, "fake console line"), "msg: %s", r.msg);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
    char p[256];
    snprintf(p, sizeof(p), "%s/c1", S.sb->share.mounts);
    ck_assert_int_eq(access(p, F_OK), -1); /* its mounts and dir are gone */
    snprintf(p, sizeof(p), "%s/c1", S.sb->share.shared);
    ck_assert_int_eq(access(p, F_OK), -1);
}
END_TEST

/* A guest whose console stays silent fails Create at the console deadline, not the boot
 * deadline, and the error names the phase, the accelerator and what to try. */
START_TEST(test_boot_silent_console)
{
    struct res r;
    FILE *f = fopen(cfgfile, "w");
    fputs("{\"kernel\":\"/etc/hostname\",\"initrd\":\"/etc/hostname\",\"qemu\":\"/bin/true\","
          "\"boot_deadline_ms\":20000,\"console_deadline_ms\":300}", f);
    fclose(f);
    silent_console = 1;
    unsigned long long t0 = now_ns();
    create("c1", NULL, &r);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_int_eq(r.code, RPC_UNAVAILABLE);
    ck_assert_msg(strstr(r.msg, "did not boot") && strstr(r.msg, "console stayed silent for 300 ms") &&
                      strstr(r.msg, "accel tcg: fake host without KVM"),
                  "msg: %s", r.msg);
    ck_assert_msg(ms >= 300 && ms < 5000, "failed after %llu ms", ms);
    ck_assert_int_eq(state_of("c1", "", NULL), -RPC_NOT_FOUND);
}
END_TEST

/* A guest that stops answering is declared dead by the heartbeat within guest_timeout_ms:
 * its tasks exit 255 and the VM is stopped. */
START_TEST(test_hung_guest_heartbeat)
{
    struct res r, w;
    write_cfg("\"guest_timeout_ms\":1000");
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    simple("Start", "c1", "", &r);
    ck_assert_int_eq(r.code, 0);
    wait_async("c1", "", &w);
    agent_hung = 1;
    unsigned long long t0 = now_ns();
    run_until(&w.done);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_uint_eq(wait_status(&w), 255);
    ck_assert_msg(ms >= 600 && ms < 4000, "declared dead after %llu ms", ms);
    ck_assert_msg(strstr(S.sb->dead_reason, "guest not responding for 1 s"), "%s", S.sb->dead_reason);
    ck_assert_int_eq(the_vm ? the_vm->stopped : 1, 1);
}
END_TEST

/* SIGKILL of the sandbox's init on a guest that does not act: Kill answers within the grace,
 * the process exits 137 (as runc's would), QEMU is killed from the host. */
START_TEST(test_hung_guest_sigkill)
{
    struct res r, w;
    write_cfg("\"guest_timeout_ms\":60000,\"kill_grace_ms\":300");
    create("c1", NULL, &r);
    ck_assert_msg(r.code == 0, "create: %s", r.msg);
    simple("Start", "c1", "", &r);
    wait_async("c1", "", &w);
    agent_hung = 1;
    Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    k.id = "c1";
    k.signal = 9;
    unsigned long long t0 = now_ns();
    call("Kill", &k.base, &r);
    unsigned long long ms = (now_ns() - t0) / 1000000ull;
    ck_assert_msg(r.code == 0, "kill: %d %s", r.code, r.msg);
    ck_assert_msg(ms >= 250 && ms < 3000, "Kill answered after %llu ms", ms);
    run_until(&w.done);
    ck_assert_uint_eq(wait_status(&w), 137);
    ck_assert_msg(strstr(S.sb->dead_reason, "did not act on SIGKILL of c1 within 300 ms"), "%s",
                  S.sb->dead_reason);
}
END_TEST

static Suite *task_suite(void)
{
    Suite *s = suite_create("shim_task_vm");
    TCase *tc = tcase_create("fake-vm");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vm_death_exits_255);
    tcase_add_test(tc, test_boot_failure);
    tcase_add_test(tc, test_boot_silent_console);
    tcase_add_test(tc, test_hung_guest_heartbeat);
    tcase_add_test(tc, test_hung_guest_sigkill);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(task_suite)

/* agent/cgroup.c + cgroup_stats.c against a directory laid out like a cgroup v2 group. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/cgroup.h"
#include "../../agent/cgroup_async.h"
#include "../../agent/cgroup_oom.h"
#include "check_main.h"
#include "fd.h"
#include "loop.h"

static char dir[64];

static void put(const char *file, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
    close(fd);
}

static const char *get(const char *file)
{
    static char buf[256];
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static void setup(void)
{
    strcpy(dir, "/tmp/cvm-cg-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(kv)
{
    unsigned long long v = 0;
    const char *t = "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\nnr_periods 0\n";
    ck_assert_int_eq(cgroup_kv_get(t, "usage_usec", &v), 0);
    ck_assert_uint_eq(v, 1234);
    ck_assert_int_eq(cgroup_kv_get(t, "system_usec", &v), 0);
    ck_assert_uint_eq(v, 234);
    ck_assert_int_eq(cgroup_kv_get(t, "usage", &v), -ENOENT); /* a prefix is not a key */
    ck_assert_int_eq(cgroup_kv_get("a x\n", "a", &v), -EINVAL);
    ck_assert_int_eq(cgroup_kv_get("", "a", &v), -ENOENT);
}
END_TEST

START_TEST(oom_events)
{
    uint64_t k = 99;
    /* memory.events as cgroup v2 writes it: oom_kill after oom, oom_group_kill after that */
    ck_assert_int_eq(oom_parse_events("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n", &k), 0);
    ck_assert_uint_eq(k, 1);
    ck_assert_int_eq(oom_parse_events("low 0\noom 3\n", &k), -ENOENT);  /* "oom" is not "oom_kill" */
    ck_assert_int_eq(oom_parse_events("oom_group_kill 4\n", &k), -ENOENT);
    ck_assert_int_eq(oom_parse_events("oom_kill x\n", &k), -EINVAL);
    ck_assert_int_eq(oom_parse_events("oom_kill 18446744073709551615\n", &k), 0);
    ck_assert_uint_eq(k, UINT64_MAX);
}
END_TEST

START_TEST(apply_limits)
{
    struct oci_resources r;
    struct cvm_err err = {0};
    oci_resources_init(&r);
    /* cgroupfs replaces a file's value on write; plain files need to start empty */
    static const char *const files[] = {"memory.max", "memory.low", "cpu.weight", "cpu.max", "pids.max"};
    for (size_t i = 0; i < 5; i++)
        put(files[i], "");
    r.memory_limit = 67108864;
    r.memory_reservation = 1024;
    r.cpu_shares = 1024;
    r.cpu_quota = 50000;
    r.cpu_period = 200000;
    r.pids_set = true;
    r.pids_limit = 42;
    ck_assert_int_eq(cgroup_apply(dir, &r, &err), 0);
    ck_assert_str_eq(get("memory.max"), "67108864");
    ck_assert_str_eq(get("memory.low"), "1024");
    ck_assert_str_eq(get("cpu.weight"), "39"); /* runc: 1 + (1024-2)*9999/262142 */
    ck_assert_str_eq(get("cpu.max"), "50000 200000");
    ck_assert_str_eq(get("pids.max"), "42");
    r.pids_limit = 0;
    for (size_t i = 0; i < 5; i++)
        put(files[i], "");
    ck_assert_int_eq(cgroup_apply(dir, &r, &err), 0);
    ck_assert_str_eq(get("pids.max"), "max");
    /* a missing controller file is an error that names it, not a silent no-op */
    unlink(strcat(strcpy((char[256]){0}, dir), "/memory.max"));
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(cgroup_apply(dir, &r, &err), -ENOENT);
    ck_assert_int_eq(err.code, RPC_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.msg, "memory.max"));
}
END_TEST

START_TEST(stats)
{
    Io__Containerd__Cgroups__V2__Metrics m;
    put("pids.current", "3\n");
    put("pids.max", "max\n");
    put("cpu.stat", "usage_usec 500\nuser_usec 300\nsystem_usec 200\nnr_periods 7\nnr_throttled 2\nthrottled_usec 99\n");
    put("memory.current", "4096\n");
    put("memory.max", "8192\n");
    put("memory.stat", "anon 11\nfile 22\nkernel_stack 33\nslab 44\npgfault 55\nthp_collapse_alloc 66\n");
    put("memory.events", "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\n");
    put("io.stat", "8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n254:1 rbytes=1 wbytes=2 rios=5 wios=6\n");
    ck_assert_int_eq(cgroup_stats(dir, &m), 0);
    ck_assert_uint_eq(m.pids->current, 3);
    ck_assert_uint_eq(m.pids->limit, 0);
    ck_assert_uint_eq(m.cpu->usage_usec, 500);
    ck_assert_uint_eq(m.cpu->nr_throttled, 2);
    ck_assert_uint_eq(m.cpu->throttled_usec, 99);
    ck_assert_uint_eq(m.memory->usage, 4096);
    ck_assert_uint_eq(m.memory->usage_limit, 8192);
    ck_assert_uint_eq(m.memory->anon, 11);
    ck_assert_uint_eq(m.memory->slab, 44);
    ck_assert_uint_eq(m.memory->thp_collapse_alloc, 66);
    ck_assert_uint_eq(m.memory_events->oom_kill, 4);
    ck_assert_uint_eq(m.io->n_usage, 2);
    ck_assert_uint_eq(m.io->usage[0]->major, 8);
    ck_assert_uint_eq(m.io->usage[0]->wbytes, 200);
    ck_assert_uint_eq(m.io->usage[1]->minor, 1);
    ck_assert_uint_eq(m.io->usage[1]->wios, 6);
    /* encodes as io.containerd.cgroups.v2.Metrics */
    size_t n = io__containerd__cgroups__v2__metrics__get_packed_size(&m);
    uint8_t *b = malloc(n);
    io__containerd__cgroups__v2__metrics__pack(&m, b);
    Io__Containerd__Cgroups__V2__Metrics *back = io__containerd__cgroups__v2__metrics__unpack(NULL, n, b);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->memory->usage_limit, 8192);
    io__containerd__cgroups__v2__metrics__free_unpacked(back, NULL);
    free(b);
    cgroup_metrics_free(&m);
}
END_TEST

START_TEST(stats_missing_files)
{
    Io__Containerd__Cgroups__V2__Metrics m;
    ck_assert_int_eq(cgroup_stats(dir, &m), 0); /* controllers absent: zeros, not failure */
    ck_assert_uint_eq(m.memory->usage, 0);
    ck_assert_uint_eq(m.io->n_usage, 0);
    cgroup_metrics_free(&m);
}
END_TEST

/* ---- cgroup_async: timer-driven freeze and removal ---- */

struct async_t {
    struct loop *l;
    struct loop_source *tick, *act;
    int ticks, done, r;
    void (*action)(void);
};
static struct async_t T;

static void on_done(int r, void *data)
{
    ck_assert_ptr_eq(data, &T);
    T.done++;
    T.r = r;
}

static void on_tick(struct loop_source *s, void *d)
{
    (void)d;
    T.ticks++; /* the loop keeps turning while an operation waits */
    loop_timer_set(s, 10000);
}

static void on_act(struct loop_source *s, void *d)
{
    (void)s, (void)d;
    T.action();
}

/* A loop, a 10 ms tick, and action() after act_ms (0: none). */
static void async_setup(void (*action)(void), unsigned act_ms)
{
    memset(&T, 0, sizeof(T));
    ck_assert_int_eq(loop_new(&T.l), 0);
    ck_assert_int_eq(loop_add_timer(T.l, 10000, on_tick, NULL, &T.tick), 0);
    T.action = action;
    if (act_ms)
        ck_assert_int_eq(loop_add_timer(T.l, act_ms * 1000ull, on_act, NULL, &T.act), 0);
}

static uint64_t async_run(void)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < 500 && !T.done; i++)
        loop_run_once(T.l, 10);
    ck_assert_int_eq(T.done, 1);
    return (now_ns() - t0) / 1000000ull;
}

static void async_teardown(void)
{
    loop_source_free(T.tick);
    loop_source_free(T.act);
    loop_run_once(T.l, 0);
    loop_free(T.l);
}

static void set_frozen(void)
{
    put("cgroup.events", "populated 1\nfrozen 1\n");
}

START_TEST(freeze_answers_when_events_agree)
{
    put("cgroup.freeze", "");
    put("cgroup.events", "populated 1\nfrozen 0\n");
    async_setup(set_frozen, 60);
    ck_assert_int_eq(cgroup_freeze_start(T.l, dir, true, 1000, on_done, &T, NULL), 0);
    ck_assert_int_eq(T.done, 0); /* never from inside the start */
    ck_assert_str_eq(get("cgroup.freeze"), "1");
    uint64_t ms = async_run();
    ck_assert_int_eq(T.r, 0);
    ck_assert_uint_ge(ms, 50);
    ck_assert_int_ge(T.ticks, 3);
    async_teardown();
}
END_TEST

START_TEST(freeze_fails_at_its_deadline_without_blocking)
{
    put("cgroup.freeze", "");
    put("cgroup.events", "populated 1\nfrozen 0\n");
    async_setup(NULL, 0);
    ck_assert_int_eq(cgroup_freeze_start(T.l, dir, true, 150, on_done, &T, NULL), 0);
    uint64_t ms = async_run();
    ck_assert_int_eq(T.r, -ETIMEDOUT);
    ck_assert_uint_ge(ms, 140);
    ck_assert_uint_lt(ms, 1000);
    ck_assert_int_ge(T.ticks, 8); /* ~15 ticks of 10 ms went by meanwhile */
    async_teardown();
}
END_TEST

START_TEST(freeze_write_failure_is_immediate_and_cancel_is_silent)
{
    struct cgroup_op *op = NULL;
    async_setup(NULL, 0);
    ck_assert_int_eq(cgroup_freeze_start(T.l, dir, true, 150, on_done, &T, NULL), -ENOENT);
    put("cgroup.freeze", "");
    put("cgroup.events", "frozen 0\n");
    ck_assert_int_eq(cgroup_freeze_start(T.l, dir, false, 150, on_done, &T, &op), 0);
    cgroup_op_cancel(op);
    for (int i = 0; i < 5; i++)
        loop_run_once(T.l, 10);
    ck_assert_int_eq(T.done, 0);
    async_teardown();
}
END_TEST

static char sub[128], member[160];

static void make_busy_group(void)
{
    snprintf(sub, sizeof(sub), "%s/g", dir);
    snprintf(member, sizeof(member), "%s/g/member", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    int fd = open(member, O_WRONLY | O_CREAT | O_CLOEXEC, 0644); /* rmdir: ENOTEMPTY, as EBUSY */
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void member_leaves(void)
{
    ck_assert_int_eq(unlink(member), 0);
}

START_TEST(remove_retries_until_the_group_empties)
{
    struct stat st;
    make_busy_group();
    async_setup(member_leaves, 60);
    ck_assert_int_eq(cgroup_remove_start(T.l, sub, 1000, on_done, &T, NULL), 0);
    ck_assert_int_eq(T.done, 0);
    uint64_t ms = async_run();
    ck_assert_int_eq(T.r, 0);
    ck_assert_uint_ge(ms, 50);
    ck_assert_int_ge(T.ticks, 3);
    ck_assert_int_eq(stat(sub, &st), -1);
    async_teardown();
}
END_TEST

START_TEST(remove_fails_at_its_deadline)
{
    make_busy_group();
    async_setup(NULL, 0);
    ck_assert_int_eq(cgroup_remove_start(T.l, sub, 150, on_done, &T, NULL), 0);
    uint64_t ms = async_run();
    ck_assert_int_eq(T.r, -ETIMEDOUT);
    ck_assert_uint_ge(ms, 140);
    ck_assert_int_ge(T.ticks, 8);
    async_teardown();
}
END_TEST

/* A new container of the same id takes a still-draining group over: the removal stops. */
START_TEST(create_takes_over_a_draining_group)
{
    struct stat st;
    char *cg = NULL;
    make_busy_group();
    async_setup(member_leaves, 30);
    ck_assert_int_eq(cgroup_remove_start(T.l, sub, 1000, on_done, &T, NULL), 0);
    ck_assert_int_eq(cgroup_create(dir, "g", &cg, NULL), 0);
    ck_assert_int_eq(T.done, 1);
    ck_assert_int_eq(T.r, -ECANCELED);
    for (int i = 0; i < 10; i++) /* the member leaves: nothing removes the group now */
        loop_run_once(T.l, 10);
    ck_assert_int_eq(stat(sub, &st), 0);
    free(cg);
    async_teardown();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_cgroup");
    TCase *tc = tcase_create("cgroup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kv);
    tcase_add_test(tc, oom_events);
    tcase_add_test(tc, apply_limits);
    tcase_add_test(tc, stats);
    tcase_add_test(tc, stats_missing_files);
    tcase_add_test(tc, freeze_answers_when_events_agree);
    tcase_add_test(tc, freeze_fails_at_its_deadline_without_blocking);
    tcase_add_test(tc, freeze_write_failure_is_immediate_and_cancel_is_silent);
    tcase_add_test(tc, remove_retries_until_the_group_empties);
    tcase_add_test(tc, remove_fails_at_its_deadline);
    tcase_add_test(tc, create_takes_over_a_draining_group);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

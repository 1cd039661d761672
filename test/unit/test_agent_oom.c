/* agent/cgroup_oom.c through the real WaitOOM RPC (ttrpc server and client over a socketpair,
 * in process): a container whose "cgroup" is a temp dir with a memory.events file; inotify sees
 * our writes to it as it sees the kernel's. A kill is answered once, a second waiter is refused,
 * a kill noticed only at removal is still reported, an unchanged counter reports nothing. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/cgroup_oom.h"
#include "../../agent/rpc.h"
#include "agent.pb-c.h"
#include "check_main.h"
#include "loop.h"
#include "ttrpc.h"

static struct agent A;
static struct ttrpc_server *srv;
static struct ttrpc_client *cli;
static char dir[64];

struct res {
    bool done;
    int code;
    char ids[4][80];
    size_t n;
};

static void cb(const struct ttrpc_result *r, void *data)
{
    struct res *o = data;
    o->done = true;
    o->code = r->code;
    if (r->code != 0)
        return;
    Cvm__Agent__V1__WaitOOMResponse *w = cvm__agent__v1__wait_oomresponse__unpack(NULL, r->len, r->payload);
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < w->n_container_ids && i < 4; i++)
        snprintf(o->ids[o->n++], sizeof(o->ids[0]), "%s", w->container_ids[i]);
    cvm__agent__v1__wait_oomresponse__free_unpacked(w, NULL);
}

static void wait_oom(struct res *o)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    memset(o, 0, sizeof(*o));
    ck_assert_int_eq(ttrpc_client_call(cli, AGENT_SERVICE, "WaitOOM", &e.base, NULL, 0, 5000000000ull, cb, o), 0);
}

static void spin(struct res *o, int rounds)
{
    for (int i = 0; i < rounds && !o->done; i++)
        ck_assert_int_ge(loop_run_once(A.loop, 100), 0);
}

static void write_events(const char *cg, unsigned kills)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/memory.events", cg);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "low 0\nhigh 0\nmax 3\noom %u\noom_kill %u\noom_group_kill 0\n", kills, kills);
    fclose(f);
}

static struct container *add_container(const char *id)
{
    char cg[128];
    snprintf(cg, sizeof(cg), "%s/%s", dir, id);
    ck_assert_int_eq(mkdir(cg, 0755), 0);
    write_events(cg, 0);
    struct container *c = calloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->cgroup = strdup(cg);
    c->next = A.containers;
    A.containers = c;
    A.n_containers++;
    ck_assert_int_eq(oom_watch(&A, c), 0);
    ck_assert_int_ge(c->oom_wd, 0);
    return c;
}

static void setup(void)
{
    int sv[2];
    memset(&A, 0, sizeof(A));
    A.oom_fd = -1;
    snprintf(dir, sizeof(dir), "/tmp/cvm-oom-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(loop_new(&A.loop), 0);
    agent_global = &A;
    ck_assert_int_eq(oom_init(&A), 0);
    struct ttrpc_server_opts o = {0};
    ck_assert_int_eq(ttrpc_server_new(A.loop, &o, &srv), 0);
    ck_assert_int_eq(rpc_register(&A, srv), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(srv, sv[0]), 0);
    ck_assert_int_eq(ttrpc_client_new(A.loop, sv[1], &cli), 0);
}

static void teardown(void)
{
    char cmd[128];
    while (A.containers)
        container_free(&A, A.containers);
    ttrpc_client_free(cli);
    ttrpc_server_free(srv);
    loop_run_once(A.loop, 0);
    loop_source_free(A.oom_src);
    close(A.oom_fd);
    free(A.oom_queue);
    loop_free(A.loop);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(kill_reported_once)
{
    struct res r1, r2;
    struct container *a = add_container("ctr-a");
    add_container("ctr-b");
    wait_oom(&r1);
    spin(&r1, 3);
    ck_assert(!r1.done); /* nothing happened yet: the call waits */
    wait_oom(&r2);
    spin(&r2, 10);
    ck_assert(r2.done);
    ck_assert_int_eq(r2.code, RPC_FAILED_PRECONDITION); /* one waiter at a time */
    write_events(a->cgroup, 1);
    spin(&r1, 50);
    ck_assert(r1.done);
    ck_assert_int_eq(r1.code, 0);
    ck_assert_uint_eq(r1.n, 1);
    ck_assert_str_eq(r1.ids[0], "ctr-a");
    /* the same counter again (another event of the file, e.g. "max" moving): no report */
    write_events(a->cgroup, 1);
    wait_oom(&r1);
    spin(&r1, 5);
    ck_assert(!r1.done);
}
END_TEST

START_TEST(kill_seen_at_removal)
{
    struct res r;
    struct container *b = add_container("ctr-b");
    /* the counter moves while nobody reads the inotify fd; removal reads it a last time */
    write_events(b->cgroup, 2);
    container_free(&A, b);
    wait_oom(&r);
    spin(&r, 20);
    ck_assert(r.done);
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.ids[0], "ctr-b");
}
END_TEST

START_TEST(queued_kills_deduplicated)
{
    struct res r;
    struct container *a = add_container("ctr-a"), *b = add_container("ctr-b");
    write_events(a->cgroup, 1);
    oom_check(&A, a);
    write_events(a->cgroup, 2);
    oom_check(&A, a);
    write_events(b->cgroup, 1);
    oom_check(&A, b);
    wait_oom(&r);
    spin(&r, 20);
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(r.ids[0], "ctr-a");
    ck_assert_str_eq(r.ids[1], "ctr-b");
}
END_TEST

static Suite *agent_oom_suite(void)
{
    Suite *s = suite_create("agent_oom");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kill_reported_once);
    tcase_add_test(tc, kill_seen_at_removal);
    tcase_add_test(tc, queued_kills_deduplicated);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(agent_oom_suite)

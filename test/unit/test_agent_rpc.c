/* agent/rpc*.c through a real ttrpc server and client over a socketpair, in process:
 * decoding, validation and error statuses of the Agent service (no container is started;
 * test/e2e/30-agent.sh does that). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/rpc.h"
#include "agent.pb-c.h"
#include "check_main.h"
#include "loop.h"
#include "ttrpc.h"

static struct agent A;
static struct ttrpc_server *srv;
static struct ttrpc_client *cli;

static void setup(void)
{
    int sv[2];
    memset(&A, 0, sizeof(A));
    A.cfg.share_root = "/nonexistent-share-root";
    ck_assert_int_eq(loop_new(&A.loop), 0);
    agent_global = &A;
    ck_assert_int_eq(reaper_init(&A), 0);
    struct ttrpc_server_opts o = {0};
    ck_assert_int_eq(ttrpc_server_new(A.loop, &o, &srv), 0);
    ck_assert_int_eq(rpc_register(&A, srv), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(srv, sv[0]), 0);
    ck_assert_int_eq(ttrpc_client_new(A.loop, sv[1], &cli), 0);
}

static void teardown(void)
{
    ttrpc_client_free(cli);
    ttrpc_server_free(srv);
    loop_run_once(A.loop, 0);
    loop_free(A.loop);
}

/* Returns the status code; payload (if OK) in *out. */
static int call(const char *method, const ProtobufCMessage *req, uint8_t **out, size_t *len, char *msg)
{
    struct cvm_err err = {0};
    uint8_t *p = NULL;
    size_t l = 0;
    int r = ttrpc_client_call_sync(cli, A.loop, AGENT_SERVICE, method, req, NULL, 0, 5000000000ull, &p, &l, &err);
    if (msg)
        strcpy(msg, err.msg);
    if (r < 0)
        return err.code;
    if (out)
        *out = p, *len = l;
    else
        free(p);
    return 0;
}

struct raw_res {
    bool done;
    int code;
    char msg[256];
};

static void raw_cb(const struct ttrpc_result *res, void *data)
{
    struct raw_res *rr = data;
    rr->done = true;
    rr->code = res->code;
    snprintf(rr->msg, sizeof(rr->msg), "%s", res->message ? res->message : "");
}

static int call_raw(const char *method, const void *payload, size_t len, char *msg)
{
    struct raw_res rr = {0};
    ck_assert_int_eq(ttrpc_client_call_raw(cli, AGENT_SERVICE, method, payload, len, NULL, 0, 5000000000ull, raw_cb, &rr), 0);
    while (!rr.done)
        ck_assert_int_ge(loop_run_once(A.loop, 5000), 0);
    if (msg)
        strcpy(msg, rr.msg);
    return rr.code;
}

START_TEST(health_version)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    uint8_t *p;
    size_t l;
    ck_assert_int_eq(call("Health", &e.base, &p, &l, NULL), RPC_OK);
    Cvm__Agent__V1__HealthResponse *h = cvm__agent__v1__health_response__unpack(NULL, l, p);
    ck_assert(h->serving);
    ck_assert_uint_eq(h->containers, 0);
    cvm__agent__v1__health_response__free_unpacked(h, NULL);
    free(p);
    ck_assert_int_eq(call("Version", &e.base, &p, &l, NULL), RPC_OK);
    Cvm__Agent__V1__VersionResponse *v = cvm__agent__v1__version_response__unpack(NULL, l, p);
    ck_assert_uint_eq(v->api_version, AGENT_API_VERSION);
    ck_assert_str_eq(v->agent_version, AGENT_VERSION);
    cvm__agent__v1__version_response__free_unpacked(v, NULL);
    free(p);
}
END_TEST

START_TEST(malformed_payloads)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    static const char *const methods[] = {"CreateContainer", "StartProcess", "ExecProcess", "SignalProcess",
                                          "WaitProcess", "ResizeTty", "CloseStdin", "PauseContainer",
                                          "StatsContainer", "UpdateContainer", "ListProcesses", "RemoveContainer"};
    char msg[256];
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        ck_assert_int_eq(call_raw(methods[i], junk, sizeof(junk), msg), RPC_INTERNAL);
        ck_assert_ptr_nonnull(strstr(msg, "ttrpc: error unmarshalling payload"));
    }
    ck_assert_int_eq(call_raw("NoSuchMethod", NULL, 0, NULL), RPC_UNIMPLEMENTED);
}
END_TEST

static int create(const char *id, const char *json, const char *rootfs, const char *tag, char *msg)
{
    Cvm__Agent__V1__CreateContainerRequest r = CVM__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    r.container_id = (char *)id;
    r.config_json.data = (uint8_t *)json;
    r.config_json.len = strlen(json);
    r.rootfs = (char *)rootfs;
    r.share_tag = (char *)tag;
    return call("CreateContainer", &r.base, NULL, NULL, msg);
}

#define OKSPEC "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"r\"}}"

START_TEST(create_validation)
{
    char msg[256];
    ck_assert_int_eq(create("", OKSPEC, "/", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("../etc", OKSPEC, "/", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("c1", "{", "/", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "config.json"));
    ck_assert_int_eq(create("c1", "{\"root\":{\"path\":\"r\"}}", "/", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "process is required"));
    ck_assert_int_eq(create("c1", OKSPEC, "/nonexistent/rootfs", "", msg), RPC_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(msg, "/nonexistent/rootfs"));
    ck_assert_int_eq(create("c1", OKSPEC, "relative/rootfs", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("c1", OKSPEC, "/a/../b", "", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("c1", OKSPEC, "/abs", "share", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("c1", OKSPEC, "x/../../etc", "share", msg), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create("c1", OKSPEC, "c1/rootfs", "bad/tag", msg), RPC_INVALID_ARGUMENT);
    /* every failure above left nothing behind */
    ck_assert_uint_eq(A.n_containers, 0);
    ck_assert_ptr_null(A.containers);
}
END_TEST

START_TEST(unknown_targets)
{
    char msg[256];
    Cvm__Agent__V1__WaitProcessRequest w = CVM__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    w.container_id = "nope";
    w.exec_id = "";
    ck_assert_int_eq(call("WaitProcess", &w.base, NULL, NULL, msg), RPC_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(msg, "nope"));
    w.exec_id = "bad id";
    ck_assert_int_eq(call("WaitProcess", &w.base, NULL, NULL, msg), RPC_INVALID_ARGUMENT);
    Cvm__Agent__V1__SignalProcessRequest s = CVM__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
    s.container_id = "nope";
    s.exec_id = "";
    s.signal = 9;
    ck_assert_int_eq(call("SignalProcess", &s.base, NULL, NULL, msg), RPC_NOT_FOUND);
    Cvm__Agent__V1__ContainerRequest c = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    c.container_id = "nope";
    ck_assert_int_eq(call("StatsContainer", &c.base, NULL, NULL, msg), RPC_NOT_FOUND);
    ck_assert_int_eq(call("PauseContainer", &c.base, NULL, NULL, msg), RPC_NOT_FOUND);
    ck_assert_int_eq(call("ListProcesses", &c.base, NULL, NULL, msg), RPC_NOT_FOUND);
    c.container_id = "";
    ck_assert_int_eq(call("ListProcesses", &c.base, NULL, NULL, msg), RPC_INVALID_ARGUMENT);
    Cvm__Agent__V1__RemoveContainerRequest rm = CVM__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = "nope";
    ck_assert_int_eq(call("RemoveContainer", &rm.base, NULL, NULL, msg), RPC_NOT_FOUND);
    Cvm__Agent__V1__ExecProcessRequest ex = CVM__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
    ex.container_id = "nope";
    ex.exec_id = "e1";
    ck_assert_int_eq(call("ExecProcess", &ex.base, NULL, NULL, msg), RPC_NOT_FOUND);
}
END_TEST

START_TEST(shutdown_host_mode)
{
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    ck_assert_int_eq(call("Shutdown", &e.base, NULL, NULL, NULL), RPC_OK);
    /* host mode: the loop is asked to quit instead of powering off */
    for (int i = 0; i < 10 && !loop_is_quitting(A.loop); i++)
        loop_run_once(A.loop, 100);
    ck_assert(loop_is_quitting(A.loop));
    ck_assert(A.shutting_down);
}
END_TEST

/* RunFreshCode runs its rounds (here on the host CPU: the code is plain x86-64) and refuses a
 * round count outside 1..RUN_FRESH_CODE_MAX_ROUNDS. */
START_TEST(run_fresh_code)
{
    Cvm__Agent__V1__RunFreshCodeRequest req = CVM__AGENT__V1__RUN_FRESH_CODE_REQUEST__INIT;
    char msg[256];
    req.rounds = 3;
    ck_assert_int_eq(call("RunFreshCode", &req.base, NULL, NULL, NULL), RPC_OK);
    req.rounds = RUN_FRESH_CODE_MAX_ROUNDS;
    ck_assert_int_eq(call("RunFreshCode", &req.base, NULL, NULL, NULL), RPC_OK);
    req.rounds = 0;
    ck_assert_int_eq(call("RunFreshCode", &req.base, NULL, NULL, msg), RPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "rounds 0") != NULL, "%s", msg);
    req.rounds = RUN_FRESH_CODE_MAX_ROUNDS + 1;
    ck_assert_int_eq(call("RunFreshCode", &req.base, NULL, NULL, msg), RPC_INVALID_ARGUMENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_rpc");
    TCase *tc = tcase_create("rpc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, health_version);
    tcase_add_test(tc, malformed_payloads);
    tcase_add_test(tc, create_validation);
    tcase_add_test(tc, unknown_targets);
    tcase_add_test(tc, shutdown_host_mode);
    tcase_add_test(tc, run_fresh_code);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

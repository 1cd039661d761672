/* Fuzz the agent's request handling end to end in process: bytes go through a real ttrpc
 * client and server (socketpair, one loop) into the Agent service handlers.
 *
 * Input: byte 0 picks the method (mod the table), the rest is the request payload. A
 * decoded CreateContainerRequest gets its rootfs pointed at a path that does not exist, so
 * no container process is ever started: id checks, spec parsing and cleanup run, spawning
 * does not. A payload starting with "STREAM" is also fed to the stdio handshake parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../agent/agent.h"
#include "../../agent/rpc.h"
#include "../../agent/stdio.h"
#include "agent.pb-c.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {
    "CreateContainer", "StartProcess", "ExecProcess", "SignalProcess", "WaitProcess",
    "ResizeTty",       "CloseStdin",   "PauseContainer", "ResumeContainer", "StatsContainer",
    "UpdateContainer", "ListProcesses", "RemoveContainer", "Health", "Version", "DeleteProcess", "NoSuchMethod",
};

static struct agent A;
static struct ttrpc_server *srv;
static struct ttrpc_client *cli;

static void init_once(void)
{
    int sv[2];
    struct ttrpc_server_opts o = {0};
    log_set_fd(-1);
    A.cfg.share_root = "/nonexistent-fuzz-share";
    if (loop_new(&A.loop) < 0 || ttrpc_server_new(A.loop, &o, &srv) < 0 || rpc_register(&A, srv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0 ||
        ttrpc_server_add_conn(srv, sv[0]) < 0 || ttrpc_client_new(A.loop, sv[1], &cli) < 0)
        abort();
    agent_global = &A;
}

static void on_reply(const struct ttrpc_result *res, void *data)
{
    (void)res;
    *(int *)data = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        init_once();
        ready = 1;
    }
    if (size == 0)
        return 0;
    const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    const uint8_t *payload = data + 1;
    size_t len = size - 1;
    uint8_t *owned = NULL;

    if (len >= 6 && memcmp(payload, "STREAM", 6) == 0 && len < 512) {
        char line[512], cid[AGENT_ID_MAX + 1], eid[AGENT_ID_MAX + 1];
        enum stdio_kind k;
        const char *why;
        memcpy(line, payload, len);
        line[len] = '\0';
        if (stdio_parse_handshake(line, cid, eid, &k, &why) == 0 &&
            (!agent_id_valid(cid, false) || !agent_id_valid(eid, true) || k > STDIO_ERR))
            abort();
    }
    if (strcmp(method, "CreateContainer") == 0) {
        Cvm__Agent__V1__CreateContainerRequest *req = cvm__agent__v1__create_container_request__unpack(NULL, len, payload);
        if (req) {
            char *saved_rootfs = req->rootfs, *saved_tag = req->share_tag;
            req->rootfs = (char *)"/nonexistent-fuzz-rootfs";
            req->share_tag = (char *)"";
            len = cvm__agent__v1__create_container_request__get_packed_size(req);
            owned = malloc(len ? len : 1);
            cvm__agent__v1__create_container_request__pack(req, owned);
            payload = owned;
            req->rootfs = saved_rootfs;
            req->share_tag = saved_tag;
            cvm__agent__v1__create_container_request__free_unpacked(req, NULL);
        }
    }
    int done = 0;
    if (ttrpc_client_call_raw(cli, AGENT_SERVICE, method, payload, len, NULL, 0, 0, on_reply, &done) < 0)
        abort();
    for (int i = 0; i < 1000 && !done; i++)
        if (loop_run_once(A.loop, 1000) < 0)
            abort();
    if (!done)
        abort(); /* every request gets an answer */
    free(owned);
    if (A.n_containers != 0)
        abort(); /* nothing can have been created */
    return 0;
}

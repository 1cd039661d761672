/* Interop driver: publishes one task event to containerd's ttrpc endpoint with our client,
 * exactly as the shim will (containerd.services.events.ttrpc.v1.Events/Forward), or sends a
 * deliberately bad request and prints the status containerd answers.
 *
 *   ttrpc_forward ADDRESS exit NAMESPACE CONTAINER_ID EXIT_STATUS
 *   ttrpc_forward ADDRESS no-timestamp NAMESPACE
 *   ttrpc_forward ADDRESS bad-topic NAMESPACE
 *   ttrpc_forward ADDRESS unknown-method
 *   ttrpc_forward ADDRESS garbage-payload
 * Prints "OK" or "STATUS <code> <CODE_NAME> <message>"; exit 0 when the call completed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "fd.h"
#include "loop.h"
#include "ttrpc.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"

static struct {
    int done, code;
    char msg[256];
} st;

static void raw_reply(const struct ttrpc_result *res, void *data)
{
    (void)data;
    st.done = 1;
    st.code = res->code;
    snprintf(st.msg, sizeof(st.msg), "%s", res->message ? res->message : "");
}

static int report(int r, const struct cvm_err *err)
{
    if (r == 0) {
        printf("OK\n");
        return 0;
    }
    if (err->code == RPC_OK) {
        fprintf(stderr, "call failed locally: %s\n", strerror(-r));
        return 2;
    }
    printf("STATUS %d %s %s\n", err->code, rpc_code_name(err->code), err->msg);
    return 0;
}

int main(int argc, char **argv)
{
    struct loop *l = NULL;
    struct ttrpc_client *c = NULL;
    struct cvm_err err = {0};
    uint8_t *out = NULL;
    size_t out_len = 0;
    int fd, r;

    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDRESS exit|no-timestamp|bad-topic|unknown-method|garbage-payload ...\n", argv[0]);
        return 2;
    }
    if ((r = loop_new(&l)) < 0 || (r = ttrpc_dial_unix(argv[1], &fd)) < 0 ||
        (r = ttrpc_client_new(l, fd, &c)) < 0) {
        fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-r));
        return 2;
    }

    const char *mode = argv[2];
    if (!strcmp(mode, "unknown-method")) {
        r = ttrpc_client_call_sync(c, l, EVENTS_SERVICE, "Nope", NULL, NULL, 0, 5000000000ull, &out, &out_len, &err);
        return report(r, &err);
    }
    if (!strcmp(mode, "garbage-payload")) {
        static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
        r = ttrpc_client_call_raw(c, EVENTS_SERVICE, "Forward", garbage, sizeof(garbage), NULL, 0,
                                  5000000000ull, raw_reply, NULL);
        while (r == 0 && !st.done)
            loop_run_once(l, -1);
        if (r < 0)
            return 2;
        if (st.code == 0)
            printf("OK\n");
        else
            printf("STATUS %d %s %s\n", st.code, rpc_code_name(st.code), st.msg);
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "missing namespace\n");
        return 2;
    }

    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    Google__Protobuf__Timestamp exited = GOOGLE__PROTOBUF__TIMESTAMP__INIT, ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest fwd =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    struct timespec now;
    uint8_t evbuf[512];
    long status = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    ts.seconds = now.tv_sec;
    ts.nanos = (int32_t)now.tv_nsec;
    exited = ts;
    ev.container_id = argc > 4 ? argv[4] : "c1";
    ev.id = ev.container_id;
    ev.pid = 4242;
    if (argc > 5 && parse_long(argv[5], 0, 0xffffffffL, &status) < 0) {
        fprintf(stderr, "bad exit status\n");
        return 2;
    }
    ev.exit_status = (uint32_t)status;
    ev.exited_at = &exited;
    any.type_url = "containerd.events.TaskExit";
    any.value.len = containerd__events__task_exit__pack(&ev, evbuf);
    any.value.data = evbuf;
    env.namespace_ = argv[3];
    env.topic = "/tasks/exit";
    env.event = &any;
    env.timestamp = &ts;
    if (!strcmp(mode, "no-timestamp"))
        env.timestamp = NULL;
    else if (!strcmp(mode, "bad-topic"))
        env.topic = "tasks//exit";
    else if (strcmp(mode, "exit") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    fwd.envelope = &env;
    struct ttrpc_kv md = {"containerd-namespace-ttrpc", argv[3]};
    r = ttrpc_client_call_sync(c, l, EVENTS_SERVICE, "Forward", &fwd.base, &md, 1, 5000000000ull, &out, &out_len, &err);
    free(out);
    r = report(r, &err);
    ttrpc_client_free(c);
    loop_run_once(l, 0);
    loop_free(l);
    return r;
}

/* e2e driver: containerd.task.v2.Task/Exec, then Start, then Delete of that exec, against a
 * running shim — the calls containerd's client makes, one by one, so a test sees WHICH call
 * fails (containerd's contract: Exec of a missing binary succeeds, its Start fails NotFound).
 * Prints one line per call: "EXEC OK" / "START OK" / "DELETE OK exit=<n>" or
 * "<CALL> STATUS <code> <CODE_NAME> <message>"; stops after the first failed Exec.
 *
 *   task_exec_start ADDRESS_FILE NAMESPACE ID EXEC_ID PROCESS_JSON
 * Exit 0 when every call completed (whatever its status), 2 on local errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "loop.h"
#include "shim_conn.h"
#include "ttrpc.h"

#define PROCESS_URL "types.containerd.io/opencontainers/runtime-spec/1/Process"

static struct loop *l;
static struct ttrpc_client *c;
static struct ttrpc_kv md;

/* 1: OK (reply in *out), 0: a status (printed), -1: local failure. */
static int call(const char *name, const char *method, const ProtobufCMessage *req, uint8_t **out,
                size_t *out_len)
{
    struct cvm_err err = {0};
    int r = ttrpc_client_call_sync(c, l, "containerd.task.v2.Task", method, req, &md, 1,
                                   60000000000ull, out, out_len, &err);
    if (r == 0)
        return 1;
    if (err.code != RPC_OK) {
        printf("%s STATUS %d %s %s\n", name, err.code, rpc_code_name(err.code), err.msg);
        return 0;
    }
    fprintf(stderr, "%s: call failed locally: %s\n", name, strerror(-r));
    return -1;
}

int main(int argc, char **argv)
{
    int r, rc = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;

    if (argc != 6) {
        fprintf(stderr, "usage: %s ADDRESS_FILE NAMESPACE ID EXEC_ID PROCESS_JSON\n", argv[0]);
        return 2;
    }
    if (shim_conn_open(argv[1], &l, &c) < 0)
        return 2;
    md = (struct ttrpc_kv){"containerd-namespace-ttrpc", argv[2]};

    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Task__V2__ExecProcessRequest ex = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    any.type_url = PROCESS_URL;
    any.value.data = (uint8_t *)argv[5];
    any.value.len = strlen(argv[5]);
    ex.id = argv[3];
    ex.exec_id = argv[4];
    ex.spec = &any;
    r = call("EXEC", "Exec", &ex.base, &out, &out_len);
    free(out), out = NULL;
    if (r < 0)
        rc = 2;
    if (r == 1) {
        printf("EXEC OK\n");
        Containerd__Task__V2__StartRequest st = CONTAINERD__TASK__V2__START_REQUEST__INIT;
        st.id = argv[3];
        st.exec_id = argv[4];
        r = call("START", "Start", &st.base, &out, &out_len);
        free(out), out = NULL;
        if (r == 1)
            printf("START OK\n");
        Containerd__Task__V2__DeleteRequest de = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
        de.id = argv[3];
        de.exec_id = argv[4];
        int d = call("DELETE", "Delete", &de.base, &out, &out_len);
        if (d == 1) {
            Containerd__Task__V2__DeleteResponse *dr =
                containerd__task__v2__delete_response__unpack(NULL, out_len, out);
            printf("DELETE OK exit=%u\n", dr ? dr->exit_status : 0);
            if (dr)
                containerd__task__v2__delete_response__free_unpacked(dr, NULL);
        }
        free(out);
        if (r < 0 || d < 0)
            rc = 2;
    }
    shim_conn_close(l, c);
    return rc;
}

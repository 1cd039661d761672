/* e2e driver: containerd.task.v2.Task/Update against a running shim (ctr 1.6 has no
 * `task update`). Reads the shim address from the bundle's `address` file, sends
 * UpdateTaskRequest{id, resources = Any(LinuxResources JSON)} with the namespace metadata and
 * prints "OK" or "STATUS <code> <CODE_NAME> <message>".
 *
 *   task_update ADDRESS_FILE NAMESPACE ID RESOURCES_JSON
 * Exit 0 when the call completed (whatever its status), 2 on local errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "loop.h"
#include "shim_conn.h"
#include "ttrpc.h"

#define RESOURCES_URL "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

int main(int argc, char **argv)
{
    struct loop *l = NULL;
    struct ttrpc_client *c = NULL;
    struct cvm_err err = {0};
    _cleanup_(freep) uint8_t *out = NULL;
    size_t out_len = 0;
    int r;

    if (argc != 5) {
        fprintf(stderr, "usage: %s ADDRESS_FILE NAMESPACE ID RESOURCES_JSON\n", argv[0]);
        return 2;
    }
    if (shim_conn_open(argv[1], &l, &c) < 0)
        return 2;

    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Task__V2__UpdateTaskRequest req = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
    any.type_url = RESOURCES_URL;
    any.value.data = (uint8_t *)argv[4];
    any.value.len = strlen(argv[4]);
    req.id = argv[3];
    req.resources = &any;
    struct ttrpc_kv md = {"containerd-namespace-ttrpc", argv[2]};
    r = ttrpc_client_call_sync(c, l, "containerd.task.v2.Task", "Update", &req.base, &md, 1,
                               30000000000ull, &out, &out_len, &err);
    if (r == 0)
        printf("OK\n");
    else if (err.code != RPC_OK)
        printf("STATUS %d %s %s\n", err.code, rpc_code_name(err.code), err.msg);
    else
        fprintf(stderr, "call failed locally: %s\n", strerror(-r));
    shim_conn_close(l, c);
    return r == 0 || err.code != RPC_OK ? 0 : 2;
}

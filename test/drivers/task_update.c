/* e2e driver: containerd.task.v2.Task/Update against a running shim (ctr 1.6 has no
 * `task update`). Reads the shim address from the bundle's `address` file, sends
 * UpdateTaskRequest{id, resources = Any(LinuxResources JSON)} with the namespace metadata and
 * prints "OK" or "STATUS <code> <CODE_NAME> <message>".
 *
 *   task_update ADDRESS_FILE NAMESPACE ID RESOURCES_JSON
 * Exit 0 when the call completed (whatever its status), 2 on local errors. */
#include <stdio.h>
#include <string.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "shim_conn.h"

#define RESOURCES_URL "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s ADDRESS_FILE NAMESPACE ID RESOURCES_JSON\n", argv[0]);
        return 2;
    }
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Task__V2__UpdateTaskRequest req = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
    any.type_url = RESOURCES_URL;
    any.value.data = (uint8_t *)argv[4];
    any.value.len = strlen(argv[4]);
    req.id = argv[3];
    req.resources = &any;
    return shim_conn_task_call(argv[1], argv[2], "Update", &req.base);
}

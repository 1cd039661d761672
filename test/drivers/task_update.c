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
#include "ttrpc.h"

#define RESOURCES_URL "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

static int read_address(const char *file, char *out, size_t n)
{
    _cleanup_(fclosep) FILE *f = fopen(file, "re");
    if (!f)
        return -errno;
    size_t got = fread(out, 1, n - 1, f);
    out[got] = 0;
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
        out[--got] = 0;
    return got > 0 ? 0 : -ENODATA;
}

int main(int argc, char **argv)
{
    struct loop *l = NULL;
    struct ttrpc_client *c = NULL;
    struct cvm_err err = {0};
    _cleanup_(freep) uint8_t *out = NULL;
    size_t out_len = 0;
    char addr[512];
    int fd = -EBADF, r;

    if (argc != 5) {
        fprintf(stderr, "usage: %s ADDRESS_FILE NAMESPACE ID RESOURCES_JSON\n", argv[0]);
        return 2;
    }
    if ((r = read_address(argv[1], addr, sizeof(addr))) < 0) {
        fprintf(stderr, "read %s: %s\n", argv[1], strerror(-r));
        return 2;
    }
    const char *path = strncmp(addr, "unix://", 7) == 0 ? addr + 7 : addr;
    if ((r = loop_new(&l)) < 0 || (r = ttrpc_dial_unix(path, &fd)) < 0 ||
        (r = ttrpc_client_new(l, TAKE_FD(fd), &c)) < 0) {
        fprintf(stderr, "connect %s: %s\n", path, strerror(-r));
        loop_free(l);
        return 2;
    }

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
    ttrpc_client_free(c);
    loop_run_once(l, 0);
    loop_free(l);
    return r == 0 || err.code != RPC_OK ? 0 : 2;
}

/* See shim_conn.h. */
#include "shim_conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "cleanup.h"
#include "loop.h"
#include "ttrpc.h"

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

int shim_conn_open(const char *address_file, struct loop **ret_loop, struct ttrpc_client **ret_client)
{
    char addr[512];
    int fd = -EBADF, r;
    if ((r = read_address(address_file, addr, sizeof(addr))) < 0) {
        fprintf(stderr, "read %s: %s\n", address_file, strerror(-r));
        return r;
    }
    const char *path = strncmp(addr, "unix://", 7) == 0 ? addr + 7 : addr;
    if ((r = loop_new(ret_loop)) < 0 || (r = ttrpc_dial_unix(path, &fd)) < 0 ||
        (r = ttrpc_client_new(*ret_loop, TAKE_FD(fd), ret_client)) < 0) {
        fprintf(stderr, "connect %s: %s\n", path, strerror(-r));
        loop_free(*ret_loop);
        *ret_loop = NULL;
        return r;
    }
    return 0;
}

void shim_conn_close(struct loop *l, struct ttrpc_client *c)
{
    ttrpc_client_free(c);
    loop_run_once(l, 0);
    loop_free(l);
}

int shim_conn_task_call(const char *address_file, const char *ns, const char *method,
                        const struct ProtobufCMessage *req)
{
    struct loop *l = NULL;
    struct ttrpc_client *c = NULL;
    struct cvm_err err = {0};
    _cleanup_(freep) uint8_t *out = NULL;
    size_t out_len = 0;
    if (shim_conn_open(address_file, &l, &c) < 0)
        return 2;
    struct ttrpc_kv md = {"containerd-namespace-ttrpc", ns};
    int r = ttrpc_client_call_sync(c, l, "containerd.task.v2.Task", method, req, &md, 1,
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

/* Fuzz target: ttrpc frame reassembly + Request decoding, and the same bytes fed to a live
 * server over a socketpair (validation, dispatch, error replies). Nothing may crash, leak
 * or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_frame.h"

static void echo(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    (void)ud;
    (void)ttrpc_call_metadata(call, "containerd-namespace-ttrpc");
    Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, n, p);
    if (!kv) {
        ttrpc_call_reply_error(call, RPC_INTERNAL, "bad payload");
        return;
    }
    ttrpc_call_reply(call, &kv->base);
    ttrpc__key_value__free_unpacked(kv, NULL);
}

static void hold(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    ttrpc_call_set_cancel(call, NULL, NULL); /* freed when the connection closes */
}

static const struct ttrpc_method methods[] = {{"Echo", echo}, {"Hold", hold}};

static void pure_decode(const uint8_t *data, size_t size)
{
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    size_t off = 0;
    ttrpc_reader_init(&r, 0);
    /* Feed in uneven chunks so reassembly across boundaries is exercised. */
    while (off < size) {
        size_t n = 1 + (data[off] % 61);
        if (n > size - off)
            n = size - off;
        if (ttrpc_reader_feed(&r, data + off, n) < 0)
            break;
        off += n;
        while (ttrpc_reader_next(&r, &f) == 1) {
            if (f.oversized || f.hdr.type != TTRPC_TYPE_REQUEST)
                continue;
            Ttrpc__Request *req = ttrpc__request__unpack(NULL, f.hdr.length, f.payload);
            if (req)
                ttrpc__request__free_unpacked(req, NULL);
            Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f.hdr.length, f.payload);
            if (resp)
                ttrpc__response__free_unpacked(resp, NULL);
        }
    }
    ttrpc_reader_done(&r);
}

static void live_server(const uint8_t *data, size_t size)
{
    struct loop *l = NULL;
    struct ttrpc_server *s = NULL;
    int sv[2];
    size_t off = 0;
    char sink[65536];

    if (loop_new(&l) < 0)
        return;
    if (ttrpc_server_new(l, NULL, &s) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        ttrpc_server_free(s);
        loop_free(l);
        return;
    }
    ttrpc_server_register(s, "t.Svc", methods, 2, NULL);
    ttrpc_server_add_conn(s, sv[0]);
    fd_set_nonblock(sv[1], 1);
    for (int i = 0; i < 64 && off < size; i++) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n > 0)
            off += (size_t)n;
        loop_run_once(l, 0);
        while (read(sv[1], sink, sizeof(sink)) > 0)
            ;
    }
    shutdown(sv[1], SHUT_WR);
    for (int i = 0; i < 4; i++) {
        loop_run_once(l, 0);
        while (read(sv[1], sink, sizeof(sink)) > 0)
            ;
    }
    close(sv[1]);
    for (int i = 0; i < 2; i++)
        loop_run_once(l, 0);
    ttrpc_server_free(s);
    loop_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_fd(-1);
    pure_decode(data, size);
    live_server(data, size);
    return 0;
}

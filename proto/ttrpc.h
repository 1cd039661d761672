/* ttrpc server and client on the project's event loop (spec §1).
 *
 * Both work over any connected SOCK_STREAM fd: unix sockets towards containerd, vsock (or the
 * hybrid vsock unix socket) towards the guest agent.
 *
 * Server: services are tables of {method name, handler}. A handler gets a call and replies
 * at once or later; many calls per connection may be in flight and are answered in any
 * order. A handler that keeps a call past its return MUST set a cancel callback: when the
 * connection goes away the callback runs and the call is freed right after it, so the holder
 * drops its pointer there. Replying frees the call.
 *
 * Client: odd, increasing stream ids; a pending-call table; a per-call deadline; a lost
 * connection fails every pending call with UNAVAILABLE "ttrpc: closed". */
#ifndef CVM_TTRPC_H
#define CVM_TTRPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmap.h"

struct loop;
struct ttrpc_server;
struct ttrpc_call;
struct ttrpc_client;

/* ---- server ---- */
/* Decode a handler's request into var, freed at scope exit, or answer as containerd's Go ttrpc
 * server does (spec §1.7: INTERNAL "ttrpc: error unmarshalling payload") and return. The one
 * request decoder of every ttrpc service here (the shim's Task service, the agent's). */
static inline void ttrpc_pb_freep(void *p)
{
    ProtobufCMessage **m = p;
    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
}
#define TTRPC_DECODE(Type, prefix, var, call, payload, len)                                        \
    __attribute__((cleanup(ttrpc_pb_freep))) Type *var = prefix##__unpack(NULL, len, payload);     \
    if (!var) {                                                                                    \
        ttrpc_call_reply_error(call, RPC_INTERNAL, "ttrpc: error unmarshalling payload: %s",       \
                               #Type);                                                             \
        return;                                                                                    \
    }

typedef void (*ttrpc_handler_fn)(struct ttrpc_call *call, const uint8_t *payload, size_t len,
                                 void *userdata);

struct ttrpc_method {
    const char *name;
    ttrpc_handler_fn handler;
};

struct ttrpc_server_opts {
    bool require_same_user; /* SO_PEERCRED uid/gid == ours, else the connection is closed */
    size_t max_connections; /* 0 = 1024 */
};

int ttrpc_server_new(struct loop *l, const struct ttrpc_server_opts *opts,
                     struct ttrpc_server **ret);
void ttrpc_server_free(struct ttrpc_server *s);
/* The table must outlive the server. Registering the same service twice fails -EEXIST. */
int ttrpc_server_register(struct ttrpc_server *s, const char *service,
                          const struct ttrpc_method *methods, size_t n_methods, void *userdata);
/* Accept connections on a listening socket (borrowed; stays the caller's to close). */
int ttrpc_server_add_listener(struct ttrpc_server *s, int listen_fd);
/* Serve an already-connected fd (ownership passes to the server). */
int ttrpc_server_add_conn(struct ttrpc_server *s, int fd);
size_t ttrpc_server_n_conns(const struct ttrpc_server *s);
/* Called with every connection that closes (peer EOF, error); may be NULL. */
void ttrpc_server_on_conn_closed(struct ttrpc_server *s, void (*cb)(void *data), void *data);

/* Reply with a protobuf message (NULL = empty payload). Frees the call. */
int ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *msg);
/* Reply with a status; code != 0. Frees the call. */
int ttrpc_call_reply_error(struct ttrpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reply from a -errno and a cvm_err (err may be NULL: message from strerror). Frees the call. */
int ttrpc_call_reply_errno(struct ttrpc_call *call, int r, const struct cvm_err *err);
/* Value of the first metadata entry with that key, or NULL. */
const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key);
const char *ttrpc_call_service(const struct ttrpc_call *call);
const char *ttrpc_call_method(const struct ttrpc_call *call);
uint32_t ttrpc_call_stream_id(const struct ttrpc_call *call);
/* Absolute CLOCK_MONOTONIC deadline in ns from timeout_nano, 0 = none. */
uint64_t ttrpc_call_deadline_ns(const struct ttrpc_call *call);
void ttrpc_call_set_cancel(struct ttrpc_call *call, void (*cancel)(struct ttrpc_call *, void *),
                           void *data);

/* ---- client ---- */

/* Result of a call: code 0 = OK and payload holds the response message bytes. */
struct ttrpc_result {
    int code;
    const char *message;
    const uint8_t *payload;
    size_t len;
};
typedef void (*ttrpc_reply_fn)(const struct ttrpc_result *res, void *data);

struct ttrpc_kv {
    const char *key;
    const char *value;
};

/* fd ownership passes to the client. */
int ttrpc_client_new(struct loop *l, int fd, struct ttrpc_client **ret);
/* The most a reply frame on this client may carry (a peer that needs less than 4 MiB, e.g. a
 * hostile guest's agent): longer replies fail their call and are never buffered. Call right
 * after ttrpc_client_new. */
void ttrpc_client_set_max_reply(struct ttrpc_client *c, uint32_t max);
/* Fails pending calls with CANCELLED, closes the fd. Accepts NULL. */
void ttrpc_client_free(struct ttrpc_client *c);
/* Called once when the connection is lost (after pending calls failed); may be NULL. */
void ttrpc_client_on_closed(struct ttrpc_client *c, void (*cb)(void *data), void *data);
bool ttrpc_client_is_closed(const struct ttrpc_client *c);
size_t ttrpc_client_n_pending(const struct ttrpc_client *c);

/* Issue a unary call; cb runs exactly once from the loop (never from inside this function).
 * timeout_ns 0 = no deadline. req may be NULL (empty request). */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const struct ttrpc_kv *md, size_t n_md,
                      uint64_t timeout_ns, ttrpc_reply_fn cb, void *data);
/* Same with a cap on the reply: a Response frame of more than max_reply bytes (0: the 4 MiB
 * frame cap) fails the call with RESOURCE_EXHAUSTED before anything of it is decoded. For
 * peers that are not trusted (the guest agent), so what one answer can cost is bounded. */
int ttrpc_client_call_max(struct ttrpc_client *c, const char *service, const char *method,
                          const ProtobufCMessage *req, const struct ttrpc_kv *md, size_t n_md,
                          uint64_t timeout_ns, size_t max_reply, ttrpc_reply_fn cb, void *data);
/* Same with an already-encoded request payload. */
int ttrpc_client_call_raw(struct ttrpc_client *c, const char *service, const char *method,
                          const uint8_t *payload, size_t len, const struct ttrpc_kv *md,
                          size_t n_md, uint64_t timeout_ns, ttrpc_reply_fn cb, void *data);

/* Blocking convenience for CLIs and tests: runs the loop until the reply arrives. On success
 * *ret_payload (malloc'd, may be NULL for empty) and *ret_len hold the response; on failure
 * returns -errno mapped from the status and fills err (code + message). */
int ttrpc_client_call_sync(struct ttrpc_client *c, struct loop *l, const char *service,
                           const char *method, const ProtobufCMessage *req,
                           const struct ttrpc_kv *md, size_t n_md, uint64_t timeout_ns,
                           uint8_t **ret_payload, size_t *ret_len, struct cvm_err *err);

/* Connect to a unix socket path (blocking connect, then non-blocking, cloexec). */
int ttrpc_dial_unix(const char *path, int *ret_fd);

#endif

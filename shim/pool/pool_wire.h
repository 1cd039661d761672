/* The pool's control protocol (shim/pool, README "Warm VM pool"): one SOCK_SEQPACKET message
 * each way per step between `shim start` (the claimer) and a warm shim. PURE.
 *
 *   warm -> claimer  HELLO {version}          on accept: who is here
 *   claimer -> warm  CLAIM {version, ns, id, bundle, address, ttrpc address, publish binary,
 *                           debug} + the sandbox's listening socket (SCM_RIGHTS)
 *                    or EXIT {}               a stale version (or a drain): leave now
 *   warm -> claimer  OK {} | ERR {message}
 *
 * A message is "CVMP", a type byte, then the type's fields in order, each a little-endian u16
 * length and that many bytes (no NUL inside); nothing may follow the last field. */
#ifndef CVM_SHIM_POOL_WIRE_H
#define CVM_SHIM_POOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_MSG_MAX 12288u /* the largest encoded message (every field at its bound) */

enum pool_msg_type {
    POOL_MSG_HELLO = 1,
    POOL_MSG_CLAIM = 2,
    POOL_MSG_EXIT = 3,
    POOL_MSG_OK = 4,
    POOL_MSG_ERR = 5,
};

struct pool_msg {
    enum pool_msg_type type;
    char version[160]; /* HELLO, CLAIM: pool_version() of the sender */
    char ns[80];       /* CLAIM ... */
    char id[80];
    char bundle[4096];
    char address[256];
    char ttrpc_address[300];
    char publish_binary[2048];
    bool debug;
    char message[256]; /* ERR */
};

/* Encode m into buf (n bytes): the length, or -EINVAL (a string too long for its field or
 * holding no room for its NUL, an unknown type), -ENOBUFS (n too small). */
int pool_msg_encode(const struct pool_msg *m, uint8_t *buf, size_t n);
/* Decode one message; m is zeroed first. -EBADMSG on anything but an exact, bounded message. */
int pool_msg_decode(const uint8_t *buf, size_t n, struct pool_msg *m);

#endif

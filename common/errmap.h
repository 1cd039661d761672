/* errno <-> google.rpc.Status codes, and the message-carrying error of operation layers.
 *
 * containerd's errdefs turn status codes back into error classes (spec §1.7); the messages
 * follow the "<what>: <class text>" convention so containerd strips the duplicated suffix. */
#ifndef CVM_ERRMAP_H
#define CVM_ERRMAP_H

#include <stdarg.h>

enum rpc_code {
    RPC_OK = 0,
    RPC_CANCELLED = 1,
    RPC_UNKNOWN = 2,
    RPC_INVALID_ARGUMENT = 3,
    RPC_DEADLINE_EXCEEDED = 4,
    RPC_NOT_FOUND = 5,
    RPC_ALREADY_EXISTS = 6,
    RPC_PERMISSION_DENIED = 7,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_FAILED_PRECONDITION = 9,
    RPC_ABORTED = 10,
    RPC_OUT_OF_RANGE = 11,
    RPC_UNIMPLEMENTED = 12,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14,
    RPC_DATA_LOSS = 15,
    RPC_UNAUTHENTICATED = 16,
    _RPC_CODE_MAX,
};

/* A fixed-size error: never allocates, cannot leak. */
struct cvm_err {
    int code; /* enum rpc_code */
    char msg[256];
};

int rpc_code_from_errno(int err);          /* err may be negative or positive */
int rpc_code_to_errno(int code);           /* returns a negative errno */
const char *rpc_code_name(int code);       /* "NOT_FOUND" ... */
const char *rpc_code_class_text(int code); /* containerd's class text: "not found" ... */

/* Set err (if non-NULL and not already set) from an errno and a printf message; returns r
 * (negative) so call sites read "return cvm_err_set(err, r, ...)". */
int cvm_err_set(struct cvm_err *err, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cvm_err_setc(struct cvm_err *err, int code, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prepend context: "prefix: old message". */
void cvm_err_prefix(struct cvm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

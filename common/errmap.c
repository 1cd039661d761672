#include "errmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int rpc_code_from_errno(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0: return RPC_OK;
    case ENOENT:
    case ESRCH: return RPC_NOT_FOUND;
    case EEXIST: return RPC_ALREADY_EXISTS;
    case EINVAL:
    case E2BIG:
    case ENAMETOOLONG: return RPC_INVALID_ARGUMENT;
    case ENOTSUP:
    case ENOSYS: return RPC_UNIMPLEMENTED;
    case ETIMEDOUT: return RPC_DEADLINE_EXCEEDED;
    case EBUSY:
    case EALREADY:
    case ECHILD: return RPC_FAILED_PRECONDITION;
    case ECANCELED: return RPC_CANCELLED;
    case EPERM:
    case EACCES: return RPC_PERMISSION_DENIED;
    case ENOMEM:
    case ENOSPC:
    case EMSGSIZE:
    case ENOBUFS: return RPC_RESOURCE_EXHAUSTED;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case EHOSTDOWN: return RPC_UNAVAILABLE;
    case ERANGE:
    case EOVERFLOW: return RPC_OUT_OF_RANGE;
    case EBADMSG:
    case EPROTO: return RPC_DATA_LOSS;
    default: return RPC_UNKNOWN;
    }
}

int rpc_code_to_errno(int code)
{
    switch (code) {
    case RPC_OK: return 0;
    case RPC_CANCELLED: return -ECANCELED;
    case RPC_INVALID_ARGUMENT: return -EINVAL;
    case RPC_DEADLINE_EXCEEDED: return -ETIMEDOUT;
    case RPC_NOT_FOUND: return -ENOENT;
    case RPC_ALREADY_EXISTS: return -EEXIST;
    case RPC_PERMISSION_DENIED: return -EPERM;
    case RPC_RESOURCE_EXHAUSTED: return -ENOBUFS;
    case RPC_FAILED_PRECONDITION: return -EBUSY;
    case RPC_OUT_OF_RANGE: return -ERANGE;
    case RPC_UNIMPLEMENTED: return -ENOTSUP;
    case RPC_UNAVAILABLE: return -ENOTCONN;
    case RPC_DATA_LOSS: return -EBADMSG;
    default: return -EIO;
    }
}

static const char *const names[_RPC_CODE_MAX] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

/* The class texts of containerd's errdefs, so messages read "<what>: <class>". */
static const char *const class_texts[_RPC_CODE_MAX] = {
    "ok",
    "context canceled",
    "unknown",
    "invalid argument",
    "context deadline exceeded",
    "not found",
    "already exists",
    "permission denied",
    "resource exhausted",
    "failed precondition",
    "aborted",
    "out of range",
    "not implemented",
    "internal",
    "unavailable",
    "data loss",
    "unauthenticated",
};

const char *rpc_code_name(int code)
{
    if (code < 0 || code >= _RPC_CODE_MAX)
        return "UNKNOWN";
    return names[code];
}

const char *rpc_code_class_text(int code)
{
    if (code < 0 || code >= _RPC_CODE_MAX)
        return "unknown";
    return class_texts[code];
}

static void vset(struct cvm_err *err, int code, const char *fmt, va_list ap)
{
    if (!err || err->code != RPC_OK)
        return;
    err->code = code == RPC_OK ? RPC_UNKNOWN : code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int cvm_err_set(struct cvm_err *err, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, rpc_code_from_errno(r), fmt, ap);
    va_end(ap);
    return r < 0 ? r : -r;
}

int cvm_err_setc(struct cvm_err *err, int code, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return r < 0 ? r : -r;
}

void cvm_err_prefix(struct cvm_err *err, const char *fmt, ...)
{
    char prefix[128], old[sizeof(err->msg)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

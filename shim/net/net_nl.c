/* libnl sockets bound to a sandbox's network namespace, and libnl error codes as errno. */
#define LOG_MODULE "net"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "cleanup.h"
#include "errmap.h"
#include "log.h"

int net_nl_errno(int nle)
{
    switch (nle < 0 ? -nle : nle) {
    case NLE_SUCCESS: return 0;
    case NLE_INTR: return -EINTR;
    case NLE_BAD_SOCK: return -EBADF;
    case NLE_AGAIN: return -EAGAIN;
    case NLE_NOMEM: return -ENOMEM;
    case NLE_EXIST: return -EEXIST;
    case NLE_INVAL: return -EINVAL;
    case NLE_RANGE: return -ERANGE;
    case NLE_MSGSIZE: return -EMSGSIZE;
    case NLE_OPNOTSUPP: return -EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return -ENOENT;
    case NLE_NOADDR: return -EADDRNOTAVAIL;
    case NLE_BUSY: return -EBUSY;
    case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
    case NLE_NOACCESS: return -EACCES;
    case NLE_PERM: return -EPERM;
    case NLE_NODEV: return -ENODEV;
    case NLE_DUMP_INTR: return -EAGAIN;
    default: return -EIO;
    }
}

void net_nl_closep(struct nl_sock **sk)
{
    if (*sk) {
        nl_socket_free(*sk); /* closes the fd */
        *sk = NULL;
    }
}

static int nl_open_here(struct nl_sock **ret)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return -ENOMEM;
    int r = nl_connect(sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(sk);
        return net_nl_errno(r);
    }
    *ret = sk;
    return 0;
}

int net_nl_open(int netns_fd, struct nl_sock **ret, struct cvm_err *err)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    int r;

    if (netns_fd < 0) {
        r = nl_open_here(&sk);
    } else {
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
            return cvm_err_set(err, -errno, "open our network namespace: %m");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
            return cvm_err_set(err, -errno, "enter the sandbox network namespace: %m");
        r = nl_open_here(&sk);
        if (setns(self, CLONE_NEWNET) < 0) {
            /* Carrying on in the sandbox's netns would put everything else of ours there. */
            log_error("cannot return to our network namespace: %m");
            abort();
        }
    }
    if (r < 0)
        return cvm_err_set(err, r, "netlink socket: %s", strerror(-r));
    /* libnl 3.7 creates it SOCK_CLOEXEC; make sure on any libnl. */
    int fd = nl_socket_get_fd(sk);
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC))
        (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    *ret = TAKE_PTR(sk);
    return 0;
}

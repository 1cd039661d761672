/* The setup socket's messages (SOCK_SEQPACKET, one struct sync_msg each, an optional fd by
 * SCM_RIGHTS): the child's blocking side and the parent's non-blocking one. */
#include "spawn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"

int sync_send(int fd, char type, int err, const char *msg)
{
    struct sync_msg m = {.type = type, .err = err};
    if (msg)
        snprintf(m.msg, sizeof(m.msg), "%s", msg);
    for (;;) {
        ssize_t n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof(m))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -errno : -EIO;
    }
}

int sync_send_fd(int fd, char type, int passfd)
{
    struct sync_msg m = {.type = type};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    memset(&u, 0, sizeof(u));
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passfd, sizeof(int));
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof(m))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -errno : -EIO;
    }
}

int sync_try_recv_fd(int fd, struct sync_msg *m, int *passed_fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    if (passed_fd)
        *passed_fd = -1;
    for (;;) {
        struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf)};
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < nfd; i++) {
                int got;
                memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (passed_fd && *passed_fd < 0)
                    *passed_fd = got;
                else
                    close(got);
            }
        }
        if (n == 0)
            return -EPIPE;
        if (n != (ssize_t)sizeof(*m) || (mh.msg_flags & MSG_CTRUNC)) {
            if (passed_fd)
                *passed_fd = safe_close(*passed_fd), *passed_fd = -1;
            return -EBADMSG;
        }
        m->msg[sizeof(m->msg) - 1] = '\0';
        return 0;
    }
}

int sync_recv_fd(int fd, struct sync_msg *m, int timeout_ms, int *passed_fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (passed_fd)
        *passed_fd = -1;
    for (;;) {
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        r = sync_try_recv_fd(fd, m, passed_fd);
        if (r != -EAGAIN)
            return r;
    }
}

int sync_recv(int fd, struct sync_msg *m, int timeout_ms)
{
    return sync_recv_fd(fd, m, timeout_ms, NULL);
}

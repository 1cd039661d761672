/* vhost-user socket I/O: one message with its SCM_RIGHTS fds in, one reply out (see vu_io.h). */
#include "vu_io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"

/* Receive one message with its fds (close-on-exec). Returns 0, -ECONNRESET on EOF, -errno. */
int vu_recv_msg(int sock, struct vu_msg *m, int *fds, unsigned *nfds)
{
    char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
    struct iovec iov = {.iov_base = &m->hdr, .iov_len = VU_HDR_SIZE};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n;
    int r = 0;

    *nfds = 0;
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ECONNRESET;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        size_t k;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < VU_MAX_FDS)
                fds[(*nfds)++] = fd;
            else
                safe_close(fd), r = -EINVAL;
        }
    }
    if ((mh.msg_flags & MSG_CTRUNC) || n != VU_HDR_SIZE)
        r = -EINVAL;
    if (r == 0)
        r = vu_hdr_check(&m->hdr);
    if (r == 0 && m->hdr.size > 0) {
        n = recv(sock, m->p.raw, m->hdr.size, MSG_WAITALL);
        if (n != (ssize_t)m->hdr.size)
            r = n < 0 ? -errno : -EIO;
    }
    if (r < 0) {
        for (unsigned i = 0; i < *nfds; i++)
            safe_close(fds[i]);
        *nfds = 0;
    }
    return r;
}

int vu_send_reply(int sock, const struct vu_msg *req, const void *payload, uint32_t size)
{
    struct vu_msg rep;
    ssize_t n;

    memset(&rep.hdr, 0, sizeof(rep.hdr));
    rep.hdr.request = req->hdr.request;
    rep.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
    rep.hdr.size = size;
    memcpy(rep.p.raw, payload, size);
    n = send(sock, &rep, VU_HDR_SIZE + size, MSG_NOSIGNAL);
    if (n < 0)
        return -errno;
    return n == (ssize_t)(VU_HDR_SIZE + size) ? 0 : -EIO;
}

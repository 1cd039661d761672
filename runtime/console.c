/* --console-socket: runc makes a pty, keeps the slave as the container's stdio and sends the
 * master to the caller over the unix socket (SCM_RIGHTS, the pty's name as the payload). Here
 * the slave stays with the monitor and the shim relays it to the guest's own pty, so the host
 * slave is raw: echo, line editing and signals are the guest pty's business, not doubled. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "rt.h"

int rt_pty_open(int *ret_master, int *ret_slave)
{
    char name[64];
    struct termios t;
    _cleanup_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
        return -errno;
    _cleanup_close_ int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0 || tcgetattr(s, &t) < 0)
        return -errno;
    cfmakeraw(&t);
    if (tcsetattr(s, TCSANOW, &t) < 0)
        return -errno;
    *ret_master = TAKE_FD(m);
    *ret_slave = TAKE_FD(s);
    return 0;
}

int rt_console_send(const char *socket_path, int master)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char name[64];
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, socket_path);
    if (ptsname_r(master, name, sizeof(name)) != 0)
        return -errno;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    ssize_t n;
    while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n < 0 ? -errno : 0;
}

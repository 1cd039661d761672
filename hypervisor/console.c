/* The guest serial console: QEMU writes it into one end of a socketpair (handed over as a
 * connected chardev socket), we append it to the console log file and pass complete lines to
 * the owner.
 *
 * Why not QEMU's "-chardev file": the guest controls what it prints, and a file QEMU appends
 * to grows without bound on the host. Here the file is capped (the newest half is kept when
 * it overflows), and a guest printing faster than we read is simply throttled by the socket. */
#define LOG_MODULE "guest"
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"

#define CON_LINE_MAX 1024

struct hv_console {
    int sock, file;
    struct loop_source *src;
    size_t cap, size;
    hv_console_line_cb cb;
    void *data;
    char line[CON_LINE_MAX + 1];
    size_t line_len;
    unsigned long long first_byte_ns; /* 0 until the guest wrote anything */
};

/* Keep the newest cap/2 bytes. Bounded work (at most cap/2 bytes copied), rare. */
static void compact(struct hv_console *c)
{
    size_t keep = c->cap / 2;
    _cleanup_free_ char *buf = malloc(keep);
    ssize_t n;
    if (!buf)
        return;
    n = pread(c->file, buf, keep, (off_t)(c->size - keep));
    if (n < 0 || ftruncate(c->file, 0) < 0)
        return;
    if (pwrite(c->file, buf, (size_t)n, 0) != n)
        return;
    c->size = (size_t)n;
}

static void flush_line(struct hv_console *c)
{
    if (c->line_len && c->line[c->line_len - 1] == '\r')
        c->line_len--;
    c->line[c->line_len] = '\0';
    for (size_t i = 0; i < c->line_len; i++)
        if ((unsigned char)c->line[i] < 0x20 || c->line[i] == 0x7f)
            c->line[i] = '?';
    if (c->cb)
        c->cb(c->line, c->data);
    c->line_len = 0;
}

static void take(struct hv_console *c, const char *p, size_t n)
{
    if (!c->first_byte_ns && n)
        c->first_byte_ns = now_ns();
    if (pwrite(c->file, p, n, (off_t)c->size) == (ssize_t)n)
        c->size += n;
    if (c->size > c->cap)
        compact(c);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' || c->line_len == CON_LINE_MAX) {
            flush_line(c);
            if (p[i] == '\n')
                continue;
        }
        c->line[c->line_len++] = p[i];
    }
}

/* Read what is there (a bounded number of chunks). Returns -EPIPE at EOF/error. */
static int pump(struct hv_console *c)
{
    char buf[16384];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(c->sock, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -EPIPE;
        take(c, buf, (size_t)n);
    }
    return 0;
}

static void on_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct hv_console *c = data;
    (void)s, (void)fd, (void)revents;
    if (pump(c) < 0) {
        if (c->line_len)
            flush_line(c);
        c->src = loop_source_free(c->src);
        c->sock = safe_close(c->sock);
    }
}

int hv_console_new(struct loop *l, const char *path, size_t cap, hv_console_line_cb cb, void *data,
                   int *ret_qemu_fd, struct hv_console **ret)
{
    _cleanup_close_ int file = -EBADF;
    int sv[2], r;
    struct hv_console *c;

    file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (file < 0)
        return -errno;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(sv[0]), close(sv[1]);
        return -ENOMEM;
    }
    c->sock = sv[0];
    c->file = TAKE_FD(file);
    c->cap = cap < 4096 ? 4096 : cap;
    c->cb = cb;
    c->data = data;
    (void)fd_set_nonblock(c->sock, 1);
    r = loop_add_io(l, c->sock, EPOLLIN, on_io, c, &c->src);
    if (r < 0) {
        close(sv[1]);
        hv_console_free(c);
        return r;
    }
    *ret_qemu_fd = sv[1];
    *ret = c;
    return 0;
}

void hv_console_drain(struct hv_console *c)
{
    if (c && c->sock >= 0 && pump(c) < 0) {
        if (c->line_len)
            flush_line(c);
        c->src = loop_source_free(c->src);
        c->sock = safe_close(c->sock);
    }
}

unsigned long long hv_console_first_byte_ns(const struct hv_console *c)
{
    return c ? c->first_byte_ns : 0;
}

void hv_console_free(struct hv_console *c)
{
    if (!c)
        return;
    c->src = loop_source_free(c->src);
    c->sock = safe_close(c->sock);
    c->file = safe_close(c->file);
    free(c);
}

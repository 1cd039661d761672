/* /init of the vsock test initrd (test/e2e/20-vsock.sh, test/bench/vsock-bench.sh).
 *
 * Static binary, PID 1 of a throwaway guest: mounts /proc /sys /dev, loads the modules listed
 * in /etc/modules.load (initrd/mkinitrd.sh writes it deps-first, one path per line) with
 * finit_module, then serves the
 * guest side of the vsock tests on AF_VSOCK ports, one forked child per connection:
 *   1234 echo      bytes back until EOF, then close
 *   1235 bye       writes "bye\n" and closes at once (guest close → host EOF)
 *   1236 count     reads to EOF or error, answers "EOF <n>\n" / "ERR <name> <n>\n", closes
 *   1237 flood     writes until a write fails; the result is kept for FLOODRESULT
 *   1238 shutrd    shutdown(SHUT_RD), writes "shut\n", keeps the socket open 3 s
 *   1239 source    reads "<n>\n", writes n bytes of a fixed pattern, closes
 *   1300 command   one line per request, one line per answer:
 *       GCONNECT <port>      connect to host port, send "ping\n", answer "OK <line>" / "ERR <name>"
 *       GSEND <port> <n>     connect, send n pattern bytes, half-close, answer "OK <line> <usec>"
 *       GCONNLAT <port> <k>  k sequential connect+close to host port, answer "OK <avg usec>"
 *       FLOODRESULT          answer the flood child's result once it has one
 * Prints VSOCK_TEST_READY on the console when listening. Never exits: PID 1 powers off. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PORT_ECHO 1234
#define PORT_BYE 1235
#define PORT_COUNT 1236
#define PORT_FLOOD 1237
#define PORT_SHUTRD 1238
#define PORT_SOURCE 1239
#define PORT_CMD 1300
#define FLOOD_RESULT "/tmp/flood.result"

static void die(const char *what)
{
    fprintf(stderr, "vsock_test_init: %s: %s\n", what, strerror(errno));
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "EUNKNOWN";
}

static void load_modules(void)
{
    char line[512];
    FILE *f = fopen("/etc/modules.load", "re");
    if (!f)
        die("open /etc/modules.load");
    while (fgets(line, sizeof(line), f)) {
        int fd;
        line[strcspn(line, "\n")] = 0;
        if (!line[0])
            continue;
        fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die(line);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            die(line);
        close(fd);
    }
    fclose(f);
}

static int vsock_listen(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    /* Non-blocking so one wakeup accepts everything queued; a deep backlog because the kernel
     * answers connects before accept(), and a fork per connection is slow under TCG. */
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
        die("vsock listen");
    return fd;
}

static int vsock_connect_host(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_HOST};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void dprintf_all(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dprintf_all(int fd, const char *fmt, ...)
{
    char b[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    (void)write_all(fd, b, (size_t)n);
}

/* Read one line (without '\n') into b; returns length or -errno / -EOF as -ENODATA. */
static int read_line(int fd, char *b, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, b + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return n ? (int)n : -ENODATA;
        if (b[n] == '\n')
            break;
        n++;
    }
    b[n] = 0;
    return (int)n;
}

static void fill_pattern(char *b, size_t n, unsigned long long off)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (char)('a' + (off + i) % 26);
}

static unsigned long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static char big[256 * 1024];

static void serve_echo(int fd)
{
    for (;;) {
        ssize_t n = read(fd, big, sizeof(big));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (write_all(fd, big, (size_t)n) < 0)
            break;
    }
    shutdown(fd, SHUT_WR);
}

static void serve_count(int fd)
{
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(fd, big, sizeof(big));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dprintf_all(fd, "ERR %s %llu\n", errname(errno), total);
            return;
        }
        if (n == 0)
            break;
        total += (unsigned long long)n;
    }
    dprintf_all(fd, "EOF %llu\n", total);
}

static void serve_flood(int fd)
{
    unsigned long long total = 0;
    char res[128];
    int out, e = 0;
    fill_pattern(big, 65536, 0);
    for (;;) {
        ssize_t n = write(fd, big, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : 0;
            break;
        }
        total += (unsigned long long)n;
    }
    snprintf(res, sizeof(res), "WERR %s %llu\n", errname(e), total);
    out = open(FLOOD_RESULT ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
        (void)write_all(out, res, strlen(res));
        close(out);
        rename(FLOOD_RESULT ".tmp", FLOOD_RESULT);
    }
}

static void serve_source(int fd)
{
    char line[64];
    unsigned long long n, off = 0;
    if (read_line(fd, line, sizeof(line)) < 0)
        return;
    n = strtoull(line, NULL, 10);
    while (off < n) {
        size_t k = n - off < sizeof(big) ? (size_t)(n - off) : sizeof(big);
        fill_pattern(big, k, off);
        if (write_all(fd, big, k) < 0)
            return;
        off += k;
    }
}

static void cmd_gconnect(int out, unsigned port)
{
    char line[256];
    int fd = vsock_connect_host(port), r;
    if (fd < 0) {
        dprintf_all(out, "ERR %s\n", errname(-fd));
        return;
    }
    if (write_all(fd, "ping\n", 5) < 0) {
        dprintf_all(out, "ERR write %s\n", errname(errno));
        close(fd);
        return;
    }
    r = read_line(fd, line, sizeof(line));
    if (r < 0)
        dprintf_all(out, "ERR read %s\n", errname(-r));
    else
        dprintf_all(out, "OK %s\n", line);
    close(fd);
}

static void cmd_gsend(int out, unsigned port, unsigned long long n)
{
    char line[256];
    unsigned long long off = 0, t0 = now_us();
    int fd = vsock_connect_host(port), r;
    if (fd < 0) {
        dprintf_all(out, "ERR %s\n", errname(-fd));
        return;
    }
    while (off < n) {
        size_t k = n - off < sizeof(big) ? (size_t)(n - off) : sizeof(big);
        fill_pattern(big, k, off);
        if (write_all(fd, big, k) < 0) {
            dprintf_all(out, "ERR write %s\n", errname(errno));
            close(fd);
            return;
        }
        off += k;
    }
    shutdown(fd, SHUT_WR);
    r = read_line(fd, line, sizeof(line));
    if (r < 0)
        dprintf_all(out, "ERR read %s\n", errname(-r));
    else
        dprintf_all(out, "OK %s %llu\n", line, now_us() - t0);
    close(fd);
}

static void cmd_gconnlat(int out, unsigned port, unsigned k)
{
    unsigned long long t0 = now_us();
    for (unsigned i = 0; i < k; i++) {
        int fd = vsock_connect_host(port);
        if (fd < 0) {
            dprintf_all(out, "ERR %s\n", errname(-fd));
            return;
        }
        close(fd);
    }
    dprintf_all(out, "OK %llu\n", k ? (now_us() - t0) / k : 0);
}

static void serve_cmd(int fd)
{
    char line[256];
    while (read_line(fd, line, sizeof(line)) >= 0) {
        unsigned port = 0, k = 0;
        unsigned long long n = 0;
        if (sscanf(line, "GCONNECT %u", &port) == 1) {
            cmd_gconnect(fd, port);
        } else if (sscanf(line, "GSEND %u %llu", &port, &n) == 2) {
            cmd_gsend(fd, port, n);
        } else if (sscanf(line, "GCONNLAT %u %u", &port, &k) == 2) {
            cmd_gconnlat(fd, port, k);
        } else if (strcmp(line, "FLOODRESULT") == 0) {
            char res[128] = "ERR timeout\n";
            for (int i = 0; i < 100; i++) {
                int f = open(FLOOD_RESULT, O_RDONLY | O_CLOEXEC);
                if (f >= 0) {
                    ssize_t r = read(f, res, sizeof(res) - 1);
                    res[r > 0 ? r : 0] = 0;
                    close(f);
                    unlink(FLOOD_RESULT);
                    break;
                }
                usleep(50000);
            }
            dprintf_all(fd, "%s", res);
        } else {
            dprintf_all(fd, "ERR unknown command\n");
        }
    }
}

int main(void)
{
    static const unsigned ports[] = {PORT_ECHO,  PORT_BYE,    PORT_COUNT, PORT_FLOOD,
                                     PORT_SHUTRD, PORT_SOURCE, PORT_CMD};
    struct pollfd pfd[sizeof(ports) / sizeof(ports[0])];
    size_t np = sizeof(ports) / sizeof(ports[0]);

    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mkdir("/dev", 0755);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    load_modules();
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < np; i++) {
        pfd[i].fd = vsock_listen(ports[i]);
        pfd[i].events = POLLIN;
    }
    printf("VSOCK_TEST_READY\n");
    fflush(stdout);

    for (;;) {
        if (poll(pfd, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (size_t i = 0; i < np; i++) {
            int c;
            pid_t pid;
            if (!(pfd[i].revents & POLLIN))
                continue;
            while ((c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                pid = fork();
                if (pid == 0) {
                    switch (ports[i]) {
                    case PORT_ECHO: serve_echo(c); break;
                    case PORT_BYE: (void)write_all(c, "bye\n", 4); break;
                    case PORT_COUNT: serve_count(c); break;
                    case PORT_FLOOD: serve_flood(c); break;
                    case PORT_SHUTRD:
                        shutdown(c, SHUT_RD);
                        (void)write_all(c, "shut\n", 5);
                        sleep(3);
                        break;
                    case PORT_SOURCE: serve_source(c); break;
                    case PORT_CMD: serve_cmd(c); break;
                    }
                    close(c);
                    _exit(0);
                }
                close(c);
            }
        }
    }
}

/* A tiny static PID 1 for hypervisor tests: it stays up and does nothing else of note.
 *
 *   - mounts /proc, /sys, /dev (devtmpfs) and puts /dev/console on fds 0-2;
 *   - loads the kernel modules listed in /etc/modules.load (one path per line, deps first)
 *     with finit_module(), so virtio-pci devices show up (the Debian cloud kernel has virtio,
 *     virtiofs and the vsock transport as modules);
 *   - prints "idle: net: <if> <mac>" per network interface (lo excepted);
 *   - kernel arg idle.fs=<tag>: mounts that virtio-fs tag on /mnt and prints /mnt/hello;
 *   - prints "IDLE-INIT uptime=<s>" first (kernel done) and "IDLE-READY uptime=<s>" once set
 *     up (the boot-phase mark tests wait for);
 *   - kernel arg idle.vsock=<port>: serves AF_VSOCK port: greets with "hello from guest\n",
 *     then echoes until EOF; one connection at a time;
 *   - otherwise sleeps forever. PID 1 never exits. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void setup_console(void)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

static void load_modules(void)
{
    char line[512];
    FILE *f = fopen("/etc/modules.load", "re");
    int n = 0;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        int fd;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
            printf("idle: module %s: %s\n", line, strerror(errno));
        else
            n++;
        if (fd >= 0)
            close(fd);
    }
    fclose(f);
    printf("idle: loaded %d modules\n", n);
}

/* The value of key=... on the kernel command line, or NULL. */
static const char *cmdline_arg(const char *key, char *buf, size_t n)
{
    char cmd[2048];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t len = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
    size_t kl = strlen(key);
    if (fd >= 0)
        close(fd);
    if (len <= 0)
        return NULL;
    cmd[len] = '\0';
    for (char *tok = strtok(cmd, " \n"); tok; tok = strtok(NULL, " \n"))
        if (strncmp(tok, key, kl) == 0 && tok[kl] == '=') {
            snprintf(buf, n, "%s", tok + kl + 1);
            return buf;
        }
    return NULL;
}

/* "idle: net: <if> <mac>" for every interface but lo. */
static void print_links(void)
{
    DIR *d = opendir("/sys/class/net");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[300], mac[32] = "?";
        int fd;
        ssize_t n;
        if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0)
            continue;
        snprintf(path, sizeof(path), "/sys/class/net/%s/address", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (n = read(fd, mac, sizeof(mac) - 1)) > 0)
            mac[strcspn(mac, "\n")] = '\0';
        if (fd >= 0)
            close(fd);
        printf("idle: net: %s %s\n", de->d_name, mac);
    }
    if (d)
        closedir(d);
}

static void mount_fs(const char *tag)
{
    char buf[256] = "";
    int fd;
    ssize_t n;
    mkdir("/mnt", 0755);
    if (mount(tag, "/mnt", "virtiofs", 0, NULL) < 0) {
        printf("idle: mount virtiofs %s: %s\n", tag, strerror(errno));
        return;
    }
    fd = open("/mnt/hello", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    printf("idle: virtiofs %s says: %s\n", tag, n > 0 ? buf : "(unreadable)");
}

static int listen_vsock(unsigned port)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0) {
        printf("idle: vsock port %u: %s\n", port, strerror(errno));
        return -1;
    }
    printf("idle: vsock listening on port %u\n", port);
    return l;
}

static void serve_vsock(int l)
{
    for (;;) {
        char buf[4096];
        ssize_t n;
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (write(c, "hello from guest\n", 17) == 17)
            while ((n = read(c, buf, sizeof(buf))) > 0)
                if (write(c, buf, (size_t)n) != n)
                    break;
        close(c);
    }
}

static void print_uptime(const char *mark)
{
    char uptime[64] = "?";
    int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd >= 0 && (n = read(fd, uptime, sizeof(uptime) - 1)) > 0)
        uptime[strcspn(uptime, " ")] = '\0';
    if (fd >= 0)
        close(fd);
    printf("%s uptime=%s\n", mark, uptime);
}

int main(void)
{
    char arg[64];
    int vl = -1;

    mkdir("/proc", 0555), mkdir("/sys", 0555), mkdir("/dev", 0755);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    setup_console();
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_uptime("IDLE-INIT");
    load_modules();
    print_links();
    if (cmdline_arg("idle.fs", arg, sizeof(arg)))
        mount_fs(arg);
    /* Listen before announcing readiness: a host may connect right after the line. */
    if (cmdline_arg("idle.vsock", arg, sizeof(arg)))
        vl = listen_vsock((unsigned)strtoul(arg, NULL, 10));
    print_uptime("IDLE-READY");
    if (vl >= 0)
        serve_vsock(vl);
    for (;;)
        pause();
}

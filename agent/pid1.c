#include "pid1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "kmod.h"

static int console_fd = 2;

void pid1_console(const char *fmt, ...)
{
    char buf[512];
    struct timespec ts;
    va_list ap;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    int n = snprintf(buf, sizeof(buf), "[%5ld.%03ld] cvm-agent: ", (long)ts.tv_sec,
                     ts.tv_nsec / 1000000);
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    (void)!write(console_fd, buf, (size_t)n);
}

_Noreturn void pid1_fatal(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pid1_console("FATAL: %s; powering off", msg);
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause(); /* PID 1 must never exit */
}

static void open_console(void)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)dup2(fd, 1);
    (void)dup2(fd, 2);
    close(fd);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0) {
        (void)dup2(nul, 0);
        close(nul);
    }
    console_fd = 2;
}

/* Remove a tree on the initramfs (its memory is freed only when the files go). */
static void rm_tree_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        struct dirent *de;
        if (!d) {
            close(fd);
            return;
        }
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                rm_tree_at(dirfd(d), de->d_name);
        closedir(d);
        (void)unlinkat(dfd, name, AT_REMOVEDIR);
    } else {
        (void)unlinkat(dfd, name, 0);
    }
}

static int mount_one(const char *src, const char *dst, const char *type, unsigned long flags,
                     const char *data)
{
    (void)mkdir(dst, 0755);
    if (mount(src, dst, type, flags, data) < 0) {
        int r = -errno;
        pid1_console("mount %s on %s: %s", type, dst, strerror(-r));
        return r;
    }
    return 0;
}

static int switch_to_tmpfs_root(void)
{
    /* The initramfs is the rootfs mount, which pivot_root refuses to move; containers
     * need pivot_root, so PID 1 moves itself onto a tmpfs first (switch_root style). */
    if (mkdir("/newroot", 0755) < 0 && errno != EEXIST)
        return -errno;
    if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0)
        return -errno;
    static const char *const dirs[] = {"proc", "sys", "dev", "run", "tmp", "etc", "mnt", "root"};
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
        char p[64];
        snprintf(p, sizeof(p), "/newroot/%s", dirs[i]);
        (void)mkdir(p, 0755);
    }
    (void)chmod("/newroot/tmp", 01777);
    rm_tree_at(AT_FDCWD, "/lib");
    rm_tree_at(AT_FDCWD, "/init");
    if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
        chdir("/") < 0)
        return -errno;
    return 0;
}

static int loopback_up(void)
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int r = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        r = -errno;
    ifr.ifr_flags |= IFF_UP;
    if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        r = -errno;
    close(fd);
    return r;
}

int pid1_early(void)
{
    struct kmod_report rep;
    int r;

    open_console();
    pid1_console("starting");
    if ((r = kmod_load_list(NULL, &rep)) < 0) {
        pid1_console("loading kernel module %s failed: %s", rep.failed, strerror(-r));
        return r;
    }
    pid1_console("kernel modules: %u loaded, %u already present", rep.loaded, rep.present);
    if ((r = switch_to_tmpfs_root()) < 0) {
        pid1_console("moving to a tmpfs root failed: %s", strerror(-r));
        return r;
    }
    if ((r = mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0 ||
        (r = mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0 ||
        (r = mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755")) < 0 ||
        (r = mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                       "newinstance,ptmxmode=0666,mode=0620")) < 0 ||
        (r = mount_one("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")) < 0 ||
        (r = mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) < 0 ||
        (r = mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       NULL)) < 0)
        return r;
    open_console();
    /* The guest OOM killer must pick a container process, never PID 1. */
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "-1000", 5) != 5)
        pid1_console("oom_score_adj: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    /* Containers share the VM's network namespace: their localhost is the guest's lo. */
    if ((r = loopback_up()) < 0)
        pid1_console("bringing up lo: %s", strerror(-r));
    if ((r = cgroup_root_init("/sys/fs/cgroup")) < 0 ||
        (r = cgroup_root_init(PID1_CGROUP_ROOT)) < 0) {
        pid1_console("cgroup setup failed: %s", strerror(-r));
        return r;
    }
    return 0;
}

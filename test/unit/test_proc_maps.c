/* proc_maps (hypervisor/proc_maps.h, pure): the file mappings of a /proc/PID/maps
 * text (what qemu_pageout.c pages out); lines that are not maps lines cost only themselves;
 * the mappings of a file by name and permissions (the TCG cache, tcg_trim.c); and, as root,
 * the pageout of a real process's file mappings (qemu_pageout.c's syscall) takes
 * the pages of a file it alone maps out of its RSS. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "proc_maps.h"

static const char MAPS[] =
    "5581d2a00000-5581d2b00000 r--p 00000000 fe:00 1234        /usr/bin/qemu-system-x86_64\n"
    "7f7feea00000-7f7fef600000 rw-p 00200000 fe:00 1106050     /var/cache/k/vmlinux\n"
    "7f7fef600000-7f7fefa00000 r--p 00e00000 fe:00 1106050     /var/cache/k/vmlinux\n"
    "7f7fefa00000-7f7fefc00000 rw-p 00000000 00:00 0 \n"
    "7f8004dfc000-7f8004e82000 r--p 00000000 fe:00 2222        /work/build/initrd.img\n"
    "7f8005000000-7f8015000000 rw-s 00000000 00:01 1106050     /memfd:mem (deleted)\n"
    "7ffd3c000000-7ffd3c021000 rw-p 00000000 00:00 0           [stack]\n"
    "7f80aa000000-7f80ab000000 r--p 00000000 fe:00 1106050     /a path with spaces/vmlinux\n";

START_TEST(test_file_backed)
{
    struct proc_maps_range r[8];
    /* QEMU's binary, the kernel (twice), the initrd and the path with blanks; not the
     * anonymous rw-p, the memfd, the stack */
    ck_assert_uint_eq(proc_maps_file_backed(MAPS, strlen(MAPS), r, 8), 5);
    ck_assert_uint_eq(r[0].start, 0x5581d2a00000ull);
    ck_assert_uint_eq(r[1].start, 0x7f7feea00000ull);
    ck_assert_uint_eq(r[1].end, 0x7f7fef600000ull);
    ck_assert_uint_eq(r[2].start, 0x7f7fef600000ull);
    ck_assert_uint_eq(r[3].end - r[3].start, 0x86000);
    ck_assert_uint_eq(r[4].start, 0x7f80aa000000ull);
    /* more matches than room: counted, only max stored */
    ck_assert_uint_eq(proc_maps_file_backed(MAPS, strlen(MAPS), r, 1), 5);
    ck_assert_uint_eq(r[0].start, 0x5581d2a00000ull);
    ck_assert_uint_eq(proc_maps_file_backed(MAPS, strlen(MAPS), NULL, 0), 5);
    /* text not NUL-terminated, cut inside the last line: in its path it still counts, in its
     * range it does not */
    ck_assert_uint_eq(proc_maps_file_backed(MAPS, strlen(MAPS) - 20, r, 8), 5);
    ck_assert_uint_eq(proc_maps_file_backed(MAPS, strlen(MAPS) - 70, r, 8), 4);
    /* what is never among them: shared writable mappings, memfds, devices, deleted files,
     * pseudo paths, no path, inode 0 */
    static const char never[] = "1000-2000 rw-s 0 fe:00 7 /usr/lib/libc.so.6\n"
                                "1000-2000 rwxs 0 fe:00 7 /usr/lib/libc.so.6\n"
                                "1000-2000 -w-s 0 fe:00 7 /usr/lib/libc.so.6\n"
                                "1000-2000 r--s 0 00:01 7 /memfd:mem (deleted)\n"
                                "1000-2000 r-xs 0 00:01 7 /memfd:tcg-jit (deleted)\n"
                                "1000-2000 r--s 0 00:05 7 /dev/zero\n"
                                "1000-2000 r--p 0 fe:00 7 /tmp/gone (deleted)\n"
                                "1000-2000 r--p 0 00:00 0 [vvar]\n"
                                "1000-2000 r-xp 0 00:0e 7 anon_inode:kvm-vcpu\n"
                                "1000-2000 r--p 0 fe:00 7\n"
                                "1000-2000 r--p 0 fe:00 0 /usr/lib/libc.so.6\n";
    ck_assert_uint_eq(proc_maps_file_backed(never, strlen(never), r, 8), 0);
    /* private in any way counts (QEMU maps the guest kernel rw-p), and shared read-only: r-x,
     * ---, rw-p, rwxp, r--s; a "(deleted)" not at the end */
    static const char ro[] = "1000-2000 r-xp 0 fe:00 7 /usr/lib/libc.so.6\n"
                             "2000-3000 ---p 0 fe:00 7 /usr/lib/libc.so.6\n"
                             "3000-4000 r--s 0 fe:00 8 /var/x\n"
                             "4000-5000 r--p 0 fe:00 9 /x (deleted) y\n"
                             "5000-6000 rw-p 0 fe:00 9 /var/k/vmlinux\n"
                             "6000-7000 rwxp 0 fe:00 9 /usr/lib/libc.so.6\n";
    ck_assert_uint_eq(proc_maps_file_backed(ro, strlen(ro), r, 8), 6);
    ck_assert_uint_eq(r[3].start, 0x4000);
    ck_assert_uint_eq(r[4].start, 0x5000);
}
END_TEST

START_TEST(test_bad_lines_skipped)
{
    static const char *const bad[] = {
        "",
        "\n\n",
        "7f00-7f10 r--p 0 fe:00 99 /x",                    /* ok: the control line, below */
        "7f10-7f00 r--p 0 fe:00 99 /x",                    /* end before start */
        "7f00-7f00 r--p 0 fe:00 99 /x",                    /* empty */
        "7F00-7f10 r--p 0 fe:00 99 /x",                    /* the kernel prints lower case */
        "7f00-7f10 r--p 0 fe:00 99x /x",                   /* junk after the inode */
        "7f00-7f10 r--p 0 fe:00 099999999999999999999 /x", /* inode overflows */
        "7f00-7f10 r--p 0 fe00 99 /x",                     /* no ':' */
        "7f00-7f10 r--p 0 1000:00 99 /x",                  /* major beyond 12 bits */
        "7f00-7f10 r--p 0 fe:100000 99 /x",                /* minor beyond 20 bits */
        "7f00-7f10 r-p 0 fe:00 99 /x",                     /* short perms */
        "17f0000000000000000-7f10 r--p 0 fe:00 99 /x",     /* start overflows */
        "7f00 7f10 r--p 0 fe:00 99 /x",
        " 7f00-7f10 r--p 0 fe:00 99 /x",
    };
    struct proc_maps_range r[2];
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        size_t want = i == 2 ? 1 : 0;
        ck_assert_msg(proc_maps_file_backed(bad[i], strlen(bad[i]), r, 2) == want, "%s",
                      bad[i]);
    }
    /* a bad line costs only itself */
    static const char mix[] =
        "garbage\n7f00-7f10 r--p 0 fe:00 99 /k\n\xff\xfe\n8f00-8f10 r--p 0 fe:00 99 /k\n";
    ck_assert_uint_eq(proc_maps_file_backed(mix, sizeof(mix) - 1, r, 2), 2);
    ck_assert_uint_eq(r[1].start, 0x8f00);
}
END_TEST

static long rss_kb_of(pid_t pid, const char *key)
{
    char path[64], line[256];
    long v = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = strtol(line + strlen(key), NULL, 10);
    fclose(f);
    return v;
}

/* The real thing on a child: it maps and reads a 4 MiB file, we page out its file mappings with process_madvise on its pidfd, as qemu_pageout.c does with QEMU; its
 * file-backed RSS must fall by the file. Root only (CAP_SYS_NICE). */
START_TEST(test_pageout_a_child)
{
    char path[] = "/tmp/cvm-proc-maps-XXXXXX";
    int fd = mkstemp(path), pfd[2];
    const size_t sz = 4 << 20;
    struct stat st;
    if (geteuid() != 0) {
        unlink(path);
        ck_abort_msg("test_pageout_a_child needs root (CAP_SYS_NICE for process_madvise)");
    }
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)sz), 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    for (size_t o = 0; o < sz; o += 4096)
        ck_assert_int_eq(pwrite(fd, "x", 1, (off_t)o), 1);
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* writable and private, as QEMU maps the guest kernel; only read */
        volatile const char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        unsigned s = 0;
        if (m == MAP_FAILED)
            _exit(1);
        for (size_t o = 0; o < sz; o += 4096)
            s += (unsigned)m[o];
        (void)!write(pfd[1], &s, 1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    long before = rss_kb_of(pid, "RssFile:");

    char mp[64], buf[65536];
    snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
    int mfd = open(mp, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(mfd, 0);
    ssize_t n = read(mfd, buf, sizeof(buf));
    close(mfd);
    ck_assert_int_gt(n, 0);
    /* every file mapping of the child it may drop, as qemu_pageout.c does with QEMU's: the
     * test file among them (its libc too, whose pages other processes map: the kernel leaves
     * those) */
    struct proc_maps_range r[64];
    struct iovec iov[64];
    size_t k = proc_maps_file_backed(buf, (size_t)n, r, 64), found = 0;
    ck_assert_uint_le(k, 64);
    for (size_t i = 0; i < k; i++) {
        iov[i] = (struct iovec){(void *)(uintptr_t)r[i].start, r[i].end - r[i].start};
        found += r[i].end - r[i].start == sz;
    }
    ck_assert_uint_eq(found, 1);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    ck_assert_int_ge(pidfd, 0);
    ck_assert_int_ge(syscall(SYS_process_madvise, pidfd, iov, k, 21 /* MADV_PAGEOUT */, 0),
                     (long)sz);
    long after = rss_kb_of(pid, "RssFile:");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pidfd), close(fd), close(pfd[0]), close(pfd[1]);
    unlink(path);
    ck_assert_msg(before >= 4096 && after <= before - 4000, "RssFile %ld -> %ld kB", before, after);
}
END_TEST

/* QEMU's translation cache under split-wx: the rw-s mapping of "/memfd:tcg-jit (deleted)". */
START_TEST(test_named_mappings)
{
    static const char maps[] =
        "7f0ab5efe000-7f0ab6efe000 r-xs 00000000 00:01 1204       /memfd:tcg-jit (deleted)\n"
        "7f0ab6efe000-7f0ab7efd000 rw-s 00000000 00:01 1204       /memfd:tcg-jit (deleted)\n"
        "7f0ab7efd000-7f0ab7efe000 ---s 00fff000 00:01 1204       /memfd:tcg-jit (deleted)\n"
        "7f0ab8000000-7f0ab9000000 rw-s 00000000 00:01 77         /memfd:tcg-jit (deleted) \n"
        "7f0ab9000000-7f0aba000000 rw-s 00000000 00:01 78         /memfd:tcg-jit\n"
        "7f0aba000000-7f0abb000000 rw-p 00000000 00:01 79         /memfd:tcg-jit (deleted)\n"
        "7f0abb000000-7f0abc000000 rw-s 00001000 00:01 80 /memfd:tcg-jit (deleted)";
    struct proc_maps_mapping m[4];
    size_t n = proc_maps_named(maps, strlen(maps), "rw-s", "/memfd:tcg-jit (deleted)", m, 4);
    /* the exact name with rw-s only: not r-xs, ---s, a trailing blank, another name, rw-p */
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].range.start, 0x7f0ab6efe000ull);
    ck_assert_uint_eq(m[0].range.end, 0x7f0ab7efd000ull);
    ck_assert_uint_eq(m[0].file.ino, 1204);
    ck_assert_uint_eq(m[0].file.major, 0);
    ck_assert_uint_eq(m[0].file.minor, 1);
    ck_assert_uint_eq(m[0].offset, 0);
    ck_assert_uint_eq(m[1].file.ino, 80); /* the last line, without newline or padding */
    ck_assert_uint_eq(m[1].offset, 0x1000);
    /* counted past max, stored up to it */
    ck_assert_uint_eq(proc_maps_named(maps, strlen(maps), "rw-s", "/memfd:tcg-jit (deleted)", m, 1), 2);
    ck_assert_uint_eq(m[0].file.ino, 1204);
    ck_assert_uint_eq(proc_maps_named(maps, strlen(maps), "r-xs", "/memfd:tcg-jit (deleted)", NULL, 0), 1);
    /* malformed arguments match nothing */
    ck_assert_uint_eq(proc_maps_named(maps, strlen(maps), "rw-", "/memfd:tcg-jit (deleted)", m, 4), 0);
    ck_assert_uint_eq(proc_maps_named(maps, strlen(maps), "rw-s", "", m, 4), 0);
    /* a bad line costs only itself */
    static const char bad[] = "7f00-7f10 rw-s 0 00:01 1x /memfd:tcg-jit (deleted)\n"
                              "7f10-7f00 rw-s 0 00:01 1 /memfd:tcg-jit (deleted)\n"
                              "7f00-7f10 rw-s 0 00:01 5 /memfd:tcg-jit (deleted)\n";
    ck_assert_uint_eq(proc_maps_named(bad, strlen(bad), "rw-s", "/memfd:tcg-jit (deleted)", m, 4), 1);
    ck_assert_uint_eq(m[0].file.ino, 5);
}
END_TEST

static Suite *proc_maps_suite(void)
{
    Suite *s = suite_create("proc_maps");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_file_backed);
    tcase_add_test(tc, test_bad_lines_skipped);
    tcase_add_test(tc, test_named_mappings);
    tcase_add_test(tc, test_pageout_a_child);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(proc_maps_suite)

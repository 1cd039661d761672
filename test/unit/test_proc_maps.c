/* proc_maps (hypervisor/proc_maps.h, pure): the ranges of a /proc/PID/maps text that map one
 * file, matched by major:minor and inode only; lines that are not maps lines cost only
 * themselves; the mappings of a file by name and permissions (the TCG cache, tcg_trim.c); and,
 * as root, the pageout of a real process's file mapping (qemu_pageout.c's
 * syscall) takes its pages out of that process's RSS. */
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
    "7f7feea00000-7f7fef600000 r--p 00200000 fe:00 1106050     /var/cache/k/vmlinux\n"
    "7f7fef600000-7f7fefa00000 r--p 00e00000 fe:00 1106050     /var/cache/k/vmlinux\n"
    "7f7fefa00000-7f7fefc00000 rw-p 00000000 00:00 0 \n"
    "7f8004dfc000-7f8004e82000 r--p 00000000 fe:00 2222        /work/build/initrd.img\n"
    "7f8005000000-7f8015000000 rw-s 00000000 00:01 1106050     /memfd:mem (deleted)\n"
    "7ffd3c000000-7ffd3c021000 rw-p 00000000 00:00 0           [stack]\n"
    "7f80aa000000-7f80ab000000 r--p 00000000 fe:00 1106050     /a path with spaces/vmlinux\n";

START_TEST(test_match_by_dev_and_inode)
{
    struct proc_maps_range r[8];
    struct proc_maps_file k = {0xfe, 0, 1106050}, i = {0xfe, 0, 2222};
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &k, r, 8), 3);
    ck_assert_uint_eq(r[0].start, 0x7f7feea00000ull);
    ck_assert_uint_eq(r[0].end, 0x7f7fef600000ull);
    ck_assert_uint_eq(r[1].start, 0x7f7fef600000ull);
    ck_assert_uint_eq(r[2].start, 0x7f80aa000000ull);
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &i, r, 8), 1);
    ck_assert_uint_eq(r[0].end - r[0].start, 0x86000);
    /* the same inode on another device (the memfd's 00:01) is another file */
    struct proc_maps_file m = {0, 1, 1106050};
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &m, r, 8), 1);
    ck_assert_uint_eq(r[0].start, 0x7f8005000000ull);
    /* the same inode and minor on another major is another file too */
    struct proc_maps_file other = {0xfd, 0, 1106050};
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &other, r, 8), 0);
    other = (struct proc_maps_file){0xfe, 1, 1106050};
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &other, r, 8), 0);
    /* anonymous mappings (inode 0) never match */
    struct proc_maps_file anon = {0, 0, 0};
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &anon, r, 8), 0);
    /* more matches than room: counted, only max stored */
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS), &k, r, 1), 3);
    ck_assert_uint_eq(r[0].start, 0x7f7feea00000ull);
    /* text not NUL-terminated, cut inside the last line: in its path the line still counts,
     * in its inode ("1106050" cut to "1") it names another file */
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS) - 20, &k, r, 8), 3);
    ck_assert_uint_eq(proc_maps_file_ranges(MAPS, strlen(MAPS) - 40, &k, r, 8), 2);
}
END_TEST

START_TEST(test_bad_lines_skipped)
{
    static const char *const bad[] = {
        "",
        "\n\n",
        "7f00-7f10 r--p 0 fe:00 99",                       /* ok: the control line, below */
        "7f10-7f00 r--p 0 fe:00 99",                       /* end before start */
        "7f00-7f00 r--p 0 fe:00 99",                       /* empty */
        "7F00-7f10 r--p 0 fe:00 99",                       /* the kernel prints lower case */
        "7f00-7f10 r--p 0 fe:00 99x /x",                   /* junk after the inode */
        "7f00-7f10 r--p 0 fe:00 099999999999999999999 /x", /* inode overflows */
        "7f00-7f10 r--p 0 fe00 99",                        /* no ':' */
        "7f00-7f10 r--p 0 1000:00 99",                     /* major beyond 12 bits */
        "7f00-7f10 r--p 0 fe:100000 99",                   /* minor beyond 20 bits */
        "7f00-7f10 r-p 0 fe:00 99",                        /* short perms */
        "17f0000000000000000-7f10 r--p 0 fe:00 99",        /* start overflows */
        "7f00 7f10 r--p 0 fe:00 99",
        " 7f00-7f10 r--p 0 fe:00 99",
    };
    struct proc_maps_range r[2];
    struct proc_maps_file f = {0xfe, 0, 99};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        size_t want = i == 2 ? 1 : 0;
        ck_assert_msg(proc_maps_file_ranges(bad[i], strlen(bad[i]), &f, r, 2) == want, "%s",
                      bad[i]);
    }
    /* a bad line costs only itself */
    static const char mix[] =
        "garbage\n7f00-7f10 r--p 0 fe:00 99 /k\n\xff\xfe\n8f00-8f10 r--p 0 fe:00 99\n";
    ck_assert_uint_eq(proc_maps_file_ranges(mix, sizeof(mix) - 1, &f, r, 2), 2);
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

/* The real thing on a child: it maps and reads a 4 MiB file, we find the mapping in its maps
 * by the file's dev/inode and page it out with process_madvise on its pidfd, as
 * qemu_pageout.c does with QEMU; its file-backed RSS must fall. Root only (CAP_SYS_NICE). */
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
        volatile const char *m = mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0);
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
    struct proc_maps_file f = {major(st.st_dev), minor(st.st_dev), st.st_ino};
    struct proc_maps_range r[4];
    ck_assert_uint_eq(proc_maps_file_ranges(buf, (size_t)n, &f, r, 4), 1);
    ck_assert_uint_eq(r[0].end - r[0].start, sz);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    ck_assert_int_ge(pidfd, 0);
    struct iovec iov = {(void *)(uintptr_t)r[0].start, sz};
    ck_assert_int_eq(syscall(SYS_process_madvise, pidfd, &iov, 1, 21 /* MADV_PAGEOUT */, 0),
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
    tcase_add_test(tc, test_match_by_dev_and_inode);
    tcase_add_test(tc, test_bad_lines_skipped);
    tcase_add_test(tc, test_named_mappings);
    tcase_add_test(tc, test_pageout_a_child);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(proc_maps_suite)

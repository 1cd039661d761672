/* guest_image: kernel/initrd identification, the bzImage release, the modules release of a
 * newc cpio (built here byte by byte), and the Create-time file check. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "errmap.h"
#include "guest_image.h"

static unsigned char bz[4096];

static void make_bzimage(const char *version_string)
{
    memset(bz, 0, sizeof(bz));
    memcpy(bz + 0x202, "HdrS", 4);
    bz[0x206] = 0x0f, bz[0x207] = 0x02; /* protocol 2.15 */
    bz[0x20e] = 0x00, bz[0x20f] = 0x03; /* kernel_version = 0x300 -> string at 0x500 */
    memcpy(bz + 0x500, version_string, strlen(version_string) + 1);
}

/* A newc archive of the given names (regular files holding "x"), with the trailer. */
static size_t make_cpio(unsigned char *out, size_t cap, const char *const *names, size_t n)
{
    size_t off = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *name = i < n ? names[i] : "TRAILER!!!";
        size_t ns = strlen(name) + 1, fs = i < n ? 1 : 0;
        int w = snprintf((char *)out + off, cap - off,
                         "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x", (unsigned)i,
                         0100644u, 0u, 0u, 1u, 0u, fs, 0u, 0u, 0u, 0u, ns, 0u);
        ck_assert_int_eq(w, 110);
        off += 110;
        memcpy(out + off, name, ns);
        off += ns;
        while (off % 4)
            out[off++] = 0;
        if (fs) {
            out[off++] = 'x';
            while (off % 4)
                out[off++] = 0;
        }
    }
    return off;
}

START_TEST(test_kernel_kind_and_release)
{
    char rel[64];
    make_bzimage("6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP");
    ck_assert_int_eq(guest_kernel_kind(bz, sizeof(bz)), GK_BZIMAGE);
    ck_assert_int_eq(guest_bzimage_release(bz, sizeof(bz), rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "6.1.0-57-cloud-amd64");
    ck_assert_int_eq(guest_bzimage_release(bz, 0x501, rel, sizeof(rel)), 0); /* cut mid-string */
    ck_assert_str_eq(rel, "6");
    ck_assert_int_eq(guest_bzimage_release(bz, 0x500, rel, sizeof(rel)), -ENOENT);
    ck_assert_int_eq(guest_bzimage_release(bz, sizeof(bz), rel, 4), -ENOENT); /* too small */
    bz[0x20e] = bz[0x20f] = 0; /* no kernel_version field */
    ck_assert_int_eq(guest_bzimage_release(bz, sizeof(bz), rel, sizeof(rel)), -ENOENT);
    ck_assert_int_eq(guest_kernel_kind((const unsigned char *)"\x7f" "ELF\2\1\1", 7), GK_ELF);
    ck_assert_int_eq(guest_bzimage_release((const unsigned char *)"\x7f" "ELF", 4, rel, sizeof(rel)),
                     -EINVAL);
    ck_assert_int_eq(guest_kernel_kind((const unsigned char *)"#!/bin/sh\n", 10), GK_UNKNOWN);
    ck_assert_int_eq(guest_kernel_kind(bz, 0x205), GK_UNKNOWN); /* too short for the magic */
    ck_assert_str_eq(guest_kernel_kind_name(GK_BZIMAGE), "bzImage");
}
END_TEST

START_TEST(test_initrd_kinds)
{
    static const struct {
        const char *head;
        size_t n;
        enum guest_initrd_kind k;
    } t[] = {
        {"070701", 6, GI_CPIO}, {"070702", 6, GI_CPIO}, {"\x1f\x8b\x08", 3, GI_GZIP},
        {"\x28\xb5\x2f\xfd", 4, GI_ZSTD}, {"\xfd" "7zXZ\0", 6, GI_XZ}, {"\x02\x21\x4c\x18", 4, GI_LZ4},
        {"BZh9", 4, GI_BZIP2}, {"\x5d\0\0\x80", 4, GI_LZMA}, {"070707", 6, GI_UNKNOWN},
        {"hello", 5, GI_UNKNOWN}, {"", 0, GI_UNKNOWN}, {"\x1f", 1, GI_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(guest_initrd_kind((const unsigned char *)t[i].head, t[i].n) == t[i].k,
                      "row %zu", i);
    ck_assert_str_eq(guest_initrd_kind_name(GI_GZIP), "gzip");
    ck_assert_str_eq(guest_initrd_kind_name((enum guest_initrd_kind)99), "unknown");
}
END_TEST

START_TEST(test_cpio_modules_release)
{
    static unsigned char a[4096];
    char rel[64];
    const char *const with[] = {"init", "lib", "lib/modules", "lib/modules/6.1.0-57-cloud-amd64",
                                "lib/modules/6.1.0-57-cloud-amd64/modules.dep"};
    const char *const dot[] = {"./lib/modules/5.10.0-1-amd64/kernel/x.ko"};
    const char *const none[] = {"init", "etc/hostname"};
    size_t n = make_cpio(a, sizeof(a), with, 5);
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "6.1.0-57-cloud-amd64");
    n = make_cpio(a, sizeof(a), dot, 1);
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "5.10.0-1-amd64");
    n = make_cpio(a, sizeof(a), none, 2);
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), -ENOENT);
    /* every truncation of a valid archive is refused or reports no modules, never read past */
    n = make_cpio(a, sizeof(a), with, 5);
    for (size_t cut = 0; cut < n; cut++) {
        unsigned char *c = malloc(cut ? cut : 1);
        memcpy(c, a, cut);
        int r = guest_cpio_modules_release(c, cut, rel, sizeof(rel));
        ck_assert_msg(r == 0 || r == -EINVAL || r == -ENOENT, "cut %zu: %d", cut, r);
        free(c);
    }
    /* corrupt sizes */
    memcpy(a + 94, "FFFFFFFF", 8); /* namesize */
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), -EINVAL);
    n = make_cpio(a, sizeof(a), none, 2);
    memcpy(a + 54, "7FFFFFFF", 8); /* filesize of "init" */
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), -EINVAL);
    memcpy(a, "070707", 6);
    ck_assert_int_eq(guest_cpio_modules_release(a, n, rel, sizeof(rel)), -EINVAL);
}
END_TEST

/* The distro kernel on this machine: its header says the release its file name says. */
START_TEST(test_real_boot_kernel)
{
    _cleanup_closedir_ DIR *d = opendir("/boot");
    struct dirent *de;
    int seen = 0;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        char path[512], rel[128];
        static unsigned char head[65536];
        if (strncmp(de->d_name, "vmlinuz-", 8) != 0)
            continue;
        snprintf(path, sizeof(path), "/boot/%s", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ssize_t n = read(fd, head, sizeof(head));
        close(fd);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(guest_kernel_kind(head, (size_t)n), GK_BZIMAGE);
        ck_assert_int_eq(guest_bzimage_release(head, (size_t)n, rel, sizeof(rel)), 0);
        ck_assert_str_eq(rel, de->d_name + 8);
        seen++;
    }
    ck_assert_msg(seen > 0, "no /boot/vmlinuz-* (make setup installs linux-image-cloud-amd64)");
}
END_TEST

/* An ELF64 LE image: header, one PT_LOAD, one PT_NOTE at 0x100 holding the given notes. */
static unsigned char elf[1024];

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v), put32(p + 4, (uint32_t)(v >> 32));
}

static size_t add_note(unsigned char *p, const char *name, uint32_t type, const void *desc,
                       size_t dl)
{
    size_t nl = strlen(name) + 1, off = 12;
    put32(p, (uint32_t)nl), put32(p + 4, (uint32_t)dl), put32(p + 8, type);
    memcpy(p + off, name, nl);
    off += (nl + 3) & ~3u;
    memcpy(p + off, desc, dl);
    return off + ((dl + 3) & ~3u);
}

static size_t make_elf(const char *salt, bool pvh)
{
    size_t n = 0;
    memset(elf, 0, sizeof(elf));
    memcpy(elf, "\x7f" "ELF", 4);
    elf[4] = 2, elf[5] = 1, elf[6] = 1;
    put64(elf + 0x20, 0x40);               /* e_phoff */
    elf[0x36] = 0x38, elf[0x38] = 2;       /* e_phentsize, e_phnum */
    put32(elf + 0x40, 1);                  /* PT_LOAD, ignored */
    put32(elf + 0x78, 4);                  /* PT_NOTE */
    put64(elf + 0x78 + 8, 0x100);
    n += add_note(elf + 0x100 + n, "GNU", 3, "buildid!", 8);
    if (pvh)
        n += add_note(elf + 0x100 + n, "Xen", GUEST_ELF_NOTE_PVH_ENTRY, "\x00\x10\x00\x01", 4);
    if (salt)
        n += add_note(elf + 0x100 + n, "Linux", GUEST_ELF_NOTE_BUILD_SALT, salt, strlen(salt) + 1);
    put64(elf + 0x78 + 32, n);             /* p_filesz */
    return 0x100 + n;
}

START_TEST(test_elf_notes)
{
    struct guest_span sp[4];
    const unsigned char *d;
    size_t dl, len = make_elf("6.1.192-cvm", true);
    char rel[64];

    ck_assert_int_eq(guest_kernel_kind(elf, len), GK_ELF);
    ck_assert_int_eq(guest_elf_note_spans(elf, len, sp, 4), 1);
    ck_assert_uint_eq(sp[0].off, 0x100);
    ck_assert_uint_eq(sp[0].off + sp[0].len, len);
    ck_assert_int_eq(guest_elf_note_find(elf + 0x100, sp[0].len, "Xen", GUEST_ELF_NOTE_PVH_ENTRY,
                                         &d, &dl), 0);
    ck_assert_uint_eq(dl, 4);
    ck_assert_int_eq(guest_elf_notes_release(elf + 0x100, sp[0].len, rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "6.1.192-cvm");
    ck_assert_int_eq(guest_elf_note_find(elf + 0x100, sp[0].len, "Xen", 99, &d, &dl), -ENOENT);
    /* cut inside the last note: malformed, never read past len */
    ck_assert_int_eq(guest_elf_notes_release(elf + 0x100, sp[0].len - 4, rel, sizeof(rel)),
                     -EINVAL);
    /* program headers beyond the head; ELF32; no PT_NOTE */
    ck_assert_int_eq(guest_elf_note_spans(elf, 0x60, sp, 4), -E2BIG);
    elf[4] = 1;
    ck_assert_int_eq(guest_elf_note_spans(elf, len, sp, 4), -EINVAL);
    elf[4] = 2;
    put32(elf + 0x78, 1);
    ck_assert_int_eq(guest_elf_note_spans(elf, len, sp, 4), 0);
    ck_assert_int_eq(guest_elf_note_spans(bz, sizeof(bz), sp, 4), -EINVAL);

    len = make_elf(NULL, true);
    ck_assert_int_eq(guest_elf_notes_release(elf + 0x100, len - 0x100, rel, sizeof(rel)), -ENOENT);
    len = make_elf("../../etc", false);
    ck_assert_int_eq(guest_elf_notes_release(elf + 0x100, len - 0x100, rel, sizeof(rel)), -EINVAL);
    len = make_elf("6.1.192-a-release-longer-than-the-buffer", false);
    ck_assert_int_eq(guest_elf_notes_release(elf + 0x100, len - 0x100, rel, 16), -ENOENT);
}
END_TEST

/* The file-reading side: release of a bzImage and an ELF, and the PVH check at Create. */
START_TEST(test_elf_files)
{
    char dir[] = "/tmp/cvm-gi-XXXXXX", k[64], b[64], rel[64];
    struct cvm_err err = {0};
    size_t len;
    FILE *f;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(k, sizeof(k), "%s/vmlinux", dir);
    snprintf(b, sizeof(b), "%s/vmlinuz", dir);
    make_bzimage("6.1.0-9-cloud-amd64 #1");
    f = fopen(b, "w");
    fwrite(bz, 1, sizeof(bz), f);
    fclose(f);
    ck_assert_int_eq(guest_image_release(b, rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "6.1.0-9-cloud-amd64");

    len = make_elf("6.1.192-cvm", true);
    f = fopen(k, "w");
    fwrite(elf, 1, len, f);
    fclose(f);
    ck_assert_int_eq(guest_image_release(k, rel, sizeof(rel)), 0);
    ck_assert_str_eq(rel, "6.1.192-cvm");
    ck_assert_int_eq(guest_image_check(k, NULL, &err), 0);

    len = make_elf("6.1.192-cvm", false);
    f = fopen(k, "w");
    fwrite(elf, 1, len - 8, f); /* the note segment runs past the end of the file */
    fclose(f);
    ck_assert_int_eq(guest_image_release(k, rel, sizeof(rel)), -EINVAL);
    f = fopen(k, "w");
    fwrite(elf, 1, len, f);
    fclose(f);
    ck_assert_int_eq(guest_image_check(k, NULL, &err), -ENOEXEC);
    ck_assert_msg(strstr(err.msg, k) && strstr(err.msg, "PVH"), "%s", err.msg);
    ck_assert_int_eq(guest_image_release("/nonexistent/vmlinux", rel, sizeof(rel)), -ENOENT);
    unlink(k), unlink(b), rmdir(dir);
}
END_TEST

START_TEST(test_image_check_files)
{
    char dir[] = "/tmp/cvm-gi-XXXXXX", k[64], i[64], txt[64];
    struct cvm_err err = {0};
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(k, sizeof(k), "%s/vmlinuz", dir);
    snprintf(i, sizeof(i), "%s/initrd", dir);
    snprintf(txt, sizeof(txt), "%s/notes.txt", dir);
    make_bzimage("6.1.0-1-amd64 #1");
    FILE *f = fopen(k, "w");
    fwrite(bz, 1, sizeof(bz), f);
    fclose(f);
    f = fopen(i, "w");
    fputs("\x1f\x8b\x08\x00 gzip-ish", f);
    fclose(f);
    f = fopen(txt, "w");
    fputs("this is not an image\n", f);
    fclose(f);
    ck_assert_int_eq(guest_image_check(k, i, &err), 0);
    ck_assert_int_eq(guest_image_check(k, NULL, &err), 0);
    ck_assert_int_eq(guest_image_check(k, txt, &err), -ENOEXEC);
    ck_assert_msg(strstr(err.msg, txt) && strstr(err.msg, "is not an initrd"), "%s", err.msg);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(guest_image_check(txt, i, &err), -ENOEXEC);
    ck_assert_msg(strstr(err.msg, txt) && strstr(err.msg, "neither a bzImage"), "%s", err.msg);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(guest_image_check("/nonexistent/vmlinuz", i, &err), -ENOENT);
    ck_assert_msg(strstr(err.msg, "/nonexistent/vmlinuz"), "%s", err.msg);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(guest_image_check(k, dir, &err), -EISDIR);
    ck_assert_msg(strstr(err.msg, dir), "%s", err.msg);
    unlink(k), unlink(i), unlink(txt), rmdir(dir);
}
END_TEST

static Suite *guest_image_suite(void)
{
    Suite *s = suite_create("guest_image");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_kernel_kind_and_release);
    tcase_add_test(tc, test_initrd_kinds);
    tcase_add_test(tc, test_cpio_modules_release);
    tcase_add_test(tc, test_real_boot_kernel);
    tcase_add_test(tc, test_image_check_files);
    tcase_add_test(tc, test_elf_notes);
    tcase_add_test(tc, test_elf_files);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(guest_image_suite)

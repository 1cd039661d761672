/* Guest kernel / initrd identification. See guest_image.h. */
#include "guest_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"

#define BZ_MAGIC_OFF 0x202        /* "HdrS" */
#define BZ_VERSION_OFF 0x206      /* boot protocol version, u16 LE */
#define BZ_KVERSION_OFF 0x20e     /* kernel_version: string offset - 0x200, u16 LE */
#define CPIO_HDR 110
#define CPIO_TRAILER "TRAILER!!!"

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

enum guest_kernel_kind guest_kernel_kind(const unsigned char *buf, size_t len)
{
    if (len >= 4 && memcmp(buf, "\x7f" "ELF", 4) == 0)
        return GK_ELF;
    if (len >= BZ_MAGIC_OFF + 4 && memcmp(buf + BZ_MAGIC_OFF, "HdrS", 4) == 0)
        return GK_BZIMAGE;
    return GK_UNKNOWN;
}

enum guest_initrd_kind guest_initrd_kind(const unsigned char *buf, size_t len)
{
    static const struct {
        const char *magic;
        size_t n;
        enum guest_initrd_kind kind;
    } m[] = {
        {"070701", 6, GI_CPIO},
        {"070702", 6, GI_CPIO},
        {"\x1f\x8b", 2, GI_GZIP},
        {"\x28\xb5\x2f\xfd", 4, GI_ZSTD},
        {"\xfd" "7zXZ\0", 6, GI_XZ},
        {"\x02\x21\x4c\x18", 4, GI_LZ4},
        {"BZh", 3, GI_BZIP2},
        {"\x5d\0\0", 3, GI_LZMA},
    };
    for (size_t i = 0; i < ELEMENTSOF(m); i++)
        if (len >= m[i].n && memcmp(buf, m[i].magic, m[i].n) == 0)
            return m[i].kind;
    return GI_UNKNOWN;
}

const char *guest_kernel_kind_name(enum guest_kernel_kind k)
{
    switch (k) {
    case GK_BZIMAGE: return "bzImage";
    case GK_ELF: return "ELF vmlinux";
    default: return "unknown";
    }
}

const char *guest_initrd_kind_name(enum guest_initrd_kind k)
{
    static const char *const names[] = {"unknown", "cpio", "gzip", "zstd", "xz", "lz4",
                                        "bzip2",   "lzma"};
    return (unsigned)k < ELEMENTSOF(names) ? names[k] : "unknown";
}

/* Copy the first whitespace-delimited word of s[0..max) into out. */
static int first_word(const unsigned char *s, size_t max, char *out, size_t n)
{
    size_t i = 0;
    while (i < max && s[i] > ' ' && s[i] < 0x7f)
        i++;
    if (i == 0 || i >= n)
        return -ENOENT;
    memcpy(out, s, i);
    out[i] = '\0';
    return 0;
}

int guest_bzimage_release(const unsigned char *buf, size_t len, char *out, size_t n)
{
    size_t off;
    if (guest_kernel_kind(buf, len) != GK_BZIMAGE || len < BZ_KVERSION_OFF + 2)
        return -EINVAL;
    if (le16(buf + BZ_VERSION_OFF) < 0x200 || le16(buf + BZ_KVERSION_OFF) == 0)
        return -ENOENT;
    off = (size_t)le16(buf + BZ_KVERSION_OFF) + 0x200;
    if (off >= len)
        return -ENOENT;
    return first_word(buf + off, len - off, out, n);
}

/* 8 hex digits -> value; false on any other byte. */
static bool hex8(const unsigned char *p, uint32_t *v)
{
    uint32_t r = 0;
    for (int i = 0; i < 8; i++) {
        unsigned char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        r = r << 4 | d;
    }
    *v = r;
    return true;
}

static size_t pad4(size_t x)
{
    return (x + 3) & ~(size_t)3;
}

/* "lib/modules/<kver>/..." or "lib/modules/<kver>" after an optional "./" or "/". */
static int modules_release_of(const char *name, char *out, size_t n)
{
    const char *p = name, *e;
    if (strncmp(p, "./", 2) == 0)
        p += 2;
    else if (*p == '/')
        p++;
    if (strncmp(p, "lib/modules/", 12) != 0)
        return -ENOENT;
    p += 12;
    e = strchr(p, '/');
    if (!e)
        return -ENOENT; /* the directory itself: wait for an entry inside it */
    if (e == p || (size_t)(e - p) >= n)
        return -ENOENT;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

int guest_cpio_modules_release(const unsigned char *buf, size_t len, char *out, size_t n)
{
    size_t off = 0;
    while (off + CPIO_HDR <= len) {
        const unsigned char *h = buf + off;
        uint32_t filesize, namesize;
        char name[256];

        if (memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2'))
            return -EINVAL;
        if (!hex8(h + 54, &filesize) || !hex8(h + 94, &namesize) || namesize == 0)
            return -EINVAL;
        if (namesize > len - off - CPIO_HDR)
            return -EINVAL;
        if (h[CPIO_HDR + namesize - 1] != '\0')
            return -EINVAL;
        if (namesize <= sizeof(name)) {
            memcpy(name, h + CPIO_HDR, namesize);
            if (strcmp(name, CPIO_TRAILER) == 0)
                return -ENOENT;
            if (modules_release_of(name, out, n) == 0)
                return 0;
        }
        /* header+name padded to 4, then data padded to 4; overflow-safe against len */
        size_t next = pad4(off + CPIO_HDR + namesize);
        if (next > len || filesize > len - next)
            return -EINVAL;
        off = pad4(next + filesize);
    }
    return off >= len ? -ENOENT : -EINVAL;
}

int guest_image_read_head(const char *path, unsigned char *buf, size_t n, size_t *got)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ssize_t r;
    if (fd < 0)
        return -errno;
    r = read_all(fd, buf, n);
    if (r < 0)
        return (int)r;
    *got = (size_t)r;
    return 0;
}

int guest_image_check(const char *kernel, const char *initrd, struct cvm_err *err)
{
    unsigned char head[GUEST_IMAGE_HEAD];
    size_t got = 0;
    int r = guest_image_read_head(kernel, head, sizeof(head), &got);
    if (r < 0)
        return cvm_err_set(err, r, "guest kernel '%s': %s", kernel, strerror(-r));
    if (guest_kernel_kind(head, got) == GK_UNKNOWN)
        return cvm_err_set(err, -ENOEXEC,
                           "guest kernel '%s' is neither a bzImage nor an ELF vmlinux", kernel);
    if (!initrd)
        return 0;
    r = guest_image_read_head(initrd, head, sizeof(head), &got);
    if (r < 0)
        return cvm_err_set(err, r, "guest initrd '%s': %s", initrd, strerror(-r));
    if (guest_initrd_kind(head, got) == GI_UNKNOWN)
        return cvm_err_set(err, -ENOEXEC,
                           "guest initrd '%s' is not an initrd (neither a newc cpio nor a "
                           "compressed one)", initrd);
    return 0;
}

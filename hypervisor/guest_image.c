/* Guest kernel / initrd identification. See guest_image.h. */
#include "guest_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "errmap.h"
#include "fd.h"

#define BZ_MAGIC_OFF 0x202    /* "HdrS" */
#define BZ_VERSION_OFF 0x206  /* boot protocol version, u16 LE */
#define BZ_KVERSION_OFF 0x20e /* kernel_version: string offset - 0x200, u16 LE */
#define CPIO_HDR 110
#define CPIO_TRAILER "TRAILER!!!"

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static size_t pad4(size_t x)
{
    return (x + 3) & ~(size_t)3;
}

enum guest_kernel_kind guest_kernel_kind(const unsigned char *buf, size_t len)
{
    if (len >= 4 && memcmp(buf,
                           "\x7f"
                           "ELF",
                           4) == 0)
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
        {"\xfd"
         "7zXZ\0",
         6, GI_XZ},
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
    static const char *const names[] = {"unknown", "cpio", "gzip",  "zstd",
                                        "xz",      "lz4",  "bzip2", "lzma"};
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

/* ELF64 header fields (all little-endian here: x86-64 only). */
#define ELF_CLASS_OFF 4
#define ELF_DATA_OFF 5
#define ELF64_PHOFF_OFF 0x20
#define ELF64_PHENTSIZE_OFF 0x36
#define ELF64_PHNUM_OFF 0x38
#define ELF64_EHDR_SIZE 0x40
#define ELF64_PHDR_SIZE 0x38
#define ELF_PT_NOTE 4

int guest_elf_note_spans(const unsigned char *buf, size_t len, struct guest_span *spans, size_t max)
{
    uint64_t phoff;
    unsigned phentsize, phnum;
    size_t n = 0;
    if (guest_kernel_kind(buf, len) != GK_ELF || len < ELF64_EHDR_SIZE)
        return -EINVAL;
    if (buf[ELF_CLASS_OFF] != 2 || buf[ELF_DATA_OFF] != 1)
        return -EINVAL; /* not ELF64 little-endian */
    phoff = le64(buf + ELF64_PHOFF_OFF);
    phentsize = le16(buf + ELF64_PHENTSIZE_OFF);
    phnum = le16(buf + ELF64_PHNUM_OFF);
    if (phnum == 0)
        return 0;
    if (phentsize < ELF64_PHDR_SIZE)
        return -EINVAL;
    if (phoff > len || (uint64_t)phentsize * phnum > len - phoff)
        return -E2BIG;
    for (unsigned i = 0; i < phnum && n < max; i++) {
        const unsigned char *ph = buf + phoff + (size_t)i * phentsize;
        uint64_t off = le64(ph + 8), sz = le64(ph + 32);
        if (le32(ph) != ELF_PT_NOTE)
            continue;
        if (off > SIZE_MAX || sz > SIZE_MAX - off)
            return -EINVAL;
        spans[n].off = (size_t)off;
        spans[n].len = (size_t)sz;
        n++;
    }
    return (int)n;
}

int guest_elf_note_find(const unsigned char *notes, size_t len, const char *name, uint32_t type,
                        const unsigned char **desc, size_t *desc_len)
{
    size_t off = 0, want = strlen(name) + 1;
    while (len - off >= 12) {
        uint32_t namesz = le32(notes + off), descsz = le32(notes + off + 4);
        uint32_t t = le32(notes + off + 8);
        size_t name_off = off + 12, desc_off, end;
        if (namesz > len - name_off)
            return -EINVAL;
        desc_off = name_off + pad4(namesz);
        if (desc_off > len || descsz > len - desc_off)
            return -EINVAL;
        end = desc_off + pad4(descsz);
        if (namesz == want && t == type && memcmp(notes + name_off, name, want) == 0) {
            *desc = notes + desc_off;
            *desc_len = descsz;
            return 0;
        }
        if (end >= len)
            break;
        off = end;
    }
    return -ENOENT;
}

int guest_elf_notes_release(const unsigned char *notes, size_t len, char *out, size_t n)
{
    const unsigned char *d;
    size_t dl;
    int r = guest_elf_note_find(notes, len, "Linux", GUEST_ELF_NOTE_BUILD_SALT, &d, &dl);
    if (r < 0)
        return r;
    if (dl == 0 || d[dl - 1] != '\0')
        return dl == 0 ? -ENOENT : -EINVAL;
    if (memchr(d, '/', dl))
        return -EINVAL; /* a release names a directory (lib/modules/<release>) */
    return first_word(d, dl, out, n);
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

int guest_elf_read_notes(const char *path, const unsigned char *head, size_t got,
                         unsigned char **notes, size_t *len)
{
    struct guest_span sp[GUEST_ELF_MAX_NOTE_SEGS];
    _cleanup_close_ int fd = -1;
    _cleanup_free_ unsigned char *buf = NULL;
    size_t total = 0;
    int n = guest_elf_note_spans(head, got, sp, ELEMENTSOF(sp));
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (sp[i].len > GUEST_ELF_MAX_NOTES_BYTES)
            return -EFBIG;
    buf = malloc((size_t)n * GUEST_ELF_MAX_NOTES_BYTES + 1);
    if (!buf)
        return -ENOMEM;
    if (n > 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        ssize_t r = pread(fd, buf + total, sp[i].len, (off_t)sp[i].off);
        if (r < 0)
            return -errno;
        if ((size_t)r != sp[i].len)
            return -EINVAL; /* the segment lies past the end of the file */
        total += sp[i].len;
    }
    *notes = TAKE_PTR(buf);
    *len = total;
    return 0;
}

int guest_image_release(const char *path, char *out, size_t n)
{
    _cleanup_free_ unsigned char *head = malloc(GUEST_KERNEL_RELEASE_HEAD);
    _cleanup_free_ unsigned char *notes = NULL;
    size_t got = 0, nlen = 0;
    int r;
    if (!head)
        return -ENOMEM;
    if ((r = guest_image_read_head(path, head, GUEST_KERNEL_RELEASE_HEAD, &got)) < 0)
        return r;
    switch (guest_kernel_kind(head, got)) {
    case GK_BZIMAGE: return guest_bzimage_release(head, got, out, n);
    case GK_ELF:
        if ((r = guest_elf_read_notes(path, head, got, &notes, &nlen)) < 0)
            return r;
        return guest_elf_notes_release(notes, nlen, out, n);
    default: return -ENOEXEC;
    }
}

/* QEMU loads an ELF kernel only through its PVH entry note; say so before QEMU does. */
static int check_elf_pvh(const char *kernel, const unsigned char *head, size_t got,
                         struct cvm_err *err)
{
    _cleanup_free_ unsigned char *notes = NULL;
    const unsigned char *d;
    size_t nlen = 0, dl;
    int r = guest_elf_read_notes(kernel, head, got, &notes, &nlen);
    if (r < 0)
        return cvm_err_set(err, -ENOEXEC, "guest kernel '%s': unreadable ELF notes (%s)", kernel,
                           strerror(-r));
    if (guest_elf_note_find(notes, nlen, "Xen", GUEST_ELF_NOTE_PVH_ENTRY, &d, &dl) < 0 || dl < 4)
        return cvm_err_set(err, -ENOEXEC,
                           "guest kernel '%s' is an ELF without a PVH entry note (CONFIG_PVH): "
                           "QEMU cannot boot it",
                           kernel);
    return 0;
}

int guest_image_check(const char *kernel, const char *initrd, struct cvm_err *err)
{
    unsigned char head[GUEST_IMAGE_HEAD];
    size_t got = 0;
    int r = guest_image_read_head(kernel, head, sizeof(head), &got);
    if (r < 0)
        return cvm_err_set(err, r, "guest kernel '%s': %s", kernel, strerror(-r));
    switch (guest_kernel_kind(head, got)) {
    case GK_UNKNOWN:
        return cvm_err_set(err, -ENOEXEC,
                           "guest kernel '%s' is neither a bzImage nor an ELF vmlinux", kernel);
    case GK_ELF:
        if ((r = check_elf_pvh(kernel, head, got, err)) < 0)
            return r;
        break;
    default: break;
    }
    if (!initrd)
        return 0;
    r = guest_image_read_head(initrd, head, sizeof(head), &got);
    if (r < 0)
        return cvm_err_set(err, r, "guest initrd '%s': %s", initrd, strerror(-r));
    if (guest_initrd_kind(head, got) == GI_UNKNOWN)
        return cvm_err_set(err, -ENOEXEC,
                           "guest initrd '%s' is not an initrd (neither a newc cpio nor a "
                           "compressed one)",
                           initrd);
    return 0;
}

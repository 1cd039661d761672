/* What a guest kernel or initrd file is, from its first bytes: so that a wrong file fails
 * Create at once with a reason naming it, instead of a guest that never answers.
 *
 * The parsers are PURE (buffer in, verdict out), unit-tested and fuzzed; guest_image_check()
 * is the one function that reads files. */
#ifndef CVM_GUEST_IMAGE_H
#define CVM_GUEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct cvm_err;

enum guest_kernel_kind { GK_UNKNOWN, GK_BZIMAGE, GK_ELF };
enum guest_initrd_kind {
    GI_UNKNOWN,
    GI_CPIO,
    GI_GZIP,
    GI_ZSTD,
    GI_XZ,
    GI_LZ4,
    GI_BZIP2,
    GI_LZMA,
};

/* How many leading bytes the kind checks need (a bzImage header ends before 0x280). */
#define GUEST_IMAGE_HEAD 1024
/* How many a kernel's release needs: a bzImage's kernel_version string (seen within 32 KiB). */
#define GUEST_KERNEL_RELEASE_HEAD (64u * 1024u)

/* PURE: x86 bzImage ("HdrS" boot protocol header at 0x202) or ELF (PVH vmlinux). */
enum guest_kernel_kind guest_kernel_kind(const unsigned char *buf, size_t len);
/* PURE: a newc cpio ("070701"/"070702") or one of the compressions the kernel unpacks. */
enum guest_initrd_kind guest_initrd_kind(const unsigned char *buf, size_t len);
const char *guest_kernel_kind_name(enum guest_kernel_kind k);
const char *guest_initrd_kind_name(enum guest_initrd_kind k);

/* PURE: the release ("6.1.0-57-cloud-amd64") of a bzImage from its kernel_version header
 * field (boot protocol >= 2.00), into out. buf must hold the string (the first ~32 KiB of
 * the file suffice for every kernel seen). -EINVAL: not a bzImage; -ENOENT: no version. */
int guest_bzimage_release(const unsigned char *buf, size_t len, char *out, size_t n);

/* PURE: walk an uncompressed newc cpio and return the <kver> of the first entry named
 * "lib/modules/<kver>/..." (leading "./" or "/" allowed). -ENOENT: the archive has no
 * modules; -EINVAL: not a well-formed newc archive. Never reads past len. */
int guest_cpio_modules_release(const unsigned char *buf, size_t len, char *out, size_t n);

/* An ELF vmlinux names its release in the build-salt note ("Linux", type 0x100) when built
 * with CONFIG_BUILD_SALT="<release>" (initrd/kernel/build.sh does; Fedora's kernels too),
 * and QEMU boots it only through the PVH entry note ("Xen", XEN_ELFNOTE_PHYS32_ENTRY). */
#define GUEST_ELF_NOTE_BUILD_SALT 0x100u
#define GUEST_ELF_NOTE_PVH_ENTRY 18u
#define GUEST_ELF_MAX_NOTE_SEGS 8
#define GUEST_ELF_MAX_NOTES_BYTES (64u * 1024u)

struct guest_span {
    size_t off, len;
};

/* PURE: the file spans of the PT_NOTE segments of an ELF64 little-endian image, from its
 * head (ELF header and program headers must lie in buf). Returns how many (at most max);
 * -EINVAL: not ELF64 LE or malformed; -E2BIG: program headers beyond len. */
int guest_elf_note_spans(const unsigned char *buf, size_t len, struct guest_span *spans,
                         size_t max);

/* PURE: the descriptor of the note (name, type) in a blob of ELF notes. 0 with *desc and *desc_len
 * (inside notes), -ENOENT: absent, -EINVAL: a malformed note before it. */
int guest_elf_note_find(const unsigned char *notes, size_t len, const char *name, uint32_t type,
                        const unsigned char **desc, size_t *desc_len);

/* PURE: the release from the build-salt note of a notes blob into out (a printable word, no
 * '/'). -ENOENT: no such note or it is empty; -EINVAL: malformed. */
int guest_elf_notes_release(const unsigned char *notes, size_t len, char *out, size_t n);

/* Effectful: the ELF notes of the file (its PT_NOTE segments, each at most
 * GUEST_ELF_MAX_NOTES_BYTES, concatenated) into a malloc'd buffer; head holds its first bytes. */
int guest_elf_read_notes(const char *path, const unsigned char *head, size_t got,
                         unsigned char **notes, size_t *len);

/* Effectful: a kernel file's release (bzImage header or ELF build-salt note) into out.
 * -ENOENT: the image names none; -ENOEXEC: neither kind; -errno of reading. */
int guest_image_release(const char *path, char *out, size_t n);

/* Effectful: the first n bytes of a file (fewer when shorter) into buf; 0 or -errno. */
int guest_image_read_head(const char *path, unsigned char *buf, size_t n, size_t *got);

/* Effectful: read the heads of kernel and initrd (initrd may be NULL) and fail with
 * -ENOEXEC and a message naming the file when either is not what it claims to be (an ELF
 * kernel without the PVH entry note is one: QEMU would refuse it). */
int guest_image_check(const char *kernel, const char *initrd, struct cvm_err *err);

#endif

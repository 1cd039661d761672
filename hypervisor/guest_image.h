/* What a guest kernel or initrd file is, from its first bytes: so that a wrong file fails
 * Create at once with a reason naming it, instead of a guest that never answers.
 *
 * The parsers are PURE (buffer in, verdict out), unit-tested and fuzzed; guest_image_check()
 * is the one function that reads files. */
#ifndef CVM_GUEST_IMAGE_H
#define CVM_GUEST_IMAGE_H

#include <stddef.h>

struct cvm_err;

enum guest_kernel_kind { GK_UNKNOWN, GK_BZIMAGE, GK_ELF };
enum guest_initrd_kind {
    GI_UNKNOWN, GI_CPIO, GI_GZIP, GI_ZSTD, GI_XZ, GI_LZ4, GI_BZIP2, GI_LZMA,
};

/* How many leading bytes the kind checks need (a bzImage header ends before 0x280). */
#define GUEST_IMAGE_HEAD 1024

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

/* Effectful: the first n bytes of a file (fewer when shorter) into buf; 0 or -errno. */
int guest_image_read_head(const char *path, unsigned char *buf, size_t n, size_t *got);

/* Effectful: read the heads of kernel and initrd (initrd may be NULL) and fail with
 * -ENOEXEC and a message naming the file when either is not what it claims to be. */
int guest_image_check(const char *kernel, const char *initrd, struct cvm_err *err);

#endif

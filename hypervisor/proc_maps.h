/* PURE: reading /proc/PID/maps: the file mappings a pageout may drop a process's pages from,
 * and its mappings of one file by name. */
#ifndef CVM_PROC_MAPS_H
#define CVM_PROC_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct proc_maps_range {
    uint64_t start, end; /* [start, end), page aligned as the kernel prints them */
};

/* The file, as /proc/PID/maps names it: the device's major:minor and the inode. */
struct proc_maps_file {
    unsigned major, minor;
    uint64_t ino;
};

/* One mapping: where, what file, and the file offset it starts at. */
struct proc_maps_mapping {
    struct proc_maps_range range;
    struct proc_maps_file file;
    uint64_t offset;
};

/* The mappings whose permissions are exactly `perms` (4 characters, "rw-s") and whose path
 * (the rest of the line after the inode and its padding) is exactly `path` ("/memfd:tcg-jit
 * (deleted)"), in text order, at most `max` of them in out[]. A line that does not parse, or
 * whose range is empty, is skipped. Returns how many matched (may exceed max). */
size_t proc_maps_named(const char *text, size_t len, const char *perms, const char *path,
                       struct proc_maps_mapping *out, size_t max);

/* The mappings of regular files whose pages MADV_PAGEOUT drops without writing anything back:
 * every private mapping ('p': the pages a process wrote to are its anonymous copies, the rest
 * the file's clean page cache) and shared read-only ones. Never a shared writable mapping,
 * a memfd ("/memfd:..."), anything under /dev/, a deleted file (" (deleted)" at the end), a
 * path not starting with '/' ([heap], anon_inode:...) or anonymous memory (inode 0). These
 * are a process's binary, its libraries and the files it mapped to read (QEMU's guest
 * kernel, which it maps rw-p, and initrd). In text order, at most `max` in out[]; bad lines
 * are skipped. Returns how many matched (may exceed max). */
size_t proc_maps_file_backed(const char *text, size_t len, struct proc_maps_range *out, size_t max);

#endif

/* PURE: reading /proc/PID/maps, for the ranges a process maps one file at. */
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

/* The ranges of a maps text (len bytes, need not be NUL-terminated) that map `f`, in text
 * order, at most `max` of them in out[]. A line that does not parse is skipped; a range
 * with end <= start is skipped. Returns how many matched (may exceed max: only max are
 * stored). */
size_t proc_maps_file_ranges(const char *text, size_t len, const struct proc_maps_file *f,
                             struct proc_maps_range *out, size_t max);

/* One mapping: where, what file, and the file offset it starts at. */
struct proc_maps_mapping {
    struct proc_maps_range range;
    struct proc_maps_file file;
    uint64_t offset;
};

/* The mappings whose permissions are exactly `perms` (4 characters, "rw-s") and whose path
 * (the rest of the line after the inode and its padding) is exactly `path` ("/memfd:tcg-jit
 * (deleted)"), in text order, at most `max` of them in out[]. Bad lines are skipped as above.
 * Returns how many matched (may exceed max). */
size_t proc_maps_named(const char *text, size_t len, const char *perms, const char *path,
                       struct proc_maps_mapping *out, size_t max);

#endif

/* PURE parsers for the sandbox's host cgroup (no I/O, no globals; unit tested and fuzzed):
 *
 *  - the OCI spec's linux.cgroupsPath, in the two forms runc accepts:
 *      cgroupfs   "/a/b" (from the hierarchy's root) or "a/b" (from our own cgroup), cleaned
 *                 lexically as runc's utils.CleanPath does: "." and ".." are resolved and can
 *                 never climb above the root;
 *      systemd    "slice:prefix:name", named as runc's systemd driver names it: the slice
 *                 "kubepods-besteffort-pod1.slice" expands to
 *                 kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice
 *                 (an empty slice is "system.slice", "-.slice" is the root) and the unit is
 *                 "<prefix>-<name>.scope" (a name ending in ".slice" is used as it is).
 *    A path is systemd-style when it does not start with '/' and has exactly two ':'.
 *  - one line of /proc/<pid>/cgroup ("ID:controllers:path");
 *  - one line of /proc/self/mountinfo, for the cgroup and cgroup2 mounts. */
#ifndef CVM_SHIM_HOST_CGROUP_PATH_H
#define CVM_SHIM_HOST_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "errmap.h"

#define HCG_PATH_MAX 1024 /* a cgroupsPath (and its expansion) longer than this is refused */
#define HCG_CTRLS_MAX 128 /* "cpu,cpuacct", "name=systemd", "" (v2) */

struct hcg_path {
    char path[HCG_PATH_MAX]; /* cleaned: "/a/b" or "a/b" (relative); never "" (root: "/") */
    bool relative;           /* below the caller's own cgroup in each hierarchy */
    bool systemd;            /* came from "slice:prefix:name" (always absolute) */
};

/* 0, or -EINVAL with err naming what is wrong (empty path, a bad slice name, a control
 * character, a component longer than 255 bytes, too long). */
int hcg_path_parse(const char *spec, struct hcg_path *out, struct cvm_err *err);

/* runc's systemd ExpandSlice: "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "/".
 * 0 or -EINVAL (no ".slice" suffix, '/', an empty component as in "a--b.slice" or "-a.slice"). */
int hcg_expand_slice(const char *slice, char *out, size_t n);

/* "4:memory:/a/b" -> controllers "memory", path "/a/b"; "0::/x" -> "", "/x" (v2). 0 or
 * -EINVAL. The line may end with '\n'. */
int hcg_parse_proc_cgroup_line(const char *line, char *ctrls, size_t nc, char *path, size_t np);

/* A mountinfo line of fstype "cgroup" (v1: controllers from the super options, e.g.
 * "cpu,cpuacct" or "name=systemd") or "cgroup2" (ctrls ""): its mount point (octal escapes
 * decoded) and its root within the hierarchy. 1 = a cgroup mount, 0 = another fs, -EINVAL =
 * malformed. */
int hcg_parse_mountinfo_line(const char *line, bool *v2, char *ctrls, size_t nc, char *mnt,
                             size_t nm, char *root, size_t nr);

/* One line of the sandbox's record (<run dir>/host_cgroup, read by `delete` after a crash):
 * "created <dir>" (this shim made the leaf: it is removed) or "joined <dir>" (it existed:
 * never removed). hcg_format_record_line writes one with its '\n' (0, or -ENAMETOOLONG);
 * hcg_parse_record_line returns 1 = created, 0 = joined, -EINVAL for anything else: a bare
 * path (an older shim's record) does not say who made the cgroup, so it is left alone. dir
 * is copied without its '\n', never empty, no control characters. */
int hcg_format_record_line(bool created, const char *dir, char *out, size_t n);
int hcg_parse_record_line(const char *line, char *dir, size_t n);

/* Does the comma list ctrls contain exactly the controller name (not a prefix: "cpu" is not
 * in "cpuacct,cpuset")? */
bool hcg_has_controller(const char *ctrls, const char *name);

#endif

/* The sandbox's host cgroup: the cgroup the sandbox container's linux.cgroupsPath names on
 * the host, made and removed as runc makes and removes it, holding every host process of the
 * VM (QEMU, virtiofsd, cvm-vsockd join it before exec: hv_config.cgroup_procs_fds), with the
 * container's resources applied for the VM (host_cgroup_limits.h).
 *
 * Detected at runtime: cgroup v2 (/sys/fs/cgroup is cgroup2: one hierarchy) or v1 (every
 * hierarchy we are in and that is mounted, as runc's cgroupfs driver joins them: memory, cpu,
 * cpuacct, pids, cpuset, devices, freezer, blkio, name=systemd, ..., and a hybrid host's v2
 * "unified" mount). Paths are parsed by host_cgroup_path.h (cgroupfs and systemd forms);
 * with no systemd to ask, a systemd-style path is created directly as the directories
 * systemd would make (kubepods.slice/.../cri-containerd-ID.scope).
 *
 * Only what we made is ours: a cgroup (in a hierarchy) that existed before is joined as it is
 * (no limits written, never emptied, never removed); one we created gets the limits and is
 * removed at delete. Nothing here kills (as runc, which only removes: a path naming a service's
 * cgroup must not kill the service): the VM's processes are killed by the hypervisor layer,
 * which holds them as its children (pidfds), and removal waits on a timer for them.
 *
 * Only cgroupfs writes: nothing here waits for a process on the loop. -errno with err set. */
#ifndef CVM_SHIM_HOST_CGROUP_H
#define CVM_SHIM_HOST_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "errmap.h"
#include "cgroup/host_cgroup_limits.h"

struct loop;

#define HCG_MAX_HIERARCHIES 16

struct host_cgroup;

/* Make (mkdir -p) the cgroup spec_path names in every hierarchy, noting in which the leaf is
 * new (ours) and in which it existed (joined). v1 cpuset levels we make get their parent's
 * cpus and mems (an empty cpuset cannot be joined); on v2 the parents enable the memory, cpu
 * and pids controllers for their children where they have them. */
int host_cgroup_create(const char *spec_path, struct host_cgroup **ret, struct cvm_err *err);

/* Open each hierarchy's cgroup.procs for writing (O_CLOEXEC): for hv_config. Returns the
 * number of fds (<= max) or -errno. The caller closes them. */
int host_cgroup_procs_fds(struct host_cgroup *cg, int *fds, size_t max, struct cvm_err *err);

/* Apply host values (hcg_host_values) where the leaf is ours (a joined cgroup keeps its
 * owner's limits). A controller the host lacks fails with -ENOTSUP naming it (the limit would
 * silently not hold). */
int host_cgroup_set(struct host_cgroup *cg, const struct hcg_resources *host, struct cvm_err *err);

/* The cgroup as given (expanded), e.g. "/default/c1" or "/kubepods.slice/.../x.scope". */
const char *host_cgroup_name(const struct host_cgroup *cg);
bool host_cgroup_is_v2(const struct host_cgroup *cg);

/* One attempt, never waiting, never killing: rmdir the leaf in every hierarchy where we made
 * it (parents stay, as with runc; a joined leaf stays). A leaf still holding processes (a
 * helper's own child a moment after the helper was reaped, e.g. virtiofsd's sandboxed worker)
 * is -EBUSY: try again shortly. 0 when every leaf of ours is gone. */
int host_cgroup_remove_once(struct host_cgroup *cg);
/* Free cg (the directories stay). NULL is fine. */
void host_cgroup_free(struct host_cgroup *cg);
/* One remove_once, then free: for a cgroup no process joined yet (a failed Create). A busy
 * one is logged and left. NULL is fine. */
void host_cgroup_remove(struct host_cgroup *cg);
/* Takes cg: remove_once now and, while busy, again on a timer of l (20 ms steps, up to 5 s),
 * then free it. For the loop, when the VM's processes were just killed. NULL is fine. */
void host_cgroup_remove_later(struct loop *l, struct host_cgroup *cg);
/* At process exit only, the loop done: remove cg (NULL is fine) and every removal still
 * pending from host_cgroup_remove_later, waiting up to 1 s in all for their last processes,
 * then free them. */
void host_cgroup_remove_at_exit(struct host_cgroup *cg);

/* For `delete` after a killed daemon: <run_dir>/host_cgroup lists the cgroup's leaf in each
 * hierarchy and whether we made it (hcg_parse_record_line; written at creation);
 * host_cgroup_remove_recorded() removes each one we made that is a cgroup directory under
 * /sys/fs/cgroup, waiting up to wait_ms while its last processes exit (`delete` has no loop).
 * A joined one is left. */
int host_cgroup_record(const struct host_cgroup *cg, const char *run_dir);
void host_cgroup_remove_recorded(const char *run_dir, unsigned wait_ms);

/* runc's shim_cgroup: move pid into the existing cgroup path (cgroupfs form, absolute) in
 * every hierarchy where it exists; -ENOENT when it exists in none. */
int host_cgroup_join_existing(const char *path, pid_t pid, struct cvm_err *err);

#endif

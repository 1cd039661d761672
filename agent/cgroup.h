/* cgroup v2, one group per container under the agent's cgroup root: limits from
 * LinuxResources, freezer, stats into io.containerd.cgroups.v2.Metrics, kill-all. */
#ifndef CVM_AGENT_CGROUP_H
#define CVM_AGENT_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup_file.h"
#include "cgroups/v2/metrics.pb-c.h"
#include "errmap.h"
#include "oci_spec.h"

/* Enable the controllers we use in root's subtree_control (those available). */
int cgroup_root_init(const char *root);
/* mkdir root/id; *ret = malloc'd path. */
int cgroup_create(const char *root, const char *id, char **ret, struct cvm_err *err);
int cgroup_apply(const char *cg, const struct oci_resources *r, struct cvm_err *err);
int cgroup_add_pid(const char *cg, pid_t pid);
/* Freezing and removal complete asynchronously: cgroup_async.h. */
/* pids in the group (cgroup.procs), up to max; returns count or -errno. */
int cgroup_pids(const char *cg, pid_t *pids, size_t max);
int cgroup_kill(const char *cg, int sig);
/* Fill m (caller frees with cgroup_metrics_free). */
int cgroup_stats(const char *cg, Io__Containerd__Cgroups__V2__Metrics *m);
void cgroup_metrics_free(Io__Containerd__Cgroups__V2__Metrics *m);

#endif

/* PURE: from an OCI linux.resources object (the spec's at Create, the JSON of containerd's
 * Update) to the values the sandbox's host cgroup gets, and the cgroup files they go to on
 * cgroup v1 and v2. Unit tested; fuzzed with the path parsers.
 *
 * What the host cgroup holds is the VM (QEMU, virtiofsd, cvm-vsockd), not the container's
 * processes, which the guest's own cgroup limits exactly as asked. So:
 *   memory  the VM's bound: guest RAM + the VMM's fixed overhead (the guest cannot use more
 *           RAM than it has; QEMU's own heap, its copy of kernel and initrd, virtiofsd and
 *           cvm-vsockd come on top). -1 / no limit: none on the host either.
 *   cpu     shares, quota and period as given: CPU is a rate the whole VM shares (the vCPU
 *           threads run the guest, the rest is I/O on its behalf), nothing to add.
 *   pids    the limit + the VMM's threads (QEMU's vCPU/IO threads, virtiofsd's pool):
 *           guest processes are not host tasks, but a pids limit that leaves the VMM
 *           no threads would stop the VM instead of the container. */
#ifndef CVM_SHIM_HOST_CGROUP_LIMITS_H
#define CVM_SHIM_HOST_CGROUP_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmap.h"

struct hcg_resources {
    bool has_memory;
    int64_t memory; /* bytes; -1 = unlimited */
    bool has_shares;
    uint64_t shares; /* v1 cpu.shares (2..262144) */
    bool has_quota;
    int64_t quota; /* us; -1 / 0 = none */
    bool has_period;
    uint64_t period; /* us */
    bool has_pids;
    int64_t pids; /* -1 / 0 = unlimited */
};

/* The VM's fixed costs on the host, added on top (see above). */
struct hcg_overhead {
    uint64_t guest_ram;  /* bytes of guest RAM (memory_mib) */
    uint64_t vmm_memory; /* bytes: QEMU + virtiofsd + cvm-vsockd beyond the guest RAM */
    int64_t vmm_tasks;   /* host threads of the VMM */
};

/* res: linux.resources (NULL or not an object: nothing set). Only memory.limit,
 * cpu.shares/quota/period and pids.limit are read; other keys are the guest's business. Wrong
 * types or out-of-range values: -EINVAL naming the key. */
int hcg_resources_parse(const json_t *res, struct hcg_resources *out, struct cvm_err *err);

/* The host cgroup's values for guest resources g. */
void hcg_host_values(const struct hcg_resources *g, const struct hcg_overhead *o,
                     struct hcg_resources *host);

/* One file write of a host cgroup: controller, file name, value ("max" / a number). */
struct hcg_write {
    const char *ctrl;
    const char *file;
    char value[48];
};
#define HCG_WRITES_MAX 6

/* The writes that apply host values h, in order (v1: period before quota), for cgroup v2
 * (v2 = true) or v1. cpu.shares becomes v2's cpu.weight as runc converts it. Returns the
 * number of writes. */
size_t hcg_writes(const struct hcg_resources *h, bool v2, struct hcg_write *w);

/* runc's shares -> weight: 1 + ((shares - 2) * 9999) / 262142; 0 stays 0 (unset). */
uint64_t hcg_shares_to_weight(uint64_t shares);

#endif

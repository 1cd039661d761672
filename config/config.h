/* Runtime configuration of containerd-shim-cvm-v1: a JSON file read with jansson, then
 * per-sandbox overrides from io.containerd.cvm.* annotations.
 *
 * cfg_parse() and cfg_apply_annotations() are PURE (no I/O, no globals): they are unit tested
 * and fuzzed. cfg_load_file() is the only function that touches the filesystem. Empty path
 * fields mean "discover at runtime" (see shim/assets.c); everything else is validated here. */
#ifndef CVM_CONFIG_H
#define CVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel.h"
#include "vsock_mode.h"
#include "errmap.h"

#define CFG_PATH_MAX 1024
#define CFG_KARGS_MAX 1024
#define CFG_FILE_MAX (64u * 1024u) /* a config file larger than this is rejected */

/* Documented defaults (also in config/cvm.json and config/README.md). */
#define CFG_DEFAULT_VCPUS 1u
#define CFG_DEFAULT_MEMORY_MIB 256u
#define CFG_DEFAULT_BOOT_DEADLINE_MS 30000u
/* Empty: ours, found next to the shim (shim/sandbox/assets.c), else Debian's. */
#define CFG_DEFAULT_QEMU ""
#define CFG_DISTRO_QEMU "/usr/bin/qemu-system-x86_64"
#define CFG_DEFAULT_VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define CFG_DEFAULT_PATH "/etc/containerd-shim-cvm-v1/config.json"

#define CFG_VCPUS_MIN 1u
#define CFG_VCPUS_MAX 64u
#define CFG_MEMORY_MIN 64u
#define CFG_MEMORY_MAX (1024u * 1024u)
#define CFG_DEADLINE_MIN 1000u
#define CFG_DEADLINE_MAX 600000u
#define CFG_CONSOLE_DEADLINE_MAX 600000u
#define CFG_DEFAULT_GUEST_TIMEOUT_MS 6000u /* no heartbeat answer this long: the guest is dead */
/* "tcg_idle_reset_s": an idle TCG VM's translation cache emptied and its dead part given back
 * (shim/sandbox/idle_reclaim.h); 0 = never. */
#define CFG_TCG_IDLE_RESET_S_DEFAULT 10u
#define CFG_TCG_IDLE_RESET_S_MAX 86400u
#define CFG_DEFAULT_KILL_GRACE_MS 2000u /* SIGKILL of the sandbox's init not honoured: kill QEMU */
#define CFG_DEFAULT_SPARE_NICS 1u
#define CFG_SPARE_NICS_MAX 7u
/* The VMM's fixed host costs on top of the guest (shim/host_cgroup_limits.h, config/README.md
 * "Host cgroups"): memory beyond the guest RAM and the kernel/initrd QEMU keeps a copy of,
 * and host threads. Measured on this project's machines by test/e2e/58-host-cgroup.sh. */
#define CFG_DEFAULT_HOST_OVERHEAD_MIB 128u
#define CFG_HOST_OVERHEAD_MIB_MAX 65536u
#define CFG_DEFAULT_HOST_OVERHEAD_TASKS 128u
#define CFG_HOST_OVERHEAD_TASKS_MAX                                                                \
    65536u /* with the interfaces present at boot, at most 8 NICs (HV_MAX_NICS) */

/* Annotation keys (spec §5.3: CRI copies them from pod annotations with pod_annotations). */
#define CFG_ANN_PREFIX "io.containerd.cvm."
#define CFG_ANN_VCPUS "io.containerd.cvm.vcpus"
#define CFG_ANN_MEMORY "io.containerd.cvm.memory_mib"
#define CFG_ANN_KARGS "io.containerd.cvm.kernel_args"
#define CFG_ANN_GROUP "io.containerd.cvm.v1.group"

/* The annotation policy (config/README.md "Annotations"): a pod author sets annotations, only
 * the node operator writes the config file. An annotation that changes the VM is honoured only
 * when the config's "allowed_annotations" lists its key (default: none), and every size, from
 * the config or an annotation, stays within the operator's "max_vcpus" / "max_memory_mib"
 * (0, the default: the host's CPUs / memory). The group annotation only groups containers
 * into one sandbox; it is always allowed. */
#define CFG_ALLOW_VCPUS (1u << 0)
#define CFG_ALLOW_MEMORY (1u << 1)
#define CFG_ALLOW_KARGS (1u << 2)
#define CFG_ALLOWED_MAX 16u                /* entries in "allowed_annotations" */
#define CFG_POOL_SIZE_MAX 16u              /* "pool": {"size"} */
#define CFG_POOL_TCG_CACHE_MIB_DEFAULT 32u /* "pool": {"tcg_cache_mib"} (qemu_argv.h) */
#define CFG_POOL_TCG_CACHE_MIB_MIN 8u
#define CFG_POOL_TCG_CACHE_MIB_MAX 256u

struct cfg {
    char kernel[CFG_PATH_MAX]; /* "" = newest /boot/vmlinuz-* */
    char initrd[CFG_PATH_MAX]; /* "" = installed initrd next to the binary */
    char qemu[CFG_PATH_MAX];
    char virtiofsd[CFG_PATH_MAX];
    char vsockd[CFG_PATH_MAX]; /* "" = cvm-vsockd next to the binary */
    unsigned vcpus;
    unsigned memory_mib;
    enum hv_vsock_mode vsock_mode;
    unsigned boot_deadline_ms;
    enum hv_accel accel; /* auto | kvm | tcg (see hypervisor/accel.h) */
    /* Sandbox uids (hypervisor/uid_range.h): each sandbox's QEMU and cvm-vsockd run as one
     * uid of [uid_first, uid_last] no other live sandbox has ("uid_range": "FIRST-LAST"). */
    unsigned uid_first, uid_last;
    unsigned console_deadline_ms; /* no guest kernel output by then: boot fails; 0 = by accel */
    unsigned spare_nics;          /* NICs beyond the netns's interfaces at boot (ctr --cni) */
    unsigned guest_timeout_ms;    /* heartbeat: a guest silent this long is declared dead */
    unsigned tcg_idle_reset_s;    /* CFG_TCG_IDLE_RESET_S_DEFAULT */
    unsigned kill_grace_ms;       /* SIGKILL of the sandbox's init: the agent's grace, then QEMU */
    unsigned host_overhead_mib;   /* host memory limit = guest RAM + this + kernel + initrd */
    unsigned host_overhead_tasks; /* host pids limit = the container's + this */
    char kernel_args[CFG_KARGS_MAX]; /* appended to the built-in command line */
    unsigned allowed_annotations;    /* CFG_ALLOW_*: annotations pods may set (operator's) */
    unsigned max_vcpus;              /* bound of vcpus (config and annotation); 0 = host's CPUs */
    unsigned max_memory_mib;         /* bound of the guest RAM, however set; 0 = host's memory */
    bool debug;
    bool tcg_icount;         /* benchmarks: -icount shift=0,sleep=off under TCG */
    bool host_namespaces_vm; /* "host_namespaces": "vm": host network/ipc/pid = the VM's */
    /* "pool": {"size": N}: N pre-booted VMs of this config's shape kept warm for new
     * sandboxes (shim/pool); 0 (the default) = no pool. */
    unsigned pool_size;
    /* "pool": {"rehearse": false}: a warm VM is offered without first creating and removing a
     * throwaway container (shim/daemon/warm_rehearse.h); the default rehearses. */
    bool pool_no_rehearsal;
    /* "pool": {"tcg_cache_mib": N}: a warm VM's TCG translation cache, MiB (README "Warm VM
     * pool"); cold VMs keep QEMU_TCG_TB_MIB. */
    unsigned pool_tcg_cache_mib;
    /* Not a config key: the translation cache of the VM this config boots, MiB; 0 = hv's
     * default. The warm shim sets it from pool_tcg_cache_mib. */
    unsigned tcg_cache_mib;
    /* Not a config key: the VM's cache can be trimmed (hv.h tcg_trimmable): a warm VM's, and
     * any VM's whose cache is reset when idle (tcg_idle_reset_s). */
    bool tcg_trimmable;
};

void cfg_defaults(struct cfg *c);
/* Parse a JSON object and overlay it onto c (call cfg_defaults first). Unknown keys, wrong
 * types and out-of-range values fail with -EINVAL and a message naming the key; c is left
 * unchanged on failure. */
int cfg_parse(struct cfg *c, const char *json, size_t len, struct cvm_err *err);
/* PURE: turn the "host's" bounds (max_vcpus / max_memory_mib 0) into numbers: host_cpus online
 * CPUs and host_kib MemTotal (0 = unknown: the largest guest we make), then check the config's
 * own vcpus and memory_mib against them: -EINVAL naming the key. Call before
 * cfg_apply_annotations (which needs the bounds as numbers). c unchanged on failure. */
int cfg_resolve_bounds(struct cfg *c, unsigned host_cpus, unsigned long long host_kib,
                       struct cvm_err *err);
/* Apply io.containerd.cvm.* annotations (other keys are ignored), under the policy in c (its
 * allowed_annotations and resolved bounds): an unknown io.containerd.cvm.* key, a key the
 * config does not allow, a bad value or one above max_vcpus / max_memory_mib fail with -EINVAL
 * and a message naming the annotation. kernel_args from an annotation are appended. c
 * unchanged on failure. */
int cfg_apply_annotations(struct cfg *c, const char *const *keys, const char *const *values,
                          size_t n, struct cvm_err *err);
/* PURE: the guest RAM raised to a container's memory limit of want_mib (host_cgroup_sandbox.c)
 * must stay within max_memory_mib (resolved): -EINVAL naming the limit and the bound. */
int cfg_check_memory_raise(const struct cfg *c, unsigned long long want_mib, struct cvm_err *err);
/* PURE: the vCPUs a container's CPU quota asks for, ceil(quota / period) (period 0: runc's
 * default 100000 us); 0 when there is no quota (quota <= 0). */
unsigned long long cfg_vcpus_for_quota(int64_t quota_us, uint64_t period_us);
/* PURE: the vCPUs raised to a container's CPU quota (want) must stay within max_vcpus
 * (resolved; 0: CFG_VCPUS_MAX): -EINVAL naming the quota and the bound. */
int cfg_check_vcpus_raise(const struct cfg *c, unsigned long long want, struct cvm_err *err);
/* PURE: guest memory must fit the host: mem_mib above host_kib (MemTotal; 0 = unknown: no
 * check) fails with -EINVAL and a message naming both. */
int cfg_check_host_memory(unsigned mem_mib, unsigned long long host_kib, struct cvm_err *err);
/* Read and parse a file (size-capped). -ENOENT passes through so callers can fall back. */
int cfg_load_file(struct cfg *c, const char *path, struct cvm_err *err);
/* Validate kernel args: printable ASCII, no quotes/backslashes, bounded. 0 or -EINVAL. */
int cfg_check_kernel_args(const char *s);

#endif

/* Devices of a container: the spec's linux.devices the guest kernel can provide (checked at
 * Create, made by the child: child_mounts.c), and linux.resources.devices as a cgroup v2
 * device program (BPF_PROG_TYPE_CGROUP_DEVICE), as runc enforces them on cgroup v2. */
#ifndef CVM_AGENT_DEVICES_H
#define CVM_AGENT_DEVICES_H

#include <linux/bpf.h>
#include <stddef.h>

#include "errmap.h"
#include "oci_spec.h"

/* Every linux.devices entry of type c or b must exist in this kernel (sysfs_dev: normally
 * "/sys/dev", holding char/M:m and block/M:m). A missing one fails naming the device:
 * FAILED_PRECONDITION, never a silent drop. */
int devices_check_available(const struct oci_spec *s, const char *sysfs_dev, struct cvm_err *err);

/* The device program for rules (later rules win; an access no rule matches is denied, as
 * runc's v2 filter). Pure. Returns the instruction count or -E2BIG when max is too small. */
#define DEVCG_MAX_INSNS(n_rules) (8 + 10 * (n_rules))
int devcg_program_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn *out,
                        size_t max);
/* What the rules decide for one access (type 'c'/'b', access OCI_DEV_ACC_* bits): the
 * reference the program is tested against. Pure. */
bool devcg_decide(const struct oci_device_rule *rules, size_t n, char type, uint32_t major,
                  uint32_t minor, unsigned access);

/* runc's rules appended to every spec's (later rules win). */
#define DEVCG_N_RUNC_DEFAULTS 11
extern const struct oci_device_rule devcg_runc_defaults[DEVCG_N_RUNC_DEFAULTS];

/* Load the program for s's rules followed by runc's and attach it to the cgroup dir cg: as
 * runc, no rules in the spec means only runc's devices. */
int devices_cgroup_apply(const char *cg, const struct oci_spec *s, struct cvm_err *err);

#endif

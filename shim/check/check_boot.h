/* cvm-check --boot: one real sandbox VM boot, measured phase by phase. */
#ifndef CVM_CHECK_BOOT_H
#define CVM_CHECK_BOOT_H

#include "check_report.h"

/* Boot a VM from cfg (kernel, initrd, qemu, virtiofsd, vsockd resolved) in a fresh temp dir,
 * wait for the agent's Health with the boot watchdog of shim/boot_phases.h, stop the VM and
 * remove the temp dir. out->up says whether the agent answered, out->detail why not. */
void check_boot(const struct cfg *cfg, struct boot_result *out);

#endif

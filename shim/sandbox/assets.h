/* Where the guest kernel, initrd and helper binaries are when the config leaves them empty:
 * relative to our own executable, so both the build tree ($(BUILD)/bin + $(BUILD)/initrd.img)
 * and an install (PREFIX/bin + PREFIX/share/containerd-shim-cvm-v1/ + PREFIX/libexec/
 * containerd-shim-cvm-v1/ for our QEMU) work without flags.
 * The kernel is ours (vmlinux) unless the config names another; the initrd is the one made
 * for the kernel's release (initrd-<release>.img, with its modules) or else initrd.img (no
 * modules: for a kernel with everything built in). */
#ifndef CVM_SHIM_ASSETS_H
#define CVM_SHIM_ASSETS_H

#include <stddef.h>

#define ASSETS_SHARE_SUBDIR "share/containerd-shim-cvm-v1"
#define ASSETS_LIBEXEC_SUBDIR "libexec/containerd-shim-cvm-v1"

struct cfg;
struct cvm_err;

/* Fill empty kernel/initrd/vsockd in cfg; fails with a message naming what is missing. */
int assets_resolve(struct cfg *cfg, struct cvm_err *err);
/* The same, one asset at a time (cvm-check reports each): fill cfg->kernel / ->initrd when
 * empty (find the kernel first: the initrd follows its release) and check it is readable; vsockd is left empty when not next to our executable. */
int assets_find_kernel(struct cfg *cfg, struct cvm_err *err);
int assets_find_initrd(struct cfg *cfg, struct cvm_err *err);
void assets_find_vsockd(struct cfg *cfg);
/* Fill an empty cfg->qemu (our build next to us, else Debian's) and check it is executable. */
int assets_find_qemu(struct cfg *cfg, struct cvm_err *err);
/* Default config file search: CFG_DEFAULT_PATH, then <exe>/../share/.../cvm.json. */
int assets_default_config(char *out, size_t n);

#endif

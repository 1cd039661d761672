# The guest: our own kernel (initrd/kernel/, an uncompressed PVH vmlinux with everything built
# in) and two initrds with cvm-agent (stripped: 1.2 MB instead of 1.8 MB with debug info) as
# /init (initrd/mkinitrd.sh):
#   initrd.img                    no modules, for our kernel (the default);
#   initrd-$(GUEST_KVER).img      the modules the Debian cloud kernel needs, for that kernel
#                                 when the config's "kernel" names it (shim/assets.c picks
#                                 the initrd by the kernel's release).
# Reproducible: two builds from the same inputs are byte-identical.
GUEST_KVER    ?= $(shell ls /lib/modules 2>/dev/null | grep -- '-cloud-amd64$$' | sort -V | tail -1)
INITRD        := $(BUILD)/initrd.img
INITRD_DISTRO := $(if $(GUEST_KVER),$(BUILD)/initrd-$(GUEST_KVER).img)
VMLINUX       := $(BUILD)/vmlinux
# Outside the checkout, so clean trees and CI runs on this machine build the kernel once.
KERNEL_CACHE  ?= /var/cache/containerd-shim-cvm-v1/kernel
KERNEL_SOURCE ?= /usr/src/linux-source-6.1.tar.xz

.PHONY: initrd kernel
initrd: $(INITRD) $(INITRD_DISTRO)
kernel: $(VMLINUX)
all: $(INITRD) $(INITRD_DISTRO) $(VMLINUX)

$(BUILD)/initrd/cvm-agent: $(BUILD)/bin/cvm-agent
	@mkdir -p $(dir $@)
	$(Q)strip -o $@ $<

$(INITRD): $(BUILD)/initrd/cvm-agent initrd/mkinitrd.sh initrd/cpio_newc.py
	$(Q)echo "  INITRD  $@"; initrd/mkinitrd.sh --no-modules --init $< --out $@

$(BUILD)/initrd-%.img: $(BUILD)/initrd/cvm-agent initrd/mkinitrd.sh initrd/cpio_newc.py
	$(Q)echo "  INITRD  $@"; initrd/mkinitrd.sh --kver "$*" --init $< --out $@

# A cache hit only relinks; a miss builds (several minutes on 2 cores, the time is printed).
# The rule's target is vmlinux.release, a real file rewritten each time: vmlinux is a link
# into the cache, whose old mtime would make make rerun the script forever.
$(VMLINUX): $(VMLINUX).release ;
$(VMLINUX).release: initrd/kernel/build.sh config/build_cache.sh initrd/kernel/cvm.config initrd/kernel/elf_sparse.py $(wildcard initrd/kernel/patches/*.patch) $(KERNEL_SOURCE)
	$(Q)echo "  KERNEL  $(VMLINUX)"; initrd/kernel/build.sh --out $(VMLINUX) --cache $(KERNEL_CACHE) --source $(KERNEL_SOURCE)

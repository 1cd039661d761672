# hypervisor/: libhv.a (QEMU argv, QEMU/virtiofsd/vsockd processes, QMP, vsock host side),
# the e2e test driver and the guest idle init.
HV_SRC := $(wildcard hypervisor/*.c)
LIBHV  := $(BUILD)/libhv.a
LIBS   += $(LIBHV)

$(LIBHV): $(call obj,$(HV_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

# Test pieces for test/e2e/21-hypervisor.sh: the hv.h driver and the static guest idle init.
HV_DRIVER    := $(BUILD)/test/hv_driver
HV_IDLE_INIT := $(BUILD)/test/guest/idle_init
BINS += $(HV_DRIVER) $(HV_IDLE_INIT)

$(HV_DRIVER): $(call obj,test/drivers/hv_driver.c) $(LIBHV) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(LIBHV) $(LIBCOMMON) $(LDLIBS_ALL)

# The guest side is static and never sanitized (it runs as PID 1 in the VM).
$(HV_IDLE_INIT): test/guest/idle_init.c
	@mkdir -p $(dir $@)
	$(Q)echo "  CC      $@"; $(CC) -static -O2 -std=gnu11 -Wall -Wextra -Werror -o $@ $<

# Our QEMU (hypervisor/qemu/build.sh): built once per machine into QEMU_CACHE, linked here, where
# the shim in $(BUILD)/bin finds it. A cache hit only relinks; a miss builds (minutes on 2
# cores, the time is printed). Debian's binary is a prerequisite: an upgrade of
# qemu-system-x86 rebuilds ours from the new source. The target is the .version file, rewritten
# each time (the link's target keeps the cache's old mtime).
QEMU_OURS  := $(BUILD)/qemu-system-x86_64
QEMU_CACHE ?= /var/cache/containerd-shim-cvm-v1/qemu
.PHONY: qemu
qemu: $(QEMU_OURS)
all: $(QEMU_OURS)
$(QEMU_OURS): $(QEMU_OURS).version ;
$(QEMU_OURS).version: hypervisor/qemu/build.sh config/build_cache.sh hypervisor/qemu/cvm-devices.mak /usr/bin/qemu-system-x86_64
	$(Q)echo "  QEMU    $(QEMU_OURS)"; hypervisor/qemu/build.sh --out $(QEMU_OURS) --cache $(QEMU_CACHE)

# hypervisor/: libhv.a (QEMU argv, QEMU/virtiofsd/vsockd processes, QMP, vsock host side),
# the e2e test driver and the guest idle init.
HV_SRC := $(wildcard hypervisor/*.c)
LIBHV  := $(BUILD)/libhv.a
LIBS   += $(LIBHV)

$(LIBHV): $(call obj,$(HV_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

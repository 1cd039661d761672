# The guest initrd: cvm-agent (stripped: 1.2 MB instead of 1.8 MB with debug info) as /init
# plus the kernel modules the guest needs (initrd/mkinitrd.sh). Reproducible: two builds
# from the same inputs are byte-identical.
GUEST_KVER ?= $(shell ls /lib/modules 2>/dev/null | grep -- '-cloud-amd64$$' | sort -V | tail -1)
INITRD     := $(BUILD)/initrd.img

.PHONY: initrd
initrd: $(INITRD)
all: $(INITRD)

$(BUILD)/initrd/cvm-agent: $(BUILD)/bin/cvm-agent
	@mkdir -p $(dir $@)
	$(Q)strip -o $@ $<

$(INITRD): $(BUILD)/initrd/cvm-agent initrd/mkinitrd.sh initrd/cpio_newc.py
	$(Q)echo "  INITRD  $@"; initrd/mkinitrd.sh --kver "$(GUEST_KVER)" --init $< --out $@

# shim/: the containerd-shim-cvm-v1 binary; libshim.a holds everything but main() for tests.
# Its folders are listed in shim/README.md; shim/check (cvm-check) has its own module.mk.
SHIM_DIRS := cli naming events daemon pool task stdio sandbox net cgroup hooks
SHIM_SRC  := $(foreach d,$(SHIM_DIRS),$(wildcard shim/$(d)/*.c))
LIBSHIM   := $(BUILD)/libshim.a
LIBS      += $(LIBSHIM)
SHIM_BIN  := $(BUILD)/bin/containerd-shim-cvm-v1
BINS      += $(SHIM_BIN)

$(LIBSHIM): $(call obj,$(SHIM_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(SHIM_BIN): $(BUILD)/obj/shim/main.o $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

# make install PREFIX=/usr/local DESTDIR=: the shim and cvm-vsockd in PREFIX/bin (containerd
# finds the shim on PATH); our QEMU in PREFIX/libexec/containerd-shim-cvm-v1; our guest kernel
# (vmlinux, a copy out of the kernel cache), its module-less initrd.img, the distro kernel's
# initrd-<release>.img with a vmlinuz link to that kernel, default config and containerd
# snippets in PREFIX/share/containerd-shim-cvm-v1, where the installed shim looks for them
# (relative to its own path), so no flags are needed.
SHIM_SHARE := $(DESTDIR)$(PREFIX)/share/containerd-shim-cvm-v1
SHIM_LIBEXEC := $(DESTDIR)$(PREFIX)/libexec/containerd-shim-cvm-v1
install: $(SHIM_BIN) $(BUILD)/bin/cvm-vsockd $(BUILD)/bin/cvm-check $(INITRD) $(INITRD_DISTRO) $(VMLINUX) $(QEMU_OURS)
	install -d $(DESTDIR)$(PREFIX)/bin $(SHIM_SHARE) $(SHIM_LIBEXEC)
	install -m 0755 $(QEMU_OURS) $(SHIM_LIBEXEC)/qemu-system-x86_64
	install -m 0755 $(SHIM_BIN) $(DESTDIR)$(PREFIX)/bin/containerd-shim-cvm-v1
	install -m 0755 $(BUILD)/bin/cvm-check $(DESTDIR)$(PREFIX)/bin/cvm-check
	install -m 0755 $(BUILD)/bin/cvm-vsockd $(DESTDIR)$(PREFIX)/bin/cvm-vsockd
	install -m 0644 $(INITRD) $(SHIM_SHARE)/initrd.img
	install -m 0644 $(VMLINUX) $(SHIM_SHARE)/vmlinux
	$(if $(INITRD_DISTRO),install -m 0644 $(INITRD_DISTRO) $(SHIM_SHARE)/$(notdir $(INITRD_DISTRO)))
	install -m 0644 config/cvm.json config/containerd-ctr.toml config/containerd-cri.toml config/containerd2-cri.toml config/runtimeclass.yaml config/README.md $(SHIM_SHARE)/
	@# warm shims of the old build (README "Warm VM pool") leave; the next start refills
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/cvm/pool ]; then \
	  $(PREFIX)/bin/containerd-shim-cvm-v1 pool-drain; fi
	@if [ -n "$(GUEST_KVER)" ] && [ -e /boot/vmlinuz-$(GUEST_KVER) ]; then \
	  ln -sfn /boot/vmlinuz-$(GUEST_KVER) $(SHIM_SHARE)/vmlinuz; echo "  LINK    $(SHIM_SHARE)/vmlinuz -> /boot/vmlinuz-$(GUEST_KVER)"; fi

# e2e driver for 51-shim-compat.sh: containerd.task.v2.Task/Update (ctr 1.6 has no `task update`).
DRIVER_CONN := $(BUILD)/obj/test/drivers/shim_conn.o
$(BUILD)/drivers/task_update: $(BUILD)/obj/test/drivers/task_update.o $(DRIVER_CONN) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(DRIVER_CONN) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)
unit: $(BUILD)/drivers/task_update
# e2e driver for 51-shim-compat.sh: Exec, Start and Delete of an exec one by one (which fails?).
$(BUILD)/drivers/task_exec_start: $(BUILD)/obj/test/drivers/task_exec_start.o $(DRIVER_CONN) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(DRIVER_CONN) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)
unit: $(BUILD)/drivers/task_exec_start
# e2e driver for 58-host-cgroup.sh: Create with runc's shim options (which are refused?).
$(BUILD)/drivers/task_create_opts: $(BUILD)/obj/test/drivers/task_create_opts.o $(DRIVER_CONN) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(DRIVER_CONN) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)
unit: $(BUILD)/drivers/task_create_opts

# runtime/: cvm-runtime, runc's command line for Docker and podman (README "Docker and
# podman"). librt-cvm.a holds everything but main() for the unit tests; the shim's library
# supplies the daemon-side helpers it shares (pid files, fs_beneath via libcommon).
RT_SRC   := $(filter-out runtime/main.c,$(wildcard runtime/*.c))
LIBRT    := $(BUILD)/libcvmrt.a
# the floors of test/arch/file_graph.py: common, proto and the shim (its pid-file identities)
$(BUILD)/obj/runtime/%.o: INC = -Icommon -Iproto -Ishim -I$(BUILD)/gen
LIBS     += $(LIBRT)
RT_BIN   := $(BUILD)/bin/cvm-runtime
BINS     += $(RT_BIN)

$(LIBRT): $(call obj,$(RT_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(RT_BIN): $(BUILD)/obj/runtime/main.o $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

install: install-runtime
.PHONY: install-runtime
install-runtime: $(RT_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RT_BIN) $(DESTDIR)$(PREFIX)/bin/cvm-runtime

# shim/: the containerd-shim-cvm-v1 binary; libshim.a holds everything but main() for tests.
SHIM_SRC  := $(filter-out shim/main.c,$(wildcard shim/*.c))
LIBSHIM   := $(BUILD)/libshim.a
LIBS      += $(LIBSHIM)
SHIM_BIN  := $(BUILD)/bin/containerd-shim-cvm-v1
BINS      += $(SHIM_BIN)

$(LIBSHIM): $(call obj,$(SHIM_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(SHIM_BIN): $(BUILD)/obj/shim/main.o $(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

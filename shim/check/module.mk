# shim/check/: cvm-check, the host report (`kata-runtime check` for this runtime).
# libcvmcheck.a holds the pure report (unit-tested over faked hosts: test/unit/test_cvm_check.c);
# the probe, the --boot part and main() are linked into the binary only.
LIBCHECK      := $(BUILD)/libcvmcheck.a
LIBS          += $(LIBCHECK)
CHECK_BIN     := $(BUILD)/bin/cvm-check
BINS          += $(CHECK_BIN)
CHECK_LIB_SRC := shim/check/check_report.c
CHECK_BIN_SRC := shim/check/main.c shim/check/check_probe.c shim/check/check_run.c \
                 shim/check/check_boot.c

$(LIBCHECK): $(call obj,$(CHECK_LIB_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(CHECK_BIN): $(call obj,$(CHECK_BIN_SRC)) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $(call obj,$(CHECK_BIN_SRC)) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

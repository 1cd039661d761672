# Unit tests: test/unit/test_<name>.c, one Check binary each, linked against every module lib
# (archives pull in only what a test uses).
UNIT_SRC    := $(wildcard test/unit/test_*.c)
UNIT_TESTS  := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
TEST_HELPER := $(call obj,$(wildcard test/unit/helpers/*.c))

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(TEST_HELPER) $$(TEST_EXTRA) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(TEST_HELPER) $(TEST_EXTRA) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL) $(CHECK_LIBS)

# The shim task-service tests share a harness whose fake hv replaces libhv by link seam: it is
# linked into them only (every other test may use the real hv).
SHIM_TASK_TESTS := $(BUILD)/test/test_shim_task $(BUILD)/test/test_shim_task_vm
$(SHIM_TASK_TESTS): TEST_EXTRA := $(call obj,test/unit/shim_task/harness.c)

# Fuzz targets: test/fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput. Under gcc they link
# with replay_main.c and replay test/fuzz/corpus/<name>/*; under clang with libFuzzer.
FUZZ_SRC    := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

# FUZZ_DRIVER: the replay main under gcc; "-fsanitize=fuzzer" for libFuzzer builds.
FUZZ_DRIVER ?= $(BUILD)/obj/test/fuzz/replay_main.o
$(BUILD)/fuzz/%: $(BUILD)/obj/test/fuzz/%.o $(filter %.o,$(FUZZ_DRIVER)) $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(FUZZ_DRIVER) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

unit: $(UNIT_TESTS) $(FUZZ_REPLAY)

# check: setup, build, then every tier; test/run-tests.sh prints the closing count line.
# build/asan: the unit tests, fuzz replays, drivers and host-side binaries under ASan+UBSan;
# run-tests.sh runs them and the e2e tiers of SAN_TESTS with that tree's shim and cvm-vsockd.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check: setup
	$(MAKE) all unit
	$(MAKE) BUILD=build/asan SAN="$(SAN_FLAGS)" unit san-e2e
	bash test/run-tests.sh

# The e2e tiers under the sanitizers use this tree's host-side binaries (the shim, cvm-vsockd,
# cvm-check; the drivers come with `unit`), the plain tree's QEMU and its guest assets: the agent in the
# initrd is static, PID 1 of a VM, with no ASan runtime to run on. cvm-agent-host is the agent
# linked dynamically, for 30-agent.sh to run sanitized as a host process (AGENT_RUN).
SAN_ASSETS ?= build
# cvm-vsockd's seccomp filter kills LeakSanitizer's exit scan: test/san/vsockd_asan_options.c
ifneq ($(findstring address,$(SAN)),)
$(BUILD)/bin/cvm-vsockd: LDLIBS_ALL += $(BUILD)/obj/test/san/vsockd_asan_options.o
$(BUILD)/bin/cvm-vsockd: $(BUILD)/obj/test/san/vsockd_asan_options.o
endif
.PHONY: san-e2e
san-e2e: $$(SHIM_BIN) $$(VSOCKD_BIN) $$(CHECK_BIN) $(BUILD)/drivers/cvm-agent-host
	$(Q)test -e $(SAN_ASSETS)/initrd.img -a -e $(SAN_ASSETS)/vmlinux -a -e $(SAN_ASSETS)/qemu-system-x86_64 || { echo "san-e2e: build $(SAN_ASSETS) first (make all)"; exit 1; }
	$(Q)ln -sfn $(abspath $(SAN_ASSETS)/vmlinux) $(BUILD)/vmlinux && cp $(SAN_ASSETS)/initrd.img $(BUILD)/initrd.img
	$(Q)ln -sfn $(abspath $(SAN_ASSETS)/qemu-system-x86_64) $(BUILD)/qemu-system-x86_64
$(BUILD)/drivers/cvm-agent-host: $(BUILD)/obj/agent/main.o $$(LIBAGENT) $$(LIBPROTO) $$(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBAGENT) $(LIBPROTO) $(LIBCOMMON) -Wl,--end-group $(LDLIBS_ALL)

# libFuzzer builds (clang) for long runs:  make fuzz; build/fuzzer/fuzz/fuzz_x -max_total_time=600 test/fuzz/corpus/fuzz_x
fuzz:
	$(MAKE) BUILD=build/fuzzer CC=clang SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  FUZZ_DRIVER="-fsanitize=fuzzer" WARN="-Wall -Wno-unused-command-line-argument" $(patsubst $(BUILD)/%,build/fuzzer/%,$(FUZZ_REPLAY))

# Test drivers of the lead's tiers (other drivers are built by their module's .mk).
$(BUILD)/drivers/ttrpc_forward: $(BUILD)/obj/test/drivers/ttrpc_forward.o $$(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)
unit: $(BUILD)/drivers/ttrpc_forward

# Benchmarks: every test/bench/*.sh, run against the build (never part of check).
bench: all
	$(Q)for b in test/bench/*.sh; do [ -f "$$b" ] || continue; echo "== $$b"; BUILD=$(BUILD) bash "$$b" || exit 1; done

# The main job: a container in a VM via a private containerd (README).
demo: setup
	$(MAKE) all
	bash test/demo.sh

# The hostile guest agent of test/e2e/62-hostile-agent.sh (static, never sanitized: it is PID 1
# of a VM) and its initrd, booted by the real shim through a runtime config's "initrd".
HOSTILE_AGENT  := $(BUILD)/test/guest/hostile_agent
HOSTILE_INITRD := $(BUILD)/test/hostile-initrd.img
$(HOSTILE_AGENT): $(addprefix $(BUILD)/obj/test/guest/,hostile_agent.o hostile_wire.o hostile_modes.o) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@ (static)"; $(CC) -static -o $@ $(filter %.o,$^) -Wl,--start-group $(LIBPROTO) $(LIBCOMMON) -Wl,--end-group $(shell pkg-config --static --libs libprotobuf-c)
$(HOSTILE_INITRD): $(HOSTILE_AGENT) initrd/mkinitrd.sh initrd/cpio_newc.py
	$(Q)echo "  INITRD  $@"; strip -o $@.init $< && initrd/mkinitrd.sh --no-modules --init $@.init --out $@ >/dev/null && rm -f $@.init
all: $(HOSTILE_INITRD)

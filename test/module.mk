# Unit tests: test/unit/test_<name>.c, one Check binary each, linked against every module lib
# (archives pull in only what a test uses).
UNIT_SRC    := $(wildcard test/unit/test_*.c)
UNIT_TESTS  := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
TEST_HELPER := $(call obj,$(wildcard test/unit/helpers/*.c))

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(TEST_HELPER) $(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(TEST_HELPER) -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL) $(CHECK_LIBS)

# Fuzz targets: test/fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput. Under gcc they link
# with replay_main.c and replay test/fuzz/corpus/<name>/*; under clang with libFuzzer.
FUZZ_SRC    := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

$(BUILD)/fuzz/%: $(BUILD)/obj/test/fuzz/%.o $(BUILD)/obj/test/fuzz/replay_main.o $(LIBS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< $(BUILD)/obj/test/fuzz/replay_main.o -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS_ALL)

unit: $(UNIT_TESTS) $(FUZZ_REPLAY)

# check: setup, build, then every tier; test/run-tests.sh prints the closing count line.
check: setup
	$(MAKE) all unit
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit
	bash test/run-tests.sh

# libFuzzer builds (clang), for long fuzzing runs: make fuzz; build/fuzzer/fuzz_x corpus/
FUZZ_LIBS_SRC = $(COMMON_SRC) $(PROTO_SRC) $(FUZZ_EXTRA_SRC)
fuzz: $(BUILD)/gen/.stamp
	@mkdir -p $(BUILD)/fuzzer
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); echo "  CLANG   $$n"; \
	  clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Iproto -Ihypervisor -Iconfig -I$(BUILD)/gen \
	    $$(pkg-config --cflags $(PKGS)) $$f $(FUZZ_LIBS_SRC) $(GEN_C) -o $(BUILD)/fuzzer/$$n $(LDLIBS_ALL) || exit 1; done

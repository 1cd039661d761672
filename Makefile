# containerd-shim-cvm-v1 — one Makefile; each folder adds its part in <dir>/module.mk.
#
#   make            build every binary and the initrd
#   make setup      install the Debian 12 packages the build and tests need (root, idempotent)
#   make check      setup + build + every test tier (unit, unit under ASan+UBSan, fuzz corpus
#                   replay, integration and end-to-end); ends with "N passed, N failed"
#   make fuzz       libFuzzer builds of the fuzz targets (clang)
#   make bench      benchmarks (never run by check)
#   make install    PREFIX=/usr/local DESTDIR=

BUILD   ?= build
CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=
Q       ?= @

PKGS    := libprotobuf-c jansson libseccomp libcap libnl-3.0 libnl-route-3.0 zlib
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -Wno-format-truncation
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(SAN) -fno-strict-aliasing $(WARN) \
             $(INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP

# Include paths: each module sees only the headers of the folders it may use (the floors that
# test/arch/file_graph.py checks on the objects), so a wrong include fails the build. Tests and
# drivers see everything. A folder's own headers are found next to its sources ("x.h").
INC = -Icommon -Iproto -Ihypervisor -Iconfig -Ishim -I$(BUILD)/gen
$(BUILD)/obj/common/%.o:            INC = -Icommon
$(BUILD)/obj/proto/%.o:             INC = -Icommon -Iproto -I$(BUILD)/gen
$(BUILD)/obj/gen/%.o:               INC = -I$(BUILD)/gen
$(BUILD)/obj/hypervisor/%.o:        INC = -Icommon -Ihypervisor
$(BUILD)/obj/hypervisor/vsockd/%.o: INC = -Icommon
$(BUILD)/obj/config/%.o:            INC = -Icommon -Ihypervisor
$(BUILD)/obj/agent/%.o:             INC = -Icommon -Iproto -I$(BUILD)/gen
$(BUILD)/obj/shim/%.o:              INC = -Icommon -Iproto -Ihypervisor -Iconfig -Ishim -I$(BUILD)/gen
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BINS        :=
UNIT_TESTS  :=
FUZZ_NAMES  :=
LIBS        :=
GEN_C       :=

# Rules name $$(LIBS) as prerequisites: expanded once every module.mk has added its library,
# whatever the include order.
.SECONDEXPANSION:
# Objects of tests and fuzz targets are intermediates of pattern chains: keep them, so a second
# `make` relinks nothing.
.SECONDARY:

.PHONY: all setup check unit fuzz bench install clean format-check format demo
all:

include common/module.mk
include proto/module.mk
-include hypervisor/module.mk
-include hypervisor/vsockd/module.mk
-include config/module.mk
-include agent/module.mk
-include initrd/module.mk
-include shim/module.mk
-include shim/check/module.mk
-include runtime/module.mk
include test/module.mk

all: $(BINS)

$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(Q)echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

setup:
	$(Q)bash config/deps.sh

# The house format (.clang-format) over every product source and header; `make format` applies it.
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' | grep -E '^(agent|common|config|hypervisor|proto|runtime|shim)/')
format-check:
	$(Q)clang-format-14 --style=file --dry-run --Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format says"
format:
	$(Q)clang-format-14 --style=file -i $(FORMAT_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Every .proto under proto/ is compiled by protoc-c into $(BUILD)/gen at build time
# (never committed). The ttrpc codec, server and client live beside them.
PROTO_FILES := $(shell find proto -name '*.proto' | sort)
GEN_C       := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTO_FILES))
GEN_H       := $(GEN_C:.c=.h)
PROTO_SRC   := $(wildcard proto/*.c)
LIBPROTO    := $(BUILD)/libproto.a
LIBS        += $(LIBPROTO)

# One protoc-c run generates every file: imports resolve within proto/.
$(BUILD)/gen/.stamp: $(PROTO_FILES)
	@mkdir -p $(BUILD)/gen
	$(Q)echo "  PROTOC  $(words $(PROTO_FILES)) files"; protoc-c -Iproto --c_out=$(BUILD)/gen $(PROTO_FILES)
	@touch $@
$(GEN_C) $(GEN_H): $(BUILD)/gen/.stamp

# Generated code: warnings on, but not fatal (its shape is protoc-c's, not ours).
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/.stamp
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -Werror,$(ALL_CFLAGS)) -c $< -o $@

GEN_OBJ := $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))

$(LIBPROTO): $(GEN_OBJ) $(call obj,$(PROTO_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

COMMON_SRC := $(wildcard common/*.c)
LIBCOMMON  := $(BUILD)/libcommon.a
LIBS += $(LIBCOMMON)

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

# config/: runtime config parser (jansson). libconfig.a goes into LIBS.
CONFIG_SRC := config/config.c
LIBCONFIG  := $(BUILD)/libcvmconfig.a
LIBS       += $(LIBCONFIG)

$(LIBCONFIG): $(call obj,$(CONFIG_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

# The guest agent (initrd PID 1): static binary cvm-agent, plus libagent.a (everything but
# main) for unit tests and fuzz targets.
AGENT_SRC      := $(filter-out agent/main.c,$(wildcard agent/*.c))
LIBAGENT       := $(BUILD)/libagent.a
LIBS           += $(LIBAGENT)
BINS           += $(BUILD)/bin/cvm-agent
AGENT_PKGS     := libprotobuf-c jansson libseccomp libcap
AGENT_STATIC   := $(shell pkg-config --static --libs $(AGENT_PKGS) 2>/dev/null)

$(LIBAGENT): $(call obj,$(AGENT_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(BUILD)/bin/cvm-agent: $(BUILD)/obj/agent/main.o $(LIBAGENT) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@ (static)"; $(CC) $(SAN) -static -o $@ $< -Wl,--start-group $(LIBAGENT) $(LIBPROTO) $(LIBCOMMON) -Wl,--end-group $(AGENT_STATIC)

# Host-side test client (test/drivers/agent_ctl.c) for test/e2e/30-agent.sh and 31-agent-vm.sh.
AGENT_CTL := $(BUILD)/drivers/agent_ctl
$(AGENT_CTL): $(BUILD)/obj/test/drivers/agent_ctl.o $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $< -Wl,--start-group $(LIBPROTO) $(LIBCOMMON) -Wl,--end-group $(LDLIBS_ALL)
unit: $(AGENT_CTL)

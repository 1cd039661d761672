# cvm-vsockd: the hybrid-vsock host side (vhost-user-vsock back end).
# The guest-facing parsing (virtqueues, vsock headers, vhost-user messages, the CONNECT line)
# is pure code in libvsockd.a so unit tests and fuzz targets link it; the binary adds the
# loop, sockets and sandbox around it.
VSOCKD_LIB_SRC := hypervisor/vsockd/virtq.c hypervisor/vsockd/vsock_pkt.c \
                  hypervisor/vsockd/vu_msg.c hypervisor/vsockd/handshake.c
VSOCKD_BIN_SRC := hypervisor/vsockd/main.c hypervisor/vsockd/conn.c hypervisor/vsockd/dev.c \
                  hypervisor/vsockd/vu_dev.c hypervisor/vsockd/vu_io.c \
                  hypervisor/vsockd/sandbox.c
LIBVSOCKD      := $(BUILD)/libvsockd.a
VSOCKD_BIN     := $(BUILD)/bin/cvm-vsockd
LIBS           += $(LIBVSOCKD)
BINS           += $(VSOCKD_BIN)

$(LIBVSOCKD): $(call obj,$(VSOCKD_LIB_SRC))
	$(Q)rm -f $@; ar rcs $@ $^

$(VSOCKD_BIN): $(call obj,$(VSOCKD_BIN_SRC)) $(LIBVSOCKD) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"; $(CC) $(SAN) -o $@ $(call obj,$(VSOCKD_BIN_SRC)) $(LIBVSOCKD) $(LIBCOMMON) $(LDLIBS_ALL)

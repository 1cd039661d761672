/* Fuzz vhost-user message validation and the CONNECT line parser (hypervisor/vsockd):
 * input = [0] fd count | vhost-user message bytes (header + payload). A message that passes
 * vu_msg_check() must have a size that fits the payload union; SET_MEM_TABLE tables are then
 * checked region by region; GET_CONFIG ranges must stay inside the 8-byte vsock config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsockd/handshake.h"
#include "vsockd/vu_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vu_msg m;
    uint32_t port;
    int r;

    if (size < 1)
        return 0;
    r = handshake_parse((const char *)data + 1, size - 1, &port);
    if (r > 0 && (size_t)r > size - 1)
        abort();
    memset(&m, 0, sizeof(m));
    memcpy(&m, data + 1, size - 1 < sizeof(m) ? size - 1 : sizeof(m));
    if (vu_msg_check(&m, data[0] % 10) == 0) {
        if (m.hdr.size > VU_MAX_PAYLOAD)
            abort();
        if (m.hdr.request == VHOST_USER_SET_MEM_TABLE) {
            if (m.p.mem.nregions == 0 || m.p.mem.nregions > VQ_MAX_REGIONS)
                abort();
            (void)vu_mem_table_check(&m.p.mem);
        }
        if (m.hdr.request == VHOST_USER_GET_CONFIG && vu_config_range_ok(&m.p.config, 8) &&
            m.p.config.offset + m.p.config.size > 8)
            abort();
    }
    return 0;
}

/* Fuzz the port-forward stream headers: the request the agent parses from the shim and the
 * reply the shim parses from the (untrusted) guest. Invariants: whatever parses re-encodes to
 * the same bytes (the parse is exact, nothing is ignored), values are in range, and short
 * input only ever says "more" (-EAGAIN). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portfwd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t back[8];
    uint16_t port = 0;
    int st = -1;
    int r = portfwd_req_parse(data, size, &port);
    if (size < PORTFWD_REQ_LEN && r != -EAGAIN)
        abort();
    if (r == 0) {
        portfwd_req_encode(port, back);
        if (port == 0 || memcmp(back, data, PORTFWD_REQ_LEN) != 0)
            abort();
    }
    r = portfwd_reply_parse(data, size, &st);
    if (size < PORTFWD_REPLY_LEN && r != -EAGAIN)
        abort();
    if (r == 0) {
        portfwd_reply_encode(st, back);
        if (st < 0 || st > (int)PORTFWD_STATUS_MAX || memcmp(back, data, PORTFWD_REPLY_LEN) != 0)
            abort();
    }
    return 0;
}

/* Fuzz the pool's control message decoder (shim/pool/pool_wire.h): a warm shim decodes what
 * any root process connecting to its socket sends. Invariants: a decoded message encodes back
 * to exactly the input bytes (the format has one encoding per message), and decodes again to
 * the same message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/pool/pool_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pool_msg m, back;
    static uint8_t buf[POOL_MSG_MAX];
    int n;

    if (pool_msg_decode(data, size, &m) != 0)
        return 0;
    n = pool_msg_encode(&m, buf, sizeof(buf));
    if (n < 0 || (size_t)n != size || memcmp(buf, data, size) != 0)
        abort();
    if (pool_msg_decode(buf, (size_t)n, &back) != 0 || memcmp(&m, &back, sizeof(m)) != 0)
        abort();
    return 0;
}

/* Fuzz the pure QMP layer the way the client uses it: frame lines out of an arbitrary byte
 * stream (with a small line cap, so the overlong path is reached), parse each line, and
 * re-encode a command from whatever event name or error class came out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        size_t len = 0, used = 0;
        struct qmp_msg m;
        int r = qmp_frame(data + off, size - off, 4096, &len, &used);
        if (r <= 0)
            break;
        if (qmp_parse_line((const char *)data + off, len, &m) == 0) {
            char *s = NULL;
            size_t n = 0;
            const char *name = m.kind == QMP_MSG_EVENT ? m.event : m.err_class;
            if (qmp_encode_command(name[0] ? name : "x", m.data, m.has_id ? m.id : 0, &s, &n) == 0) {
                if (n < 2 || memcmp(s + n - 2, "\r\n", 2) != 0)
                    abort();
                free(s);
            }
            qmp_msg_done(&m);
        }
        off += used;
    }
    return 0;
}

/* Fuzz the agent's rtnetlink reply parsers (agent/nl_msg.c) the way net.c uses them: split
 * a datagram into messages, then give every message to every parser (each must refuse the
 * wrong type, and never read past the message), and check what came out is in bounds.
 * Seeds (test/fuzz/corpus/fuzz_agent_netlink): real kernel dumps of links, addresses,
 * routes and neighbours of a veth set up like a configured guest, and an error ack with an
 * extended-ack text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../agent/nl_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *m, size_t len)
{
    struct nl_hdr h;
    struct nl_link l;
    struct nl_addr a;
    struct nl_route r;
    struct nl_neigh n;
    char ext[64];
    int e = 1;

    if (nl_parse_hdr(m, len, &h) == 0 && (h.len < 16 || h.len > len))
        abort();
    if (nl_parse_link(m, len, &l) == 0 && (strnlen(l.name, IFNAMSIZ) >= IFNAMSIZ || !l.name[0] || l.mac_len > NL_LLADDR_MAX))
        abort();
    if (nl_parse_addr(m, len, &a) == 0 && nl_addr_len(a.family) && a.prefix > nl_addr_len(a.family) * 8)
        abort();
    if (nl_parse_route(m, len, &r) == 0 && nl_addr_len(r.family) && r.dst_len > nl_addr_len(r.family) * 8)
        abort();
    if (nl_parse_neigh(m, len, &n) == 0 && n.lladdr_len > NL_LLADDR_MAX)
        abort();
    if (nl_parse_ack(m, len, &e, ext, sizeof(ext)) == 0 && (e > 0 || e < -4095 || strnlen(ext, sizeof(ext)) >= sizeof(ext)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: any read past the end is a sanitizer report. */
    uint8_t *buf = malloc(size ? size : 1);
    const uint8_t *m;
    size_t off = 0, ml;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    while (nl_next(buf, size, &off, &m, &ml) > 0) {
        if (m < buf || ml < 16 || (size_t)(m - buf) + ml > size)
            abort();
        one(m, ml);
        /* with the rest of the datagram as the bound: the header's length still rules */
        one(m, size - (size_t)(m - buf));
    }
    one(buf, size);
    free(buf);
    return 0;
}

/* agent/nl_msg.c: the builders byte-exact against hand-assembled messages, the parsers on
 * kernel-like dumps, every truncation of them and bad attributes, the acks. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/net.h"
#include "../../agent/nl_msg.h"
#include "../../agent/rpc.h"
#include "agent.pb-c.h"
#include "check_main.h"
#include "cleanup.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"

/* ---- a hand assembler: native byte order, 4-byte alignment, as netlink is ---- */

struct mb {
    uint8_t b[4096];
    size_t n;
};

static void raw(struct mb *m, const void *d, size_t n)
{
    ck_assert_uint_le(m->n + n, sizeof(m->b));
    memcpy(m->b + m->n, d, n);
    m->n += n;
}
static void u8(struct mb *m, uint8_t v) { raw(m, &v, 1); }
static void u16(struct mb *m, uint16_t v) { raw(m, &v, 2); }
static void u32(struct mb *m, uint32_t v) { raw(m, &v, 4); }
static void pad(struct mb *m)
{
    while (m->n % 4)
        u8(m, 0);
}
static void attr(struct mb *m, uint16_t type, const void *d, size_t n)
{
    u16(m, (uint16_t)(4 + n));
    u16(m, type);
    raw(m, d, n);
    pad(m);
}
static void attr32(struct mb *m, uint16_t type, uint32_t v) { attr(m, type, &v, 4); }
static size_t hdr(struct mb *m, uint16_t type, uint16_t flags, uint32_t seq)
{
    size_t at = m->n;
    u32(m, 0);
    u16(m, type);
    u16(m, flags);
    u32(m, seq);
    u32(m, 0);
    return at;
}
static void end(struct mb *m, size_t at)
{
    uint32_t l = (uint32_t)(m->n - at);
    memcpy(m->b + at, &l, 4);
}
static void ip4(const char *s, uint8_t *a) { ck_assert_int_eq(inet_pton(AF_INET, s, a), 1); }
static void ip6(const char *s, uint8_t *a) { ck_assert_int_eq(inet_pton(AF_INET6, s, a), 1); }

static const uint8_t MAC[6] = {0x02, 0x42, 0x0a, 0xfa, 0x00, 0x02};

/* Build with the builder, compare, and check every smaller buffer is refused. */
#define CHECK_BUILT(fn, arg, exp)                                                                 \
    do {                                                                                          \
        uint8_t _b[512];                                                                          \
        int _n = fn(_b, sizeof(_b), 9, (arg));                                                    \
        ck_assert_int_eq(_n, (int)(exp)->n);                                                      \
        ck_assert_mem_eq(_b, (exp)->b, (exp)->n);                                                 \
        for (size_t _c = 0; _c < (exp)->n; _c++)                                                  \
            ck_assert_int_eq(fn(_b, _c, 9, (arg)), -ENOBUFS);                                     \
    } while (0)

START_TEST(build_setlink)
{
    struct mb e = {0};
    struct nl_link_set s = {.ifindex = 3, .netns_fd = 7, .ifname = "eth0", .mac = MAC, .mtu = 1400, .up = true};
    size_t at = hdr(&e, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 9);
    u8(&e, AF_UNSPEC); u8(&e, 0); u16(&e, 0); u32(&e, 3); u32(&e, IFF_UP); u32(&e, IFF_UP); /* ifinfomsg */
    attr32(&e, IFLA_NET_NS_FD, 7);
    attr(&e, IFLA_IFNAME, "eth0", 5);
    attr(&e, IFLA_ADDRESS, MAC, 6);
    attr32(&e, IFLA_MTU, 1400);
    end(&e, at);
    ck_assert_uint_eq(e.n, 72);
    CHECK_BUILT(nl_build_setlink, &s, &e);

    /* only what is asked: a bare "up" */
    struct mb e2 = {0};
    struct nl_link_set s2 = {.ifindex = 5, .netns_fd = -1, .up = true};
    at = hdr(&e2, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 9);
    u8(&e2, AF_UNSPEC); u8(&e2, 0); u16(&e2, 0); u32(&e2, 5); u32(&e2, IFF_UP); u32(&e2, IFF_UP);
    end(&e2, at);
    CHECK_BUILT(nl_build_setlink, &s2, &e2);

    uint8_t b[256];
    struct nl_link_set bad = {.ifindex = 1, .netns_fd = -1, .ifname = "sixteen-chars-xx"};
    ck_assert_int_eq(nl_build_setlink(b, sizeof(b), 1, &bad), -EINVAL);
    bad.ifname = "";
    ck_assert_int_eq(nl_build_setlink(b, sizeof(b), 1, &bad), -EINVAL);
}
END_TEST

START_TEST(build_newaddr)
{
    uint8_t a4[4], bc[4], a6[16];
    ip4("10.250.0.2", a4);
    ip4("10.250.0.255", bc);
    ip6("fd00:250::2", a6);
    const uint16_t fl = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

    struct mb e = {0};
    struct nl_addr_add a = {.ifindex = 2, .family = AF_INET, .addr = a4, .prefix = 24};
    size_t at = hdr(&e, RTM_NEWADDR, fl, 9);
    u8(&e, AF_INET); u8(&e, 24); u8(&e, 0); u8(&e, RT_SCOPE_UNIVERSE); u32(&e, 2);
    attr(&e, IFA_LOCAL, a4, 4);
    attr(&e, IFA_ADDRESS, a4, 4);
    attr(&e, IFA_BROADCAST, bc, 4);
    end(&e, at);
    ck_assert_uint_eq(e.n, 48);
    CHECK_BUILT(nl_build_newaddr, &a, &e);

    /* /31 and /32: no broadcast */
    struct mb e31 = {0};
    struct nl_addr_add a31 = {.ifindex = 2, .family = AF_INET, .addr = a4, .prefix = 31};
    at = hdr(&e31, RTM_NEWADDR, fl, 9);
    u8(&e31, AF_INET); u8(&e31, 31); u8(&e31, 0); u8(&e31, RT_SCOPE_UNIVERSE); u32(&e31, 2);
    attr(&e31, IFA_LOCAL, a4, 4);
    attr(&e31, IFA_ADDRESS, a4, 4);
    end(&e31, at);
    CHECK_BUILT(nl_build_newaddr, &a31, &e31);

    /* a /20 broadcast crosses a byte boundary */
    uint8_t b20[4], want20[4];
    ip4("172.16.5.9", b20);
    ip4("172.16.15.255", want20);
    struct mb e20 = {0};
    struct nl_addr_add a20 = {.ifindex = 4, .family = AF_INET, .addr = b20, .prefix = 20};
    at = hdr(&e20, RTM_NEWADDR, fl, 9);
    u8(&e20, AF_INET); u8(&e20, 20); u8(&e20, 0); u8(&e20, RT_SCOPE_UNIVERSE); u32(&e20, 4);
    attr(&e20, IFA_LOCAL, b20, 4);
    attr(&e20, IFA_ADDRESS, b20, 4);
    attr(&e20, IFA_BROADCAST, want20, 4);
    end(&e20, at);
    CHECK_BUILT(nl_build_newaddr, &a20, &e20);

    struct mb e6 = {0};
    struct nl_addr_add b6 = {.ifindex = 2, .family = AF_INET6, .addr = a6, .prefix = 64};
    at = hdr(&e6, RTM_NEWADDR, fl, 9);
    u8(&e6, AF_INET6); u8(&e6, 64); u8(&e6, IFA_F_NODAD); u8(&e6, RT_SCOPE_UNIVERSE); u32(&e6, 2);
    attr(&e6, IFA_ADDRESS, a6, 16);
    end(&e6, at);
    ck_assert_uint_eq(e6.n, 44);
    CHECK_BUILT(nl_build_newaddr, &b6, &e6);

    uint8_t b[256];
    struct nl_addr_add bad = {.ifindex = 2, .family = AF_INET, .addr = a4, .prefix = 33};
    ck_assert_int_eq(nl_build_newaddr(b, sizeof(b), 1, &bad), -EINVAL);
    bad.family = AF_UNIX;
    ck_assert_int_eq(nl_build_newaddr(b, sizeof(b), 1, &bad), -EINVAL);
}
END_TEST

START_TEST(build_newroute)
{
    uint8_t gw6[16], dst4[4], src4[4];
    ip6("fe80::1", gw6);
    ip4("10.251.0.0", dst4);
    ip4("10.250.0.2", src4);
    const uint16_t fl = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

    /* IPv6 default via a gateway, metric */
    struct mb e = {0};
    struct nl_route_add r = {.family = AF_INET6, .gw = gw6, .oif = 2, .metric = 1024};
    size_t at = hdr(&e, RTM_NEWROUTE, fl, 9);
    u8(&e, AF_INET6); u8(&e, 0); u8(&e, 0); u8(&e, 0);
    u8(&e, RT_TABLE_MAIN); u8(&e, RTPROT_BOOT); u8(&e, RT_SCOPE_UNIVERSE); u8(&e, RTN_UNICAST); u32(&e, 0);
    attr(&e, RTA_GATEWAY, gw6, 16);
    attr32(&e, RTA_OIF, 2);
    attr32(&e, RTA_PRIORITY, 1024);
    end(&e, at);
    ck_assert_uint_eq(e.n, 64);
    CHECK_BUILT(nl_build_newroute, &r, &e);

    /* IPv4 on-link prefix with a preferred source: scope link */
    struct mb e4 = {0};
    struct nl_route_add r4 = {.family = AF_INET, .dst = dst4, .dst_len = 16, .oif = 2, .prefsrc = src4};
    at = hdr(&e4, RTM_NEWROUTE, fl, 9);
    u8(&e4, AF_INET); u8(&e4, 16); u8(&e4, 0); u8(&e4, 0);
    u8(&e4, RT_TABLE_MAIN); u8(&e4, RTPROT_BOOT); u8(&e4, RT_SCOPE_LINK); u8(&e4, RTN_UNICAST); u32(&e4, 0);
    attr(&e4, RTA_DST, dst4, 4);
    attr32(&e4, RTA_OIF, 2);
    attr(&e4, RTA_PREFSRC, src4, 4);
    end(&e4, at);
    CHECK_BUILT(nl_build_newroute, &r4, &e4);

    uint8_t b[256];
    struct nl_route_add bad = {.family = AF_INET, .dst = dst4, .dst_len = 40};
    ck_assert_int_eq(nl_build_newroute(b, sizeof(b), 1, &bad), -EINVAL);
}
END_TEST

START_TEST(build_newneigh_and_dump)
{
    uint8_t a4[4];
    ip4("10.250.0.1", a4);
    struct mb e = {0};
    struct nl_neigh_add n = {.family = AF_INET, .ifindex = 2, .addr = a4, .lladdr = MAC};
    size_t at = hdr(&e, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 9);
    u8(&e, AF_INET); u8(&e, 0); u16(&e, 0); u32(&e, 2); u16(&e, NUD_PERMANENT); u8(&e, 0); u8(&e, 0);
    attr(&e, NDA_DST, a4, 4);
    attr(&e, NDA_LLADDR, MAC, 6);
    end(&e, at);
    ck_assert_uint_eq(e.n, 48);
    CHECK_BUILT(nl_build_newneigh, &n, &e);

    static const struct {
        uint16_t type;
        size_t fam_len;
    } dumps[] = {{RTM_GETLINK, 16}, {RTM_GETADDR, 8}, {RTM_GETROUTE, 12}, {RTM_GETNEIGH, 12}};
    for (size_t i = 0; i < ELEMENTSOF(dumps); i++) {
        struct mb d = {0};
        uint8_t b[64];
        at = hdr(&d, dumps[i].type, NLM_F_REQUEST | NLM_F_DUMP, 9);
        u8(&d, AF_INET6);
        for (size_t k = 1; k < dumps[i].fam_len; k++)
            u8(&d, 0);
        end(&d, at);
        ck_assert_int_eq(nl_build_dump(b, sizeof(b), 9, dumps[i].type, AF_INET6), (int)d.n);
        ck_assert_mem_eq(b, d.b, d.n);
        ck_assert_int_eq(nl_build_dump(b, d.n - 1, 9, dumps[i].type, AF_INET6), -ENOBUFS);
    }
    uint8_t b[64];
    ck_assert_int_eq(nl_build_dump(b, sizeof(b), 1, RTM_NEWROUTE, 0), -EINVAL);
    ck_assert_int_eq(nl_build_dump(b, sizeof(b), 1, NLMSG_DONE, 0), -EINVAL);
}
END_TEST

/* ---- parsers: a kernel-like dump datagram ---- */

static size_t m_link, m_addr4, m_addr6, m_route4, m_route6, m_neigh, m_done; /* offsets */

static void dump_datagram(struct mb *m)
{
    uint8_t a4[4], a6[16], ll6[16], gw4[4], dst6[16], stats[200], bc[4];
    memset(stats, 0x5a, sizeof(stats));
    ip4("10.250.0.2", a4);
    ip4("10.250.0.255", bc);
    ip6("fd00:250::2", a6);
    ip6("fe80::42:aff:fefa:2", ll6);
    ip4("10.250.0.1", gw4);
    ip6("fd00:250::", dst6);
    *m = (struct mb){0};

    m_link = hdr(m, RTM_NEWLINK, NLM_F_MULTI, 77);
    u8(m, AF_UNSPEC); u8(m, 0); u16(m, 1 /* ARPHRD_ETHER */); u32(m, 2); u32(m, IFF_UP | IFF_BROADCAST); u32(m, 0);
    attr(m, IFLA_IFNAME, "eth0", 5);
    attr32(m, IFLA_TXQLEN, 1000);
    attr32(m, IFLA_MTU, 1400);
    attr(m, IFLA_ADDRESS, MAC, 6);
    attr(m, IFLA_BROADCAST, "\xff\xff\xff\xff\xff\xff", 6);
    attr(m, IFLA_STATS64, stats, sizeof(stats));
    {   /* a nested attribute, flagged as the kernel does */
        struct mb nest = {0};
        attr(&nest, 1 /* IFLA_INFO_KIND */, "veth", 5);
        attr(m, IFLA_LINKINFO | NLA_F_NESTED, nest.b, nest.n);
    }
    end(m, m_link);

    m_addr4 = hdr(m, RTM_NEWADDR, NLM_F_MULTI, 77);
    u8(m, AF_INET); u8(m, 24); u8(m, IFA_F_PERMANENT); u8(m, RT_SCOPE_UNIVERSE); u32(m, 2);
    attr(m, IFA_ADDRESS, a4, 4);
    attr(m, IFA_LOCAL, a4, 4);
    attr(m, IFA_BROADCAST, bc, 4);
    attr(m, IFA_LABEL, "eth0", 5);
    attr32(m, IFA_FLAGS, IFA_F_PERMANENT);
    end(m, m_addr4);

    m_addr6 = hdr(m, RTM_NEWADDR, NLM_F_MULTI, 77);
    u8(m, AF_INET6); u8(m, 64); u8(m, 0); u8(m, RT_SCOPE_LINK); u32(m, 2);
    attr(m, IFA_ADDRESS, ll6, 16);
    attr32(m, IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NODAD);
    end(m, m_addr6);

    m_route4 = hdr(m, RTM_NEWROUTE, NLM_F_MULTI, 77);
    u8(m, AF_INET); u8(m, 0); u8(m, 0); u8(m, 0);
    u8(m, RT_TABLE_MAIN); u8(m, RTPROT_BOOT); u8(m, RT_SCOPE_UNIVERSE); u8(m, RTN_UNICAST); u32(m, 0);
    attr32(m, RTA_TABLE, RT_TABLE_MAIN);
    attr(m, RTA_GATEWAY, gw4, 4);
    attr32(m, RTA_OIF, 2);
    end(m, m_route4);

    m_route6 = hdr(m, RTM_NEWROUTE, NLM_F_MULTI, 77);
    u8(m, AF_INET6); u8(m, 64); u8(m, 0); u8(m, 0);
    u8(m, RT_TABLE_MAIN); u8(m, RTPROT_KERNEL); u8(m, RT_SCOPE_UNIVERSE); u8(m, RTN_UNICAST); u32(m, 0);
    attr32(m, RTA_TABLE, RT_TABLE_MAIN);
    attr(m, RTA_DST, dst6, 16);
    attr32(m, RTA_PRIORITY, 256);
    attr32(m, RTA_OIF, 2);
    attr(m, RTA_CACHEINFO, stats, 32);
    u16(m, 5); u16(m, RTA_PREF); u8(m, 0); pad(m);
    end(m, m_route6);

    m_neigh = hdr(m, RTM_NEWNEIGH, NLM_F_MULTI, 77);
    u8(m, AF_INET); u8(m, 0); u16(m, 0); u32(m, 2); u16(m, NUD_PERMANENT); u8(m, 0); u8(m, 1);
    attr(m, NDA_DST, gw4, 4);
    attr(m, NDA_LLADDR, MAC, 6);
    attr(m, NDA_CACHEINFO, stats, 16);
    end(m, m_neigh);

    m_done = hdr(m, NLMSG_DONE, NLM_F_MULTI, 77);
    u32(m, 0);
    end(m, m_done);
}

START_TEST(parse_dump)
{
    struct mb m;
    dump_datagram(&m);
    size_t off = 0, ml, k = 0;
    const uint8_t *msg;
    size_t offsets[] = {m_link, m_addr4, m_addr6, m_route4, m_route6, m_neigh, m_done};
    while (nl_next(m.b, m.n, &off, &msg, &ml) == 1) {
        ck_assert_uint_lt(k, ELEMENTSOF(offsets));
        ck_assert_ptr_eq(msg, m.b + offsets[k]);
        k++;
    }
    ck_assert_uint_eq(k, ELEMENTSOF(offsets));
    ck_assert_uint_eq(off, m.n);

    struct nl_link l;
    ck_assert_int_eq(nl_parse_link(m.b + m_link, m.n - m_link, &l), 0);
    ck_assert_str_eq(l.name, "eth0");
    ck_assert_int_eq(l.ifindex, 2);
    ck_assert_uint_eq(l.mtu, 1400);
    ck_assert_uint_eq(l.mac_len, 6);
    ck_assert_mem_eq(l.mac, MAC, 6);
    ck_assert(l.flags & IFF_UP);

    struct nl_addr a;
    uint8_t want[16];
    ck_assert_int_eq(nl_parse_addr(m.b + m_addr4, m.n - m_addr4, &a), 0);
    ip4("10.250.0.2", want);
    ck_assert(a.has_addr && a.family == AF_INET && a.prefix == 24 && a.ifindex == 2);
    ck_assert_mem_eq(a.addr, want, 4);
    ck_assert_int_eq(nl_parse_addr(m.b + m_addr6, m.n - m_addr6, &a), 0);
    ip6("fe80::42:aff:fefa:2", want);
    ck_assert(a.has_addr && a.family == AF_INET6 && a.prefix == 64 && a.scope == RT_SCOPE_LINK);
    ck_assert_uint_eq(a.flags, IFA_F_PERMANENT | IFA_F_NODAD);
    ck_assert_mem_eq(a.addr, want, 16);

    struct nl_route r;
    ck_assert_int_eq(nl_parse_route(m.b + m_route4, m.n - m_route4, &r), 0);
    ip4("10.250.0.1", want);
    ck_assert(r.family == AF_INET && r.table == RT_TABLE_MAIN && r.dst_len == 0 && !r.has_dst && r.has_gw);
    ck_assert_mem_eq(r.gw, want, 4);
    ck_assert_int_eq(r.oif, 2);
    ck_assert_int_eq(nl_parse_route(m.b + m_route6, m.n - m_route6, &r), 0);
    ip6("fd00:250::", want);
    ck_assert(r.family == AF_INET6 && r.has_dst && r.dst_len == 64 && !r.has_gw && r.priority == 256);
    ck_assert_uint_eq(r.protocol, RTPROT_KERNEL);
    ck_assert_mem_eq(r.dst, want, 16);

    struct nl_neigh n;
    ck_assert_int_eq(nl_parse_neigh(m.b + m_neigh, m.n - m_neigh, &n), 0);
    ck_assert(n.family == AF_INET && n.ifindex == 2 && n.state == NUD_PERMANENT && n.has_dst);
    ck_assert_uint_eq(n.lladdr_len, 6);
    ck_assert_mem_eq(n.lladdr, MAC, 6);

    int e = 1;
    ck_assert_int_eq(nl_parse_ack(m.b + m_done, m.n - m_done, &e, NULL, 0), 0);
    ck_assert_int_eq(e, 0);

    /* the wrong parser for a type says so */
    ck_assert_int_eq(nl_parse_link(m.b + m_addr4, m.n - m_addr4, &l), -ENOMSG);
    ck_assert_int_eq(nl_parse_route(m.b + m_link, m.n - m_link, &r), -ENOMSG);
    ck_assert_int_eq(nl_parse_neigh(m.b + m_route4, m.n - m_route4, &n), -ENOMSG);
    ck_assert_int_eq(nl_parse_ack(m.b + m_link, m.n - m_link, &e, NULL, 0), -ENOMSG);
}
END_TEST

/* Any parser on any input: 0, -EBADMSG or -ENOMSG, and nothing read past len (the copy is
 * exactly len bytes, for ASan). */
static void parse_all(const uint8_t *src, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, src, len);
    struct nl_link l;
    struct nl_addr a;
    struct nl_route r;
    struct nl_neigh n;
    struct nl_hdr h;
    char ext[32];
    int e, rc;
#define OK(x) (rc = (x), ck_assert_msg(rc == 0 || rc == -EBADMSG || rc == -ENOMSG, "rc %d at len %zu", rc, len))
    OK(nl_parse_hdr(b, len, &h));
    OK(nl_parse_link(b, len, &l));
    OK(nl_parse_addr(b, len, &a));
    OK(nl_parse_route(b, len, &r));
    OK(nl_parse_neigh(b, len, &n));
    OK(nl_parse_ack(b, len, &e, ext, sizeof(ext)));
#undef OK
    free(b);
}

START_TEST(parse_truncations)
{
    struct mb m;
    dump_datagram(&m);
    size_t offsets[] = {m_link, m_addr4, m_addr6, m_route4, m_route6, m_neigh, m_done};
    for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
        const uint8_t *msg = m.b + offsets[i];
        uint32_t full;
        memcpy(&full, msg, 4);
        /* the buffer cut short: the header's length no longer fits */
        for (size_t cut = 0; cut < full; cut++) {
            struct nl_hdr h;
            ck_assert_int_eq(nl_parse_hdr(msg, cut, &h), -EBADMSG);
            parse_all(msg, cut);
        }
        /* the message claiming to be shorter (cut attribute): parsed or refused, in bounds */
        for (uint32_t claim = 0; claim < full; claim++) {
            uint8_t copy[4096];
            memcpy(copy, msg, full);
            memcpy(copy, &claim, 4);
            parse_all(copy, claim < 16 ? 16 : claim);
        }
    }
    /* the datagram cut at every byte: whole messages come out, then an error or the end */
    for (size_t cut = 0; cut <= m.n; cut++) {
        size_t off = 0, ml, got = 0;
        const uint8_t *msg;
        int r;
        while ((r = nl_next(m.b, cut, &off, &msg, &ml)) == 1) {
            ck_assert_uint_le((size_t)(msg - m.b) + ml, cut);
            got++;
        }
        ck_assert(r == 0 || r == -EBADMSG);
        ck_assert_uint_le(got, 7);
    }
}
END_TEST

START_TEST(parse_bad_attrs)
{
    /* an IFLA_MTU of 2 bytes, an unterminated name, an address of the wrong size */
    struct mb m = {0};
    size_t at = hdr(&m, RTM_NEWLINK, 0, 1);
    u8(&m, 0); u8(&m, 0); u16(&m, 1); u32(&m, 2); u32(&m, 0); u32(&m, 0);
    attr(&m, IFLA_IFNAME, "eth0", 5);
    attr(&m, IFLA_MTU, "\x01\x02", 2);
    end(&m, at);
    struct nl_link l;
    ck_assert_int_eq(nl_parse_link(m.b, m.n, &l), -EBADMSG);

    m = (struct mb){0};
    at = hdr(&m, RTM_NEWLINK, 0, 1);
    u8(&m, 0); u8(&m, 0); u16(&m, 1); u32(&m, 2); u32(&m, 0); u32(&m, 0);
    attr(&m, IFLA_IFNAME, "eth0eth0", 8);
    end(&m, at);
    ck_assert_int_eq(nl_parse_link(m.b, m.n, &l), -EBADMSG);

    m = (struct mb){0};
    at = hdr(&m, RTM_NEWLINK, 0, 1);
    u8(&m, 0); u8(&m, 0); u16(&m, 1); u32(&m, 2); u32(&m, 0); u32(&m, 0);
    attr32(&m, IFLA_MTU, 1500); /* no name at all */
    end(&m, at);
    ck_assert_int_eq(nl_parse_link(m.b, m.n, &l), -EBADMSG);

    m = (struct mb){0};
    at = hdr(&m, RTM_NEWROUTE, 0, 1);
    u8(&m, AF_INET6); u8(&m, 129); u8(&m, 0); u8(&m, 0); u8(&m, 254); u8(&m, 4); u8(&m, 0); u8(&m, 1); u32(&m, 0);
    end(&m, at);
    struct nl_route r;
    ck_assert_int_eq(nl_parse_route(m.b, m.n, &r), -EBADMSG); /* prefix past 128 */

    m = (struct mb){0};
    at = hdr(&m, RTM_NEWADDR, 0, 1);
    u8(&m, AF_INET); u8(&m, 24); u8(&m, 0); u8(&m, 0); u32(&m, 2);
    attr(&m, IFA_ADDRESS, "\x0a\x00\x00\x01\x00\x00", 6);
    end(&m, at);
    struct nl_addr a;
    ck_assert_int_eq(nl_parse_addr(m.b, m.n, &a), -EBADMSG);

    /* an attribute whose length runs past the message */
    m = (struct mb){0};
    at = hdr(&m, RTM_NEWNEIGH, 0, 1);
    u8(&m, AF_INET); u8(&m, 0); u16(&m, 0); u32(&m, 2); u16(&m, NUD_PERMANENT); u8(&m, 0); u8(&m, 0);
    u16(&m, 40); u16(&m, NDA_DST); u32(&m, 0x0100000a);
    end(&m, at);
    struct nl_neigh n;
    ck_assert_int_eq(nl_parse_neigh(m.b, m.n, &n), -EBADMSG);
    /* and one shorter than its own header */
    m = (struct mb){0};
    at = hdr(&m, RTM_NEWNEIGH, 0, 1);
    u8(&m, AF_INET); u8(&m, 0); u16(&m, 0); u32(&m, 2); u16(&m, NUD_PERMANENT); u8(&m, 0); u8(&m, 0);
    u16(&m, 2); u16(&m, NDA_DST);
    end(&m, at);
    ck_assert_int_eq(nl_parse_neigh(m.b, m.n, &n), -EBADMSG);
}
END_TEST

START_TEST(parse_acks)
{
    char ext[64];
    int e = 0;
    /* capped error with an extended-ack message */
    struct mb m = {0};
    size_t at = hdr(&m, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 5);
    u32(&m, (uint32_t)-ENETUNREACH);
    u32(&m, 44); u16(&m, RTM_NEWROUTE); u16(&m, 0x605); u32(&m, 5); u32(&m, 0); /* the request's header */
    attr(&m, NLMSGERR_ATTR_MSG, "Nexthop has invalid gateway", 28);
    end(&m, at);
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, ext, sizeof(ext)), 0);
    ck_assert_int_eq(e, -ENETUNREACH);
    ck_assert_str_eq(ext, "Nexthop has invalid gateway");
    /* a small ext buffer truncates, still terminated */
    char small[8];
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, small, sizeof(small)), 0);
    ck_assert_str_eq(small, "Nexthop");
    for (size_t cut = 0; cut < m.n; cut++)
        parse_all(m.b, cut);

    /* uncapped: the TLVs follow the whole request */
    m = (struct mb){0};
    at = hdr(&m, NLMSG_ERROR, NLM_F_ACK_TLVS, 6);
    u32(&m, (uint32_t)-EEXIST);
    u32(&m, 24); u16(&m, RTM_NEWADDR); u16(&m, 0x605); u32(&m, 6); u32(&m, 0);
    u32(&m, 0x18000202); u32(&m, 2); /* the request's ifaddrmsg */
    attr(&m, NLMSGERR_ATTR_MSG, "exists", 7);
    end(&m, at);
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, ext, sizeof(ext)), 0);
    ck_assert_int_eq(e, -EEXIST);
    ck_assert_str_eq(ext, "exists");
    /* ... whose claimed length overruns */
    uint32_t big = 4000;
    memcpy(m.b + 20, &big, 4);
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, ext, sizeof(ext)), -EBADMSG);

    /* a plain ack; an error code out of range */
    m = (struct mb){0};
    at = hdr(&m, NLMSG_ERROR, NLM_F_CAPPED, 7);
    u32(&m, 0);
    u32(&m, 16); u16(&m, RTM_NEWLINK); u16(&m, 5); u32(&m, 7); u32(&m, 0);
    end(&m, at);
    e = 1;
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, ext, sizeof(ext)), 0);
    ck_assert_int_eq(e, 0);
    ck_assert_str_eq(ext, "");
    uint32_t pos = 5;
    memcpy(m.b + 16, &pos, 4);
    ck_assert_int_eq(nl_parse_ack(m.b, m.n, &e, ext, sizeof(ext)), -EBADMSG);
    ck_assert_int_eq(nl_parse_ack(m.b, 30, &e, ext, sizeof(ext)), -EBADMSG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_nl_msg");
    TCase *tc = tcase_create("nl_msg");
    tcase_add_test(tc, build_setlink);
    tcase_add_test(tc, build_newaddr);
    tcase_add_test(tc, build_newroute);
    tcase_add_test(tc, build_newneigh_and_dump);
    tcase_add_test(tc, parse_dump);
    tcase_add_test(tc, parse_truncations);
    tcase_add_test(tc, parse_bad_attrs);
    tcase_add_test(tc, parse_acks);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

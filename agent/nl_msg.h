/* rtnetlink messages, pure: builders write one request into a caller buffer, parsers read
 * one message of a kernel reply into a small struct. No sockets here (net.c has them).
 *
 * Builders return the message length, or -ENOBUFS when cap is too small. Parsers take the
 * bytes of one message (nl_next() splits a datagram into messages), never read past len,
 * copy every header and attribute out with memcpy (replies in a fuzz buffer need not be
 * aligned), and return 0, -EBADMSG for a malformed or truncated message, or -ENOMSG when
 * the message is of another type. Unknown attributes are ignored. */
#ifndef CVM_AGENT_NL_MSG_H
#define CVM_AGENT_NL_MSG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NL_LLADDR_MAX 32 /* bytes of a link-layer address we keep (IFLA_ADDRESS, NDA_LLADDR) */

/* ---- builders ---- */

struct nl_link_set {
    int ifindex;
    int netns_fd;       /* >= 0: move to that network namespace (IFLA_NET_NS_FD) */
    const char *ifname; /* NULL: keep */
    const uint8_t *mac; /* 6 bytes; NULL: keep */
    uint32_t mtu;       /* 0: keep */
    bool up;            /* set IFF_UP */
};

struct nl_addr_add {
    int ifindex;
    int family; /* AF_INET, AF_INET6 */
    const uint8_t *addr;
    uint8_t prefix;
};

struct nl_route_add {
    int family;
    const uint8_t *dst; /* NULL: default route (dst_len 0) */
    uint8_t dst_len;
    const uint8_t *gw; /* NULL: on-link, scope link */
    int oif;           /* 0: none */
    uint32_t metric;   /* 0: none (the kernel's default) */
    const uint8_t *prefsrc;
    bool onlink; /* RTNH_F_ONLINK: the gateway is on the link though in no prefix */
};

struct nl_neigh_add {
    int family;
    int ifindex;
    const uint8_t *addr;
    const uint8_t *lladdr; /* 6 bytes */
};

/* RTM_NEWLINK (change an existing link), flags REQUEST|ACK. */
int nl_build_setlink(void *buf, size_t cap, uint32_t seq, const struct nl_link_set *s);
/* RTM_NEWADDR, REQUEST|ACK|CREATE|EXCL, scope universe; IPv4 gets IFA_LOCAL, IFA_ADDRESS
 * and IFA_BROADCAST (for prefixes < 31), IPv6 IFA_ADDRESS and IFA_F_NODAD (usable at once). */
int nl_build_newaddr(void *buf, size_t cap, uint32_t seq, const struct nl_addr_add *a);
/* RTM_NEWROUTE, REQUEST|ACK|CREATE|EXCL, main table, RTPROT_BOOT (as `ip route add`),
 * unicast; scope universe with a gateway, link without. */
int nl_build_newroute(void *buf, size_t cap, uint32_t seq, const struct nl_route_add *r);
/* RTM_NEWNEIGH, REQUEST|ACK|CREATE|REPLACE, NUD_PERMANENT. */
int nl_build_newneigh(void *buf, size_t cap, uint32_t seq, const struct nl_neigh_add *n);
/* A dump request: RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE or RTM_GETNEIGH with its family
 * header (REQUEST|DUMP); -EINVAL for another type. */
int nl_build_dump(void *buf, size_t cap, uint32_t seq, uint16_t type, uint8_t family);

/* ---- parsers ---- */

/* Next message of a datagram at *off: 1 with *msg and *msg_len set and *off advanced, 0 at the
 * end, -EBADMSG when a header is truncated or its length is out of bounds. */
int nl_next(const void *buf, size_t len, size_t *off, const uint8_t **msg, size_t *msg_len);

struct nl_hdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};
/* The header of one message (nlmsg_len must lie within 16..len). */
int nl_parse_hdr(const void *msg, size_t len, struct nl_hdr *h);

/* NLMSG_ERROR: *error = 0 (an ack) or a negative errno; the extended ack's message text, if
 * any, into ext (NUL-terminated, "" when none; ext may be NULL). NLMSG_DONE parses too: its
 * optional int is the dump's error. */
int nl_parse_ack(const void *msg, size_t len, int *error, char *ext, size_t ext_cap);

struct nl_link {
    int ifindex;
    uint16_t type;  /* ARPHRD_* */
    uint32_t flags; /* IFF_* */
    char name[IFNAMSIZ];
    uint8_t mac[NL_LLADDR_MAX];
    size_t mac_len;
    uint32_t mtu;
};
int nl_parse_link(const void *msg, size_t len, struct nl_link *l);

struct nl_addr {
    int family;
    int ifindex;
    uint8_t prefix, scope;
    uint32_t flags; /* IFA_F_*, IFA_FLAGS when present */
    bool has_addr;
    uint8_t
        addr[16]; /* IFA_LOCAL for IPv4 when present (the peer is IFA_ADDRESS), else IFA_ADDRESS */
};
int nl_parse_addr(const void *msg, size_t len, struct nl_addr *a);

struct nl_route {
    int family;
    uint32_t table; /* RTA_TABLE when present, else rtm_table */
    uint8_t type, protocol, scope;
    uint8_t dst_len;
    bool has_dst, has_gw, has_prefsrc, multipath;
    uint8_t dst[16], gw[16], prefsrc[16];
    int oif;
    uint32_t priority;
};
int nl_parse_route(const void *msg, size_t len, struct nl_route *r);

struct nl_neigh {
    int family;
    int ifindex;
    uint16_t state; /* NUD_* */
    uint8_t flags;  /* NTF_* */
    bool has_dst;
    uint8_t dst[16];
    uint8_t lladdr[NL_LLADDR_MAX];
    size_t lladdr_len;
};
int nl_parse_neigh(const void *msg, size_t len, struct nl_neigh *n);

/* Address length of a family: 4, 16, or 0 for another family. */
size_t nl_addr_len(int family);

#endif

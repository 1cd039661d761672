#include "nl_msg.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#define NL_HDR_LEN 16u /* sizeof(struct nlmsghdr), already 4-aligned */

size_t nl_addr_len(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* ---- builders ---- */

struct nlb {
    uint8_t *p;
    size_t cap, len;
    bool overflow;
};

static size_t put(struct nlb *b, const void *data, size_t n)
{
    size_t at = b->len, padded = NLMSG_ALIGN(n);
    if (b->overflow || padded > b->cap - b->len) {
        b->overflow = true;
        return 0;
    }
    memset(b->p + at, 0, padded);
    if (n)
        memcpy(b->p + at, data, n);
    b->len += padded;
    return at;
}

static void put_attr(struct nlb *b, uint16_t type, const void *data, size_t n)
{
    struct rtattr rta = {.rta_len = (unsigned short)RTA_LENGTH(n), .rta_type = type};
    if (b->overflow || RTA_SPACE(n) > b->cap - b->len || n > 0xffff - RTA_LENGTH(0)) {
        b->overflow = true;
        return;
    }
    put(b, &rta, sizeof(rta));
    put(b, data, n);
}

static void put_u32(struct nlb *b, uint16_t type, uint32_t v)
{
    put_attr(b, type, &v, sizeof(v));
}

static void start(struct nlb *b, void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq,
                  const void *fam, size_t fam_len)
{
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq};
    *b = (struct nlb){.p = buf, .cap = cap};
    put(b, &h, sizeof(h));
    put(b, fam, fam_len);
}

static int finish(struct nlb *b)
{
    if (b->overflow || b->len > UINT32_MAX)
        return -ENOBUFS;
    uint32_t len = (uint32_t)b->len;
    memcpy(b->p + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
    return (int)len;
}

int nl_build_setlink(void *buf, size_t cap, uint32_t seq, const struct nl_link_set *s)
{
    struct nlb b;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = s->ifindex};
    size_t name_len = s->ifname ? strnlen(s->ifname, IFNAMSIZ) : 0;
    if (s->ifname && (name_len == 0 || name_len >= IFNAMSIZ))
        return -EINVAL;
    if (s->up) {
        ifi.ifi_flags = IFF_UP;
        ifi.ifi_change = IFF_UP;
    }
    start(&b, buf, cap, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, &ifi, sizeof(ifi));
    if (s->netns_fd >= 0)
        put_u32(&b, IFLA_NET_NS_FD, (uint32_t)s->netns_fd);
    if (s->ifname)
        put_attr(&b, IFLA_IFNAME, s->ifname, name_len + 1);
    if (s->mac)
        put_attr(&b, IFLA_ADDRESS, s->mac, 6);
    if (s->mtu)
        put_u32(&b, IFLA_MTU, s->mtu);
    return finish(&b);
}

int nl_build_newaddr(void *buf, size_t cap, uint32_t seq, const struct nl_addr_add *a)
{
    struct nlb b;
    size_t alen = nl_addr_len(a->family);
    if (!alen || a->prefix > alen * 8)
        return -EINVAL;
    struct ifaddrmsg ifa = {.ifa_family = (uint8_t)a->family,
                            .ifa_prefixlen = a->prefix,
                            .ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0,
                            .ifa_scope = RT_SCOPE_UNIVERSE,
                            .ifa_index = (uint32_t)a->ifindex};
    start(&b, buf, cap, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq,
          &ifa, sizeof(ifa));
    if (a->family == AF_INET) {
        put_attr(&b, IFA_LOCAL, a->addr, 4);
        put_attr(&b, IFA_ADDRESS, a->addr, 4);
        if (a->prefix < 31) {
            uint8_t bc[4];
            for (unsigned i = 0; i < 4; i++) {
                unsigned bits = a->prefix > i * 8 ? a->prefix - i * 8 : 0;
                uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
                bc[i] = a->addr[i] | (uint8_t)~mask;
            }
            put_attr(&b, IFA_BROADCAST, bc, 4);
        }
    } else {
        put_attr(&b, IFA_ADDRESS, a->addr, 16);
    }
    return finish(&b);
}

int nl_build_newroute(void *buf, size_t cap, uint32_t seq, const struct nl_route_add *r)
{
    struct nlb b;
    size_t alen = nl_addr_len(r->family);
    if (!alen || r->dst_len > alen * 8)
        return -EINVAL;
    struct rtmsg rtm = {.rtm_family = (uint8_t)r->family,
                        .rtm_dst_len = r->dst ? r->dst_len : 0,
                        .rtm_table = RT_TABLE_MAIN,
                        .rtm_protocol = RTPROT_BOOT,
                        .rtm_scope = r->gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                        .rtm_type = RTN_UNICAST,
                        .rtm_flags = r->onlink ? RTNH_F_ONLINK : 0};
    start(&b, buf, cap, RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq,
          &rtm, sizeof(rtm));
    if (r->dst)
        put_attr(&b, RTA_DST, r->dst, alen);
    if (r->gw)
        put_attr(&b, RTA_GATEWAY, r->gw, alen);
    if (r->oif > 0)
        put_u32(&b, RTA_OIF, (uint32_t)r->oif);
    if (r->metric)
        put_u32(&b, RTA_PRIORITY, r->metric);
    if (r->prefsrc)
        put_attr(&b, RTA_PREFSRC, r->prefsrc, alen);
    return finish(&b);
}

int nl_build_newneigh(void *buf, size_t cap, uint32_t seq, const struct nl_neigh_add *n)
{
    struct nlb b;
    size_t alen = nl_addr_len(n->family);
    if (!alen)
        return -EINVAL;
    struct ndmsg ndm = {
        .ndm_family = (uint8_t)n->family, .ndm_ifindex = n->ifindex, .ndm_state = NUD_PERMANENT};
    start(&b, buf, cap, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq,
          &ndm, sizeof(ndm));
    put_attr(&b, NDA_DST, n->addr, alen);
    put_attr(&b, NDA_LLADDR, n->lladdr, 6);
    return finish(&b);
}

static size_t family_hdr_len(uint16_t type)
{
    switch (type) {
    case RTM_GETLINK:
    case RTM_NEWLINK: return sizeof(struct ifinfomsg);
    case RTM_GETADDR:
    case RTM_NEWADDR: return sizeof(struct ifaddrmsg);
    case RTM_GETROUTE:
    case RTM_NEWROUTE: return sizeof(struct rtmsg);
    case RTM_GETNEIGH:
    case RTM_NEWNEIGH: return sizeof(struct ndmsg);
    default: return 0;
    }
}

int nl_build_dump(void *buf, size_t cap, uint32_t seq, uint16_t type, uint8_t family)
{
    struct nlb b;
    uint8_t fam[sizeof(struct ifinfomsg)] = {0}; /* the largest of the four */
    size_t fl = family_hdr_len(type);
    if (!fl || type == RTM_NEWLINK || type == RTM_NEWADDR || type == RTM_NEWROUTE ||
        type == RTM_NEWNEIGH)
        return -EINVAL;
    fam[0] = family; /* every family header starts with its family byte */
    start(&b, buf, cap, type, NLM_F_REQUEST | NLM_F_DUMP, seq, fam, fl);
    return finish(&b);
}

/* ---- parsers ---- */

int nl_next(const void *buf, size_t len, size_t *off, const uint8_t **msg, size_t *msg_len)
{
    const uint8_t *p = buf;
    uint32_t ml;
    if (*off >= len)
        return 0;
    if (len - *off < NL_HDR_LEN)
        return -EBADMSG;
    memcpy(&ml, p + *off + offsetof(struct nlmsghdr, nlmsg_len), sizeof(ml));
    if (ml < NL_HDR_LEN || ml > len - *off)
        return -EBADMSG;
    *msg = p + *off;
    *msg_len = ml;
    size_t adv = NLMSG_ALIGN((size_t)ml);
    *off = adv >= len - *off ? len : *off + adv;
    return 1;
}

int nl_parse_hdr(const void *msg, size_t len, struct nl_hdr *h)
{
    struct nlmsghdr n;
    if (len < NL_HDR_LEN)
        return -EBADMSG;
    memcpy(&n, msg, sizeof(n));
    if (n.nlmsg_len < NL_HDR_LEN || n.nlmsg_len > len)
        return -EBADMSG;
    *h = (struct nl_hdr){.len = n.nlmsg_len,
                         .type = n.nlmsg_type,
                         .flags = n.nlmsg_flags,
                         .seq = n.nlmsg_seq,
                         .pid = n.nlmsg_pid};
    return 0;
}

struct attr {
    uint16_t type;
    const uint8_t *data;
    size_t len;
};

/* Next attribute in p[*off, end): 1, 0 at the end, -EBADMSG when it overruns. */
static int attr_next(const uint8_t *p, size_t end, size_t *off, struct attr *a)
{
    struct rtattr rta;
    if (*off >= end)
        return 0;
    if (end - *off < sizeof(rta))
        return -EBADMSG;
    memcpy(&rta, p + *off, sizeof(rta));
    if (rta.rta_len < sizeof(rta) || rta.rta_len > end - *off)
        return -EBADMSG;
    a->type = rta.rta_type & NLA_TYPE_MASK;
    a->data = p + *off + sizeof(rta);
    a->len = rta.rta_len - sizeof(rta);
    size_t adv = RTA_ALIGN((size_t)rta.rta_len);
    *off = adv >= end - *off ? end : *off + adv;
    return 1;
}

/* Check header and type, copy the family header; *attrs is where attributes start. */
static int open_msg(const void *msg, size_t len, uint16_t type, void *fam, size_t fam_len,
                    size_t *attrs, size_t *end)
{
    struct nl_hdr h;
    int r = nl_parse_hdr(msg, len, &h);
    if (r < 0)
        return r;
    if (h.type != type)
        return -ENOMSG;
    if (h.len < NL_HDR_LEN + NLMSG_ALIGN(fam_len))
        return -EBADMSG;
    memcpy(fam, (const uint8_t *)msg + NL_HDR_LEN, fam_len);
    *attrs = NL_HDR_LEN + NLMSG_ALIGN(fam_len);
    *end = h.len;
    return 0;
}

static int get_u32(const struct attr *a, uint32_t *v)
{
    if (a->len != sizeof(*v))
        return -EBADMSG;
    memcpy(v, a->data, sizeof(*v));
    return 0;
}

static int get_ip(const struct attr *a, size_t alen, uint8_t *out, bool *has)
{
    if (a->len != alen)
        return -EBADMSG;
    memcpy(out, a->data, alen);
    *has = true;
    return 0;
}

static int get_lladdr(const struct attr *a, uint8_t *out, size_t *out_len)
{
    if (a->len > NL_LLADDR_MAX)
        return -EBADMSG;
    memcpy(out, a->data, a->len);
    *out_len = a->len;
    return 0;
}

int nl_parse_ack(const void *msg, size_t len, int *error, char *ext, size_t ext_cap)
{
    struct nl_hdr h;
    struct nlmsghdr orig;
    int32_t e;
    int r = nl_parse_hdr(msg, len, &h);
    const uint8_t *p = msg;
    if (ext && ext_cap)
        ext[0] = '\0';
    if (r < 0)
        return r;
    if (h.type == NLMSG_DONE) {
        e = 0;
        if (h.len >= NL_HDR_LEN + sizeof(e))
            memcpy(&e, p + NL_HDR_LEN, sizeof(e));
        if (e > 0 || e < -4095)
            return -EBADMSG;
        *error = e;
        return 0;
    }
    if (h.type != NLMSG_ERROR)
        return -ENOMSG;
    if (h.len < NL_HDR_LEN + sizeof(struct nlmsgerr))
        return -EBADMSG;
    memcpy(&e, p + NL_HDR_LEN, sizeof(e));
    memcpy(&orig, p + NL_HDR_LEN + sizeof(e), sizeof(orig));
    if (e > 0 || e < -4095)
        return -EBADMSG;
    *error = e;
    if (!(h.flags & NLM_F_ACK_TLVS))
        return 0;
    /* The TLVs follow the error and the request's header (capped) or whole request. */
    size_t off = NL_HDR_LEN + sizeof(e);
    if (h.flags & NLM_F_CAPPED) {
        off += sizeof(orig);
    } else {
        if (orig.nlmsg_len < NL_HDR_LEN || orig.nlmsg_len > h.len - off)
            return -EBADMSG;
        off += orig.nlmsg_len;
    }
    off = NLMSG_ALIGN(off);
    if (off > h.len)
        return -EBADMSG;
    struct attr a;
    while ((r = attr_next(p, h.len, &off, &a)) > 0) {
        if (a.type != NLMSGERR_ATTR_MSG || !ext || !ext_cap)
            continue;
        size_t n = strnlen((const char *)a.data, a.len);
        if (n >= ext_cap)
            n = ext_cap - 1;
        memcpy(ext, a.data, n);
        ext[n] = '\0';
    }
    return r;
}

int nl_parse_link(const void *msg, size_t len, struct nl_link *l)
{
    struct ifinfomsg ifi;
    size_t off, end;
    struct attr a;
    int r = open_msg(msg, len, RTM_NEWLINK, &ifi, sizeof(ifi), &off, &end);
    if (r < 0)
        return r;
    *l = (struct nl_link){.ifindex = ifi.ifi_index, .type = ifi.ifi_type, .flags = ifi.ifi_flags};
    while ((r = attr_next(msg, end, &off, &a)) > 0) {
        switch (a.type) {
        case IFLA_IFNAME: {
            size_t n = strnlen((const char *)a.data, a.len);
            if (n == a.len || n == 0 || n >= IFNAMSIZ)
                return -EBADMSG;
            memcpy(l->name, a.data, n);
            l->name[n] = '\0';
            break;
        }
        case IFLA_ADDRESS:
            if ((r = get_lladdr(&a, l->mac, &l->mac_len)) < 0)
                return r;
            break;
        case IFLA_MTU:
            if ((r = get_u32(&a, &l->mtu)) < 0)
                return r;
            break;
        }
    }
    if (r < 0)
        return r;
    return l->name[0] ? 0 : -EBADMSG;
}

int nl_parse_addr(const void *msg, size_t len, struct nl_addr *out)
{
    struct ifaddrmsg ifa;
    size_t off, end;
    struct attr a;
    bool has_local = false, has_address = false;
    uint8_t local[16], address[16];
    int r = open_msg(msg, len, RTM_NEWADDR, &ifa, sizeof(ifa), &off, &end);
    if (r < 0)
        return r;
    *out = (struct nl_addr){.family = ifa.ifa_family,
                            .ifindex = (int)ifa.ifa_index,
                            .prefix = ifa.ifa_prefixlen,
                            .scope = ifa.ifa_scope,
                            .flags = ifa.ifa_flags};
    size_t alen = nl_addr_len(ifa.ifa_family);
    while ((r = attr_next(msg, end, &off, &a)) > 0) {
        if (a.type == IFA_FLAGS) {
            if ((r = get_u32(&a, &out->flags)) < 0)
                return r;
        } else if (alen && a.type == IFA_LOCAL) {
            if ((r = get_ip(&a, alen, local, &has_local)) < 0)
                return r;
        } else if (alen && a.type == IFA_ADDRESS) {
            if ((r = get_ip(&a, alen, address, &has_address)) < 0)
                return r;
        }
    }
    if (r < 0)
        return r;
    if (alen && out->prefix > alen * 8)
        return -EBADMSG;
    if (has_local || has_address) {
        memcpy(out->addr, has_local ? local : address, alen);
        out->has_addr = true;
    }
    return 0;
}

int nl_parse_route(const void *msg, size_t len, struct nl_route *out)
{
    struct rtmsg rtm;
    size_t off, end;
    struct attr a;
    int r = open_msg(msg, len, RTM_NEWROUTE, &rtm, sizeof(rtm), &off, &end);
    if (r < 0)
        return r;
    *out = (struct nl_route){.family = rtm.rtm_family,
                             .table = rtm.rtm_table,
                             .type = rtm.rtm_type,
                             .protocol = rtm.rtm_protocol,
                             .scope = rtm.rtm_scope,
                             .dst_len = rtm.rtm_dst_len};
    size_t alen = nl_addr_len(rtm.rtm_family);
    while ((r = attr_next(msg, end, &off, &a)) > 0) {
        switch (a.type) {
        case RTA_TABLE: r = get_u32(&a, &out->table); break;
        case RTA_OIF: {
            uint32_t v = 0;
            r = get_u32(&a, &v);
            out->oif = (int)v;
            break;
        }
        case RTA_PRIORITY: r = get_u32(&a, &out->priority); break;
        case RTA_MULTIPATH: out->multipath = true; break;
        case RTA_DST: r = alen ? get_ip(&a, alen, out->dst, &out->has_dst) : 0; break;
        case RTA_GATEWAY: r = alen ? get_ip(&a, alen, out->gw, &out->has_gw) : 0; break;
        case RTA_PREFSRC: r = alen ? get_ip(&a, alen, out->prefsrc, &out->has_prefsrc) : 0; break;
        }
        if (r < 0)
            return r;
    }
    if (r < 0)
        return r;
    if (alen && out->dst_len > alen * 8)
        return -EBADMSG;
    return 0;
}

int nl_parse_neigh(const void *msg, size_t len, struct nl_neigh *out)
{
    struct ndmsg ndm;
    size_t off, end;
    struct attr a;
    int r = open_msg(msg, len, RTM_NEWNEIGH, &ndm, sizeof(ndm), &off, &end);
    if (r < 0)
        return r;
    *out = (struct nl_neigh){.family = ndm.ndm_family,
                             .ifindex = ndm.ndm_ifindex,
                             .state = ndm.ndm_state,
                             .flags = ndm.ndm_flags};
    size_t alen = nl_addr_len(ndm.ndm_family);
    while ((r = attr_next(msg, end, &off, &a)) > 0) {
        if (a.type == NDA_DST && alen)
            r = get_ip(&a, alen, out->dst, &out->has_dst);
        else if (a.type == NDA_LLADDR)
            r = get_lladdr(&a, out->lladdr, &out->lladdr_len);
        if (r < 0)
            return r;
    }
    return r;
}

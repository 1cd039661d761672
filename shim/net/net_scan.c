/* net_scan(): what a sandbox netns holds, read with libnl into plain structs. */
#define LOG_MODULE "net"
#include "net/net.h"

#include <errno.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "cleanup.h"
#include "errmap.h"
#include "log.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)

#define nl_foreach(type, obj, cache)                                                               \
    for (struct type *obj = (struct type *)nl_cache_get_first(cache); obj;                         \
         obj = (struct type *)nl_cache_get_next((struct nl_object *)obj))

static struct net_link *link_by_index(struct net_state *s, int ifindex)
{
    for (size_t i = 0; i < s->n_links; i++)
        if (s->links[i].ifindex == ifindex)
            return &s->links[i];
    return NULL;
}

/* An nl_addr of the family into a 16-byte buffer; false when it is not one. */
static bool addr_copy(const struct nl_addr *a, int family, uint8_t out[16])
{
    unsigned want = family == AF_INET ? 4 : 16;
    memset(out, 0, 16);
    if (!a || nl_addr_get_family(a) != family || nl_addr_get_len(a) != want)
        return false;
    memcpy(out, nl_addr_get_binary_addr(a), want);
    return true;
}

static bool v6_in(const uint8_t a[16], uint8_t b0, uint8_t m0, uint8_t b1, uint8_t m1)
{
    return (a[0] & m0) == b0 && (a[1] & m1) == b1;
}
#define V6_LINKLOCAL(a) v6_in(a, 0xfe, 0xff, 0x80, 0xc0) /* fe80::/10 */
#define V6_MULTICAST(a) v6_in(a, 0xff, 0xff, 0x00, 0x00) /* ff00::/8 */

static int cmp_ifindex(const void *a, const void *b)
{
    const struct net_link *x = a, *y = b;
    return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static int scan_links(struct nl_sock *sk, struct net_state *s, struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    char names[NET_MAX_IFACES * IFNAMSIZ + 64] = "";
    size_t found = 0;
    int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &c);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list links: %s", nl_geterror(r));

    nl_foreach(rtnl_link, l, c)
    {
        const char *name = rtnl_link_get_name(l);
        const char *kind = rtnl_link_get_type(l);
        if (!name || !net_link_of_interest(name, kind ? kind : "", rtnl_link_get_arptype(l),
                                           rtnl_link_get_flags(l)))
            continue;
        found++;
        size_t nl = strlen(names);
        if (nl + IFNAMSIZ + 1 < sizeof(names))
            snprintf(names + nl, sizeof(names) - nl, "%s%s", nl ? " " : "", name);
        if (s->n_links == NET_MAX_IFACES)
            continue;
        struct net_link *o = &s->links[s->n_links++];
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", name);
        snprintf(o->kind, sizeof(o->kind), "%s", kind ? kind : "");
        o->ifindex = rtnl_link_get_ifindex(l);
        o->mtu = rtnl_link_get_mtu(l);
        o->up = rtnl_link_get_flags(l) & IFF_UP;
        struct nl_addr *mac = rtnl_link_get_addr(l);
        if (mac && nl_addr_get_len(mac) == 6)
            memcpy(o->mac, nl_addr_get_binary_addr(mac), 6);
    }
    if (found > NET_MAX_IFACES)
        return cvm_err_set(
            err, -E2BIG, "sandbox netns has %zu interfaces (%s%s), at most %d are supported", found,
            names, strlen(names) + IFNAMSIZ + 1 >= sizeof(names) ? " ..." : "", NET_MAX_IFACES);
    qsort(s->links, s->n_links, sizeof(s->links[0]), cmp_ifindex);
    return 0;
}

static int scan_addrs(struct nl_sock *sk, struct net_state *s, struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    int r = rtnl_addr_alloc_cache(sk, &c);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list addresses: %s", nl_geterror(r));

    nl_foreach(rtnl_addr, a, c)
    {
        struct net_link *l = link_by_index(s, rtnl_addr_get_ifindex(a));
        int family = rtnl_addr_get_family(a);
        struct net_addr na = {.family = family};
        if (!l || (family != AF_INET && family != AF_INET6))
            continue;
        if (!addr_copy(rtnl_addr_get_local(a), family, na.addr))
            continue;
        if (family == AF_INET6 && V6_LINKLOCAL(na.addr))
            continue;
        na.prefix_len = rtnl_addr_get_prefixlen(a);
        if (l->n_addrs == NET_MAX_ADDRS)
            return cvm_err_set(err, -E2BIG, "interface %s has more than %d addresses", l->name,
                               NET_MAX_ADDRS);
        l->addrs[l->n_addrs++] = na;
    }
    return 0;
}

static int scan_routes(struct nl_sock *sk, struct net_state *s, struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    int r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &c);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list routes: %s", nl_geterror(r));

    nl_foreach(rtnl_route, rt, c)
    {
        int family = rtnl_route_get_family(rt);
        struct net_route o = {.family = family, .dst.family = family};
        if (family != AF_INET && family != AF_INET6)
            continue;
        if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_type(rt) != RTN_UNICAST)
            continue;
        struct nl_addr *dst = rtnl_route_get_dst(rt);
        o.dst.prefix_len = dst ? nl_addr_get_prefixlen(dst) : 0;
        if (o.dst.prefix_len && !addr_copy(dst, family, o.dst.addr))
            continue;
        if (family == AF_INET6 && o.dst.prefix_len &&
            (V6_LINKLOCAL(o.dst.addr) || V6_MULTICAST(o.dst.addr)))
            continue;
        int nnh = rtnl_route_get_nnexthops(rt);
        struct rtnl_nexthop *nh = nnh > 0 ? rtnl_route_nexthop_n(rt, 0) : NULL;
        if (!nh)
            continue;
        struct net_link *l = link_by_index(s, rtnl_route_nh_get_ifindex(nh));
        if (!l)
            continue;
        snprintf(o.dev, sizeof(o.dev), "%s", l->name);
        o.has_gateway = addr_copy(rtnl_route_nh_get_gateway(nh), family, o.gateway);
        o.onlink = rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK;
        o.metric = rtnl_route_get_priority(rt);
        o.has_prefsrc = addr_copy(rtnl_route_get_pref_src(rt), family, o.prefsrc);
        if (nnh > 1)
            log_warn("multipath route on %s: only its first next hop is mirrored", l->name);
        if (s->n_routes == NET_MAX_ROUTES)
            return cvm_err_set(err, -E2BIG, "sandbox netns has more than %d routes",
                               NET_MAX_ROUTES);
        s->routes[s->n_routes++] = o;
    }
    return 0;
}

static int scan_neighs(struct nl_sock *sk, struct net_state *s, struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    int r = rtnl_neigh_alloc_cache(sk, &c);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list neighbours: %s", nl_geterror(r));

    nl_foreach(rtnl_neigh, n, c)
    {
        int family = rtnl_neigh_get_family(n);
        int state = rtnl_neigh_get_state(n);
        struct net_neigh o = {.family = family};
        if (family != AF_INET && family != AF_INET6)
            continue;
        if (state < 0 || !(state & (NUD_PERMANENT | NUD_REACHABLE)))
            continue;
        struct net_link *l = link_by_index(s, rtnl_neigh_get_ifindex(n));
        struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
        if (!l || !ll || nl_addr_get_len(ll) != 6 ||
            !addr_copy(rtnl_neigh_get_dst(n), family, o.addr))
            continue;
        memcpy(o.lladdr, nl_addr_get_binary_addr(ll), 6);
        snprintf(o.dev, sizeof(o.dev), "%s", l->name);
        o.permanent = state & NUD_PERMANENT;
        if (s->n_neighs == NET_MAX_NEIGHS)
            return cvm_err_set(err, -E2BIG, "sandbox netns has more than %d neighbours",
                               NET_MAX_NEIGHS);
        s->neighs[s->n_neighs++] = o;
    }
    return 0;
}

int net_scan(int netns_fd, struct net_state *out, struct cvm_err *err)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    int r = net_nl_open(netns_fd, &sk, err);
    if (r < 0)
        return r;
    memset(out, 0, sizeof(*out));
    if ((r = scan_links(sk, out, err)) < 0 || (r = scan_addrs(sk, out, err)) < 0 ||
        (r = scan_routes(sk, out, err)) < 0 || (r = scan_neighs(sk, out, err)) < 0)
        return r;
    return 0;
}

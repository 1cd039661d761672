/* ConfigureNetworkRequest -> struct net_config: every field checked, nothing touched. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.pb-c.h"
#include "net.h"

#define BAD(err, ...) cvm_err_setc(err, RPC_INVALID_ARGUMENT, -EINVAL, __VA_ARGS__)

static const char *str(const char *s)
{
    return s ? s : "";
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
    if (!s || strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[i * 3 + k];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (d > 15)
                return -EINVAL;
            v = v * 16 + d;
        }
        if (i < 5 && s[i * 3 + 2] != ':')
            return -EINVAL;
        mac[i] = (uint8_t)v;
    }
    return 0;
}

bool net_ifname_valid(const char *s, bool allow_lo)
{
    size_t n = s ? strnlen(s, IFNAMSIZ) : 0;
    if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    if (!allow_lo && !strcmp(s, "lo"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

void net_fmt_mac(const uint8_t *mac, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        int n = snprintf(out + o, cap - o, i ? ":%02x" : "%02x", mac[i]);
        if (n < 0 || (size_t)n >= cap - o) {
            out[o] = '\0';
            return;
        }
        o += (size_t)n;
    }
}

void net_fmt_ip(const struct net_ip *ip, char out[NET_IP_TEXT])
{
    if (!inet_ntop(ip->family, ip->a, out, NET_IP_TEXT))
        snprintf(out, NET_IP_TEXT, "?");
}

/* A MAC an interface can have: unicast, not all zero. */
static bool mac_unicast(const uint8_t m[6])
{
    return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

/* family 0: either. */
static int parse_ip(const char *s, int family, struct net_ip *ip)
{
    if (!s || !s[0] || strnlen(s, NET_MAX_TEXT + 1) > NET_MAX_TEXT)
        return -EINVAL;
    memset(ip, 0, sizeof(*ip));
    if ((family == 0 || family == AF_INET) && inet_pton(AF_INET, s, ip->a) == 1) {
        ip->family = AF_INET;
        return 0;
    }
    if ((family == 0 || family == AF_INET6) && inet_pton(AF_INET6, s, ip->a) == 1) {
        ip->family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

/* An address a host can have: not unspecified, not multicast (nor IPv4 broadcast). */
static bool ip_host(const struct net_ip *ip)
{
    static const uint8_t zero[16];
    if (ip->family == AF_INET)
        return memcmp(ip->a, zero, 4) && ip->a[0] < 224;
    return memcmp(ip->a, zero, 16) && ip->a[0] != 0xff;
}

static bool host_bits_clear(const struct net_ip *ip, unsigned prefix)
{
    unsigned bytes = ip->family == AF_INET ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
        if (ip->a[i] & (uint8_t)~mask)
            return false;
    }
    return true;
}

static unsigned max_prefix(int family)
{
    return family == AF_INET ? 32 : 128;
}

static int iface_from(const Cvm__Agent__V1__NetInterface *in, size_t i, struct net_iface_cfg *o,
                      struct cvm_err *err)
{
    if (!in)
        return BAD(err, "interfaces[%zu]: missing", i);
    if (net_parse_mac(in->nic_mac, o->nic_mac) < 0 || !mac_unicast(o->nic_mac))
        return BAD(err, "interfaces[%zu].nic_mac: invalid MAC \"%.40s\"", i, str(in->nic_mac));
    if (!net_ifname_valid(in->name, false))
        return BAD(err,
                   "interfaces[%zu].name: invalid interface name \"%.40s\" (1-15 of "
                   "[A-Za-z0-9_.-], not lo)",
                   i, str(in->name));
    snprintf(o->name, sizeof(o->name), "%s", in->name);
    if (str(in->mac)[0]) {
        if (net_parse_mac(in->mac, o->mac) < 0 || !mac_unicast(o->mac))
            return BAD(err, "interfaces[%zu].mac: invalid MAC \"%.40s\"", i, in->mac);
        o->has_mac = true;
    }
    if (in->mtu != 0 && (in->mtu < 68 || in->mtu > 65535))
        return BAD(err, "interfaces[%zu].mtu: %u out of range (0 or 68..65535)", i, in->mtu);
    o->mtu = in->mtu;
    if (in->n_addresses > NET_MAX_ADDRS)
        return BAD(err, "interfaces[%zu].addresses: %zu, at most %d", i, in->n_addresses,
                   NET_MAX_ADDRS);
    for (size_t k = 0; k < in->n_addresses; k++) {
        const Cvm__Agent__V1__NetAddress *a = in->addresses[k];
        if (!a || parse_ip(a->address, 0, &o->addrs[k]) < 0 || !ip_host(&o->addrs[k]))
            return BAD(err, "interfaces[%zu].addresses[%zu].address: invalid address \"%.64s\"", i,
                       k, a ? str(a->address) : "");
        if (a->prefix_len < 1 || a->prefix_len > max_prefix(o->addrs[k].family))
            return BAD(err, "interfaces[%zu].addresses[%zu].prefix_len: %u out of range for %s", i,
                       k, a->prefix_len, a->address);
        o->prefix[k] = (uint8_t)a->prefix_len;
    }
    o->n_addrs = in->n_addresses;
    return 0;
}

static int route_from(const Cvm__Agent__V1__NetRoute *in, size_t i, struct net_route_cfg *o,
                      struct cvm_err *err)
{
    if (!in)
        return BAD(err, "routes[%zu]: missing", i);
    if (in->family != 4 && in->family != 6)
        return BAD(err, "routes[%zu].family: %u (4 or 6)", i, in->family);
    o->family = in->family == 4 ? AF_INET : AF_INET6;
    const char *fam = in->family == 4 ? "IPv4" : "IPv6";
    if (str(in->dest)[0]) {
        if (parse_ip(in->dest, o->family, &o->dst) < 0)
            return BAD(err, "routes[%zu].dest: invalid %s prefix \"%.64s\"", i, fam, in->dest);
        if (in->dest_prefix_len > max_prefix(o->family))
            return BAD(err, "routes[%zu].dest_prefix_len: %u out of range", i, in->dest_prefix_len);
        if (!host_bits_clear(&o->dst, in->dest_prefix_len))
            return BAD(err, "routes[%zu].dest: %s/%u has host bits set", i, in->dest,
                       in->dest_prefix_len);
        o->has_dst = true;
        o->dst_len = (uint8_t)in->dest_prefix_len;
    } else if (in->dest_prefix_len != 0) {
        return BAD(err, "routes[%zu].dest_prefix_len: %u without dest (default route)", i,
                   in->dest_prefix_len);
    }
    if (str(in->gateway)[0]) {
        if (parse_ip(in->gateway, o->family, &o->gw) < 0 || !ip_host(&o->gw))
            return BAD(err, "routes[%zu].gateway: invalid %s address \"%.64s\"", i, fam,
                       in->gateway);
        o->has_gw = true;
    }
    if (str(in->device)[0]) {
        if (!net_ifname_valid(in->device, true))
            return BAD(err, "routes[%zu].device: invalid interface name \"%.40s\"", i, in->device);
        snprintf(o->dev, sizeof(o->dev), "%s", in->device);
    } else if (!o->has_gw) {
        return BAD(err, "routes[%zu]: needs a device or a gateway", i);
    }
    if (str(in->source)[0]) {
        if (parse_ip(in->source, o->family, &o->src) < 0 || !ip_host(&o->src))
            return BAD(err, "routes[%zu].source: invalid %s address \"%.64s\"", i, fam, in->source);
        o->has_src = true;
    }
    if (in->onlink && (!o->has_gw || !o->dev[0]))
        return BAD(err, "routes[%zu].onlink: needs a gateway and a device", i);
    o->onlink = in->onlink;
    o->metric = in->metric;
    return 0;
}

static int neigh_from(const Cvm__Agent__V1__NetNeighbor *in, size_t i, struct net_neigh_cfg *o,
                      struct cvm_err *err)
{
    if (!in)
        return BAD(err, "neighbors[%zu]: missing", i);
    if (parse_ip(in->address, 0, &o->ip) < 0 || !ip_host(&o->ip))
        return BAD(err, "neighbors[%zu].address: invalid address \"%.64s\"", i, str(in->address));
    if (net_parse_mac(in->lladdr, o->lladdr) < 0)
        return BAD(err, "neighbors[%zu].lladdr: invalid MAC \"%.40s\"", i, str(in->lladdr));
    if (!net_ifname_valid(in->device, true))
        return BAD(err, "neighbors[%zu].device: invalid interface name \"%.40s\"", i,
                   str(in->device));
    snprintf(o->dev, sizeof(o->dev), "%s", in->device);
    return 0;
}

int net_config_from_request(const Cvm__Agent__V1__ConfigureNetworkRequest *req,
                            struct net_config *cfg, struct cvm_err *err)
{
    int r;
    memset(cfg, 0, sizeof(*cfg));
    if (req->n_interfaces > NET_MAX_IFACES)
        return BAD(err, "interfaces: %zu, at most %d", req->n_interfaces, NET_MAX_IFACES);
    if (req->n_routes > NET_MAX_ROUTES)
        return BAD(err, "routes: %zu, at most %d", req->n_routes, NET_MAX_ROUTES);
    if (req->n_neighbors > NET_MAX_NEIGHS)
        return BAD(err, "neighbors: %zu, at most %d", req->n_neighbors, NET_MAX_NEIGHS);
    for (size_t i = 0; i < req->n_interfaces; i++) {
        struct net_iface_cfg *o = &cfg->ifaces[i];
        if ((r = iface_from(req->interfaces[i], i, o, err)) < 0)
            return r;
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(cfg->ifaces[k].name, o->name))
                return BAD(err, "interfaces[%zu].name: %s given twice", i, o->name);
            if (!memcmp(cfg->ifaces[k].nic_mac, o->nic_mac, 6))
                return BAD(err, "interfaces[%zu].nic_mac: %s given twice", i,
                           req->interfaces[i]->nic_mac);
        }
    }
    cfg->n_ifaces = req->n_interfaces;
    for (size_t i = 0; i < req->n_routes; i++)
        if ((r = route_from(req->routes[i], i, &cfg->routes[i], err)) < 0)
            return r;
    cfg->n_routes = req->n_routes;
    for (size_t i = 0; i < req->n_neighbors; i++)
        if ((r = neigh_from(req->neighbors[i], i, &cfg->neighs[i], err)) < 0)
            return r;
    cfg->n_neighs = req->n_neighbors;
    return 0;
}

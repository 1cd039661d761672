/* net_agent_request(): the agent's ConfigureNetworkRequest from a scanned netns (pure). */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void mac_txt(const uint8_t m[6], char out[NET_MAC_STRLEN])
{
    snprintf(out, NET_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
             m[5]);
}

static char *ip_txt(int family, const uint8_t a[16], char out[46])
{
    if (!inet_ntop(family, a, out, 46))
        out[0] = 0;
    return out;
}

static bool in_request(const struct net_attached *attach, size_t n, const char *dev)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(attach[i].ifname, dev) == 0)
            return true;
    return false;
}

static const struct net_link *link_by_name(const struct net_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_links; i++)
        if (strcmp(s->links[i].name, name) == 0)
            return &s->links[i];
    return NULL;
}

int net_agent_request(const struct net_state *s, const struct net_attached *attach, size_t n,
                      Cvm__Agent__V1__ConfigureNetworkRequest *out, struct net_request_storage *st)
{
    cvm__agent__v1__configure_network_request__init(out);
    if (n > NET_MAX_IFACES)
        return -EINVAL;

    for (size_t i = 0; i < n; i++) {
        const struct net_link *l = link_by_name(s, attach[i].ifname);
        Cvm__Agent__V1__NetInterface *ni = &st->ifs[i];
        if (!l || net_nic_mac(attach[i].nic, st->if_txt[i][0]) < 0)
            return -EINVAL;
        cvm__agent__v1__net_interface__init(ni);
        mac_txt(l->mac, st->if_txt[i][1]);
        ni->nic_mac = st->if_txt[i][0];
        ni->name = (char *)l->name;
        ni->mac = st->if_txt[i][1];
        ni->mtu = l->mtu;
        for (size_t k = 0; k < l->n_addrs; k++) {
            Cvm__Agent__V1__NetAddress *na = &st->addrs[i][k];
            cvm__agent__v1__net_address__init(na);
            na->address = ip_txt(l->addrs[k].family, l->addrs[k].addr, st->addr_txt[i][k]);
            na->prefix_len = l->addrs[k].prefix_len;
            st->addrs_p[i][k] = na;
        }
        ni->n_addresses = l->n_addrs;
        ni->addresses = l->n_addrs ? st->addrs_p[i] : NULL;
        st->ifs_p[i] = ni;
    }
    out->n_interfaces = n;
    out->interfaces = n ? st->ifs_p : NULL;

    /* On-link routes first: a gateway must be reachable when its route is added. */
    size_t nr = 0;
    for (size_t i = 0; i < 2 * s->n_routes; i++) {
        const struct net_route *r = &s->routes[i % s->n_routes];
        if (r->has_gateway != (i >= s->n_routes) || !in_request(attach, n, r->dev))
            continue;
        Cvm__Agent__V1__NetRoute *nr_ = &st->routes[nr];
        cvm__agent__v1__net_route__init(nr_);
        nr_->family = r->family == AF_INET6 ? 6 : 4;
        if (r->dst.prefix_len)
            nr_->dest = ip_txt(r->family, r->dst.addr, st->route_txt[nr][0]);
        nr_->dest_prefix_len = r->dst.prefix_len;
        if (r->has_gateway)
            nr_->gateway = ip_txt(r->family, r->gateway, st->route_txt[nr][1]);
        nr_->device = (char *)r->dev;
        nr_->metric = r->metric;
        if (r->has_prefsrc)
            nr_->source = ip_txt(r->family, r->prefsrc, st->route_txt[nr][2]);
        nr_->onlink = r->onlink;
        st->routes_p[nr++] = nr_;
    }
    out->n_routes = nr;
    out->routes = nr ? st->routes_p : NULL;

    size_t nn = 0;
    for (size_t i = 0; i < s->n_neighs; i++) {
        const struct net_neigh *ne = &s->neighs[i];
        if (!in_request(attach, n, ne->dev))
            continue;
        Cvm__Agent__V1__NetNeighbor *nb = &st->neighs[nn];
        cvm__agent__v1__net_neighbor__init(nb);
        nb->address = ip_txt(ne->family, ne->addr, st->neigh_txt[nn][0]);
        mac_txt(ne->lladdr, st->neigh_txt[nn][1]);
        nb->lladdr = st->neigh_txt[nn][1];
        nb->device = (char *)ne->dev;
        st->neighs_p[nn++] = nb;
    }
    out->n_neighbors = nn;
    out->neighbors = nn ? st->neighs_p : NULL;
    return 0;
}

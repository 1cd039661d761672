/* Networking RPCs: ConfigureNetwork (validate, then net_configure) and ListNetwork. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "rpc"
#include "agent.pb-c.h"
#include "ttrpc.h"
#include "cleanup.h"
#include "log.h"
#include "net.h"
#include "rpc.h"

void rpc_configure_network(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    (void)ud;
    TTRPC_DECODE(Cvm__Agent__V1__ConfigureNetworkRequest, cvm__agent__v1__configure_network_request,
                 req, call, payload, len);
    _cleanup_free_ struct net_config *cfg = calloc(1, sizeof(*cfg));
    struct cvm_err err = {0};
    int r;
    if (!cfg) {
        ttrpc_call_reply_errno(call, -ENOMEM, NULL);
        return;
    }
    if ((r = net_config_from_request(req, cfg, &err)) < 0 || (r = net_configure(cfg, &err)) < 0) {
        log_warn("ConfigureNetwork: %s", err.msg);
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    ttrpc_call_reply(call, NULL);
}

/* The response points into the list: addresses grouped by interface. */
struct list_reply {
    Cvm__Agent__V1__NetInterface ifaces[NET_LIST_MAX_LINKS], *ifp[NET_LIST_MAX_LINKS];
    Cvm__Agent__V1__NetAddress addrs[NET_LIST_MAX_ADDRS], *addrp[NET_LIST_MAX_ADDRS];
    Cvm__Agent__V1__NetRoute routes[NET_LIST_MAX_ROUTES], *routep[NET_LIST_MAX_ROUTES];
    Cvm__Agent__V1__NetNeighbor neighs[NET_LIST_MAX_NEIGHS], *neighp[NET_LIST_MAX_NEIGHS];
};

static void build_reply(struct net_list *l, struct list_reply *o,
                        Cvm__Agent__V1__ListNetworkResponse *resp)
{
    size_t na = 0;
    for (size_t i = 0; i < l->n_links; i++) {
        Cvm__Agent__V1__NetInterface *f = &o->ifaces[i];
        cvm__agent__v1__net_interface__init(f);
        f->name = l->links[i].name;
        f->mac = l->links[i].mac;
        f->mtu = l->links[i].mtu;
        f->addresses = &o->addrp[na];
        for (size_t k = 0; k < l->n_addrs; k++) {
            if (l->addrs[k].ifindex != l->links[i].ifindex)
                continue;
            Cvm__Agent__V1__NetAddress *a = &o->addrs[na];
            cvm__agent__v1__net_address__init(a);
            a->address = l->addrs[k].addr;
            a->prefix_len = l->addrs[k].prefix;
            o->addrp[na++] = a;
            f->n_addresses++;
        }
        o->ifp[i] = f;
    }
    for (size_t i = 0; i < l->n_routes; i++) {
        Cvm__Agent__V1__NetRoute *rt = &o->routes[i];
        cvm__agent__v1__net_route__init(rt);
        rt->family = (uint32_t)l->routes[i].family;
        rt->dest = l->routes[i].dest;
        rt->dest_prefix_len = l->routes[i].dest_len;
        rt->gateway = l->routes[i].gateway;
        rt->device = l->routes[i].device;
        rt->metric = l->routes[i].metric;
        rt->source = l->routes[i].source;
        o->routep[i] = rt;
    }
    for (size_t i = 0; i < l->n_neighs; i++) {
        Cvm__Agent__V1__NetNeighbor *n = &o->neighs[i];
        cvm__agent__v1__net_neighbor__init(n);
        n->address = l->neighs[i].addr;
        n->lladdr = l->neighs[i].lladdr;
        n->device = l->neighs[i].device;
        o->neighp[i] = n;
    }
    resp->n_interfaces = l->n_links;
    resp->interfaces = o->ifp;
    resp->n_routes = l->n_routes;
    resp->routes = o->routep;
    resp->n_neighbors = l->n_neighs;
    resp->neighbors = o->neighp;
}

void rpc_list_network(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    (void)ud;
    TTRPC_DECODE(Cvm__Agent__V1__Empty, cvm__agent__v1__empty, req, call, payload, len);
    (void)req;
    _cleanup_free_ struct net_list *l = calloc(1, sizeof(*l));
    _cleanup_free_ struct list_reply *o = calloc(1, sizeof(*o));
    struct cvm_err err = {0};
    int r;
    if (!l || !o) {
        ttrpc_call_reply_errno(call, -ENOMEM, NULL);
        return;
    }
    if ((r = net_list(l, &err)) < 0) {
        log_warn("ListNetwork: %s", err.msg);
        ttrpc_call_reply_errno(call, r, &err);
        return;
    }
    Cvm__Agent__V1__ListNetworkResponse resp = CVM__AGENT__V1__LIST_NETWORK_RESPONSE__INIT;
    build_reply(l, o, &resp);
    ttrpc_call_reply(call, &resp.base);
}

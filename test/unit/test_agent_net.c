/* agent/net_validate.c (a table of good and bad ConfigureNetwork requests), the RPCs through a
 * real ttrpc server and client, and agent/net.c for real, as root, in a fresh network namespace
 * (veth pair: park, configure, list, idempotence, NOT_FOUND). The netlink messages themselves:
 * test_agent_nl_msg.c. */
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

static const uint8_t MAC[6] = {0x02, 0x42, 0x0a, 0xfa, 0x00, 0x02};

/* ---- validation ---- */

struct req {
    Cvm__Agent__V1__ConfigureNetworkRequest rq;
    Cvm__Agent__V1__NetInterface ifs[20], *ifp[20];
    Cvm__Agent__V1__NetAddress addrs[4], *addrp[4];
    Cvm__Agent__V1__NetRoute routes[4], *routep[4];
    Cvm__Agent__V1__NetNeighbor neighs[2], *neighp[2];
};

/* A good request: eth0 with v4 + v6 addresses, default routes both families + an on-link
 * one, a neighbour. */
static void good(struct req *q)
{
    memset(q, 0, sizeof(*q));
    cvm__agent__v1__configure_network_request__init(&q->rq);
    for (int i = 0; i < 20; i++) {
        cvm__agent__v1__net_interface__init(&q->ifs[i]);
        q->ifp[i] = &q->ifs[i];
    }
    for (int i = 0; i < 4; i++) {
        cvm__agent__v1__net_address__init(&q->addrs[i]);
        q->addrp[i] = &q->addrs[i];
        cvm__agent__v1__net_route__init(&q->routes[i]);
        q->routep[i] = &q->routes[i];
    }
    for (int i = 0; i < 2; i++) {
        cvm__agent__v1__net_neighbor__init(&q->neighs[i]);
        q->neighp[i] = &q->neighs[i];
    }
    q->ifs[0].nic_mac = "52:54:00:c7:00:00";
    q->ifs[0].name = "eth0";
    q->ifs[0].mac = "02:42:0A:FA:00:02";
    q->ifs[0].mtu = 1500;
    q->addrs[0].address = "10.88.0.5";
    q->addrs[0].prefix_len = 16;
    q->addrs[1].address = "fd00:88::5";
    q->addrs[1].prefix_len = 64;
    q->ifs[0].n_addresses = 2;
    q->ifs[0].addresses = q->addrp;
    q->rq.n_interfaces = 1;
    q->rq.interfaces = q->ifp;
    q->routes[0].family = 4;
    q->routes[0].gateway = "10.88.0.1";
    q->routes[0].device = "eth0";
    q->routes[1].family = 6;
    q->routes[1].gateway = "fe80::1";
    q->routes[1].device = "eth0";
    q->routes[1].metric = 1024;
    q->routes[2].family = 4;
    q->routes[2].dest = "10.89.0.0";
    q->routes[2].dest_prefix_len = 16;
    q->routes[2].device = "eth0";
    q->routes[2].source = "10.88.0.5";
    q->rq.n_routes = 3;
    q->rq.routes = q->routep;
    q->neighs[0].address = "10.88.0.1";
    q->neighs[0].lladdr = "02:00:00:00:00:01";
    q->neighs[0].device = "eth0";
    q->rq.n_neighbors = 1;
    q->rq.neighbors = q->neighp;
}

START_TEST(validate_good)
{
    static struct req q;
    static struct net_config cfg;
    struct cvm_err err = {0};
    good(&q);
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    ck_assert_int_eq(err.code, RPC_OK);
    ck_assert_uint_eq(cfg.n_ifaces, 1);
    ck_assert_str_eq(cfg.ifaces[0].name, "eth0");
    ck_assert(cfg.ifaces[0].has_mac);
    ck_assert_mem_eq(cfg.ifaces[0].mac, MAC, 6);
    ck_assert_uint_eq(cfg.ifaces[0].nic_mac[5], 0);
    ck_assert_uint_eq(cfg.ifaces[0].n_addrs, 2);
    ck_assert_int_eq(cfg.ifaces[0].addrs[0].family, AF_INET);
    ck_assert_int_eq(cfg.ifaces[0].addrs[1].family, AF_INET6);
    ck_assert_uint_eq(cfg.ifaces[0].prefix[1], 64);
    ck_assert_uint_eq(cfg.n_routes, 3);
    ck_assert(!cfg.routes[0].has_dst && cfg.routes[0].has_gw && cfg.routes[0].family == AF_INET);
    ck_assert(cfg.routes[1].family == AF_INET6 && cfg.routes[1].metric == 1024);
    ck_assert(cfg.routes[2].has_dst && cfg.routes[2].dst_len == 16 && !cfg.routes[2].has_gw && cfg.routes[2].has_src);
    ck_assert_uint_eq(cfg.n_neighs, 1);
    ck_assert_str_eq(cfg.neighs[0].dev, "eth0");

    /* mac "" keeps the NIC's, mtu 0 leaves it; a route by gateway alone; empty request */
    q.ifs[0].mac = "";
    q.ifs[0].mtu = 0;
    q.routes[0].device = "";
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    ck_assert(!cfg.ifaces[0].has_mac);
    Cvm__Agent__V1__ConfigureNetworkRequest empty = CVM__AGENT__V1__CONFIGURE_NETWORK_REQUEST__INIT;
    ck_assert_int_eq(net_config_from_request(&empty, &cfg, &err), 0);
    ck_assert_uint_eq(cfg.n_ifaces + cfg.n_routes + cfg.n_neighs, 0);
}
END_TEST

struct bad_case {
    const char *what; /* the field the message must name */
    void (*mod)(struct req *q);
};

#define BADCASE(name, field, body)                                                                \
    static void name(struct req *q) { body; }
BADCASE(b_name_lo, "interfaces[0].name", q->ifs[0].name = "lo")
BADCASE(b_name_dot, "interfaces[0].name", q->ifs[0].name = "..")
BADCASE(b_name_long, "interfaces[0].name", q->ifs[0].name = "a123456789012345")
BADCASE(b_name_space, "interfaces[0].name", q->ifs[0].name = "eth 0")
BADCASE(b_name_empty, "interfaces[0].name", q->ifs[0].name = "")
BADCASE(b_nic_mac, "interfaces[0].nic_mac", q->ifs[0].nic_mac = "52:54:00:c7:00")
BADCASE(b_nic_mac_hex, "interfaces[0].nic_mac", q->ifs[0].nic_mac = "52:54:00:c7:00:0g")
BADCASE(b_nic_mac_sep, "interfaces[0].nic_mac", q->ifs[0].nic_mac = "52-54-00-c7-00-00")
BADCASE(b_mac_zero, "interfaces[0].mac", q->ifs[0].mac = "00:00:00:00:00:00")
BADCASE(b_mac_mcast, "interfaces[0].mac", q->ifs[0].mac = "33:33:00:00:00:01")
BADCASE(b_mtu_low, "interfaces[0].mtu", q->ifs[0].mtu = 67)
BADCASE(b_mtu_high, "interfaces[0].mtu", q->ifs[0].mtu = 65536)
BADCASE(b_addr, "interfaces[0].addresses[0].address", q->addrs[0].address = "10.88.0")
BADCASE(b_addr_zero, "interfaces[0].addresses[1].address", q->addrs[1].address = "::")
BADCASE(b_addr_mcast, "interfaces[0].addresses[0].address", q->addrs[0].address = "224.0.0.1")
BADCASE(b_addr_long, "interfaces[0].addresses[0].address",
        q->addrs[0].address = "1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1111:2222:3333")
BADCASE(b_prefix4, "interfaces[0].addresses[0].prefix_len", q->addrs[0].prefix_len = 33)
BADCASE(b_prefix6, "interfaces[0].addresses[1].prefix_len", q->addrs[1].prefix_len = 129)
BADCASE(b_prefix0, "interfaces[0].addresses[0].prefix_len", q->addrs[0].prefix_len = 0)
BADCASE(b_dup_name, "interfaces[1].name", q->rq.n_interfaces = 2; q->ifs[1].nic_mac = "52:54:00:c7:00:01";
        q->ifs[1].name = "eth0")
BADCASE(b_dup_nic, "interfaces[1].nic_mac", q->rq.n_interfaces = 2; q->ifs[1].nic_mac = "52:54:00:C7:00:00";
        q->ifs[1].name = "eth1")
BADCASE(b_too_many_ifs, "interfaces: 17", q->rq.n_interfaces = 17)
BADCASE(b_too_many_routes, "routes: 257", q->rq.n_routes = 257)
BADCASE(b_too_many_neighs, "neighbors: 257", q->rq.n_neighbors = 257)
BADCASE(b_family, "routes[0].family", q->routes[0].family = 5)
BADCASE(b_family0, "routes[0].family", q->routes[0].family = 0)
BADCASE(b_dest_fam, "routes[2].dest", q->routes[2].dest = "fd00::")
BADCASE(b_dest_bits, "routes[2].dest", q->routes[2].dest = "10.89.1.0")
BADCASE(b_dest_len, "routes[2].dest_prefix_len", q->routes[2].dest_prefix_len = 33)
BADCASE(b_default_len, "routes[0].dest_prefix_len", q->routes[0].dest_prefix_len = 8)
BADCASE(b_gw_fam, "routes[1].gateway", q->routes[1].gateway = "10.0.0.1")
BADCASE(b_gw_zero, "routes[0].gateway", q->routes[0].gateway = "0.0.0.0")
BADCASE(b_dev, "routes[0].device", q->routes[0].device = "eth/0")
BADCASE(b_nodev_nogw, "routes[2]: needs", q->routes[2].device = "")
BADCASE(b_src, "routes[2].source", q->routes[2].source = "fd00::5")
BADCASE(b_neigh_addr, "neighbors[0].address", q->neighs[0].address = "")
BADCASE(b_neigh_ll, "neighbors[0].lladdr", q->neighs[0].lladdr = "02:00:00:00:00")
BADCASE(b_neigh_dev, "neighbors[0].device", q->neighs[0].device = "")

static const struct bad_case bad_cases[] = {
#define B(n, f) {f, n}
    B(b_name_lo, "interfaces[0].name"), B(b_name_dot, "interfaces[0].name"), B(b_name_long, "interfaces[0].name"),
    B(b_name_space, "interfaces[0].name"), B(b_name_empty, "interfaces[0].name"),
    B(b_nic_mac, "interfaces[0].nic_mac"), B(b_nic_mac_hex, "interfaces[0].nic_mac"),
    B(b_nic_mac_sep, "interfaces[0].nic_mac"), B(b_mac_zero, "interfaces[0].mac"),
    B(b_mac_mcast, "interfaces[0].mac"), B(b_mtu_low, "interfaces[0].mtu"), B(b_mtu_high, "interfaces[0].mtu"),
    B(b_addr, "interfaces[0].addresses[0].address"), B(b_addr_zero, "interfaces[0].addresses[1].address"),
    B(b_addr_mcast, "interfaces[0].addresses[0].address"), B(b_addr_long, "interfaces[0].addresses[0].address"),
    B(b_prefix4, "interfaces[0].addresses[0].prefix_len"), B(b_prefix6, "interfaces[0].addresses[1].prefix_len"),
    B(b_prefix0, "interfaces[0].addresses[0].prefix_len"), B(b_dup_name, "interfaces[1].name"),
    B(b_dup_nic, "interfaces[1].nic_mac"), B(b_too_many_ifs, "interfaces: 17"), B(b_too_many_routes, "routes: 257"),
    B(b_too_many_neighs, "neighbors: 257"), B(b_family, "routes[0].family"), B(b_family0, "routes[0].family"),
    B(b_dest_fam, "routes[2].dest"), B(b_dest_bits, "routes[2].dest"), B(b_dest_len, "routes[2].dest_prefix_len"),
    B(b_default_len, "routes[0].dest_prefix_len"), B(b_gw_fam, "routes[1].gateway"),
    B(b_gw_zero, "routes[0].gateway"), B(b_dev, "routes[0].device"), B(b_nodev_nogw, "routes[2]: needs"),
    B(b_src, "routes[2].source"), B(b_neigh_addr, "neighbors[0].address"), B(b_neigh_ll, "neighbors[0].lladdr"),
    B(b_neigh_dev, "neighbors[0].device"),
#undef B
};

START_TEST(validate_bad)
{
    static struct req q;
    static struct net_config cfg;
    const struct bad_case *c = &bad_cases[_i];
    struct cvm_err err = {0};
    good(&q);
    c->mod(&q);
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), -EINVAL);
    ck_assert_int_eq(err.code, RPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(err.msg, c->what), "case %d: message \"%s\" does not name %s", _i, err.msg, c->what);
}
END_TEST

START_TEST(text_helpers)
{
    uint8_t m[6];
    char s[NET_MAC_TEXT], tiny[5];
    ck_assert_int_eq(net_parse_mac("aA:bB:00:11:22:ff", m), 0);
    net_fmt_mac(m, 6, s, sizeof(s));
    ck_assert_str_eq(s, "aa:bb:00:11:22:ff");
    net_fmt_mac(m, 6, tiny, sizeof(tiny));
    ck_assert_str_eq(tiny, "aa"); /* whole octets only */
    net_fmt_mac(m, 0, s, sizeof(s));
    ck_assert_str_eq(s, "");
    ck_assert_int_eq(net_parse_mac("aa:bb:00:11:22:ff:", m), -EINVAL);
    ck_assert_int_eq(net_parse_mac(NULL, m), -EINVAL);
    ck_assert(net_ifname_valid("eth0.100", false));
    ck_assert(net_ifname_valid("lo", true));
    ck_assert(!net_ifname_valid("lo", false));
    ck_assert(!net_ifname_valid(".", true));
    ck_assert(!net_ifname_valid(NULL, true));
}
END_TEST

/* ---- for real, as root, in a namespace of the test's own ---- */

static void sh(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static const struct net_list_link *list_link(const struct net_list *l, const char *name)
{
    for (size_t i = 0; i < l->n_links; i++)
        if (!strcmp(l->links[i].name, name))
            return &l->links[i];
    return NULL;
}

START_TEST(real_netns)
{
    static struct req q;
    static struct net_config cfg;
    static struct net_list l;
    struct cvm_err err = {0};

    ck_assert_msg(geteuid() == 0, "this test configures a network namespace: run it as root");
    log_set_level(LOG_LVL_WARN);
    /* forked by Check: this process's namespaces are its own to change */
    ck_assert_int_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0);
    ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    sh("ip link set lo up && ip link add veth-g address 52:54:00:c7:00:00 type veth peer name veth-p");

    /* without parking, interfaces cannot be configured */
    good(&q);
    q.rq.n_routes = q.rq.n_neighbors = 0;
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    ck_assert_int_lt(net_configure(&cfg, &err), 0);
    ck_assert_int_eq(err.code, RPC_FAILED_PRECONDITION);

    char path[] = "/tmp/cvm-net-test.XXXXXX";
    int pf = mkstemp(path);
    ck_assert_int_ge(pf, 0);
    close(pf);
    err = (struct cvm_err){0};
    ck_assert_int_eq(net_park(path, &err), 0);
    ck_assert(net_parked());
    ck_assert_int_eq(net_list(&l, &err), 0);
    ck_assert_uint_eq(l.n_links, 1);
    ck_assert_str_eq(l.links[0].name, "lo");

    /* the full request; veth's peer is parked too, so the gateway is only on-link */
    good(&q);
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    for (int round = 0; round < 2; round++) { /* the second: idempotent */
        err = (struct cvm_err){0};
        ck_assert_msg(net_configure(&cfg, &err) == 0, "round %d: %s", round, err.msg);
    }
    ck_assert_int_eq(net_list(&l, &err), 0);
    const struct net_list_link *e0 = list_link(&l, "eth0");
    ck_assert_ptr_nonnull(e0);
    ck_assert_str_eq(e0->mac, "02:42:0a:fa:00:02");
    ck_assert_uint_eq(e0->mtu, 1500);
    int n4 = 0, n6 = 0, def4 = 0, def6 = 0, onlink = 0;
    for (size_t i = 0; i < l.n_addrs; i++) {
        n4 += l.addrs[i].ifindex == e0->ifindex && !strcmp(l.addrs[i].addr, "10.88.0.5") && l.addrs[i].prefix == 16;
        n6 += l.addrs[i].ifindex == e0->ifindex && !strcmp(l.addrs[i].addr, "fd00:88::5") && l.addrs[i].prefix == 64;
        ck_assert(strncmp(l.addrs[i].addr, "fe80", 4) != 0);
    }
    for (size_t i = 0; i < l.n_routes; i++) {
        const struct net_list_route *r = &l.routes[i];
        def4 += r->family == 4 && !r->dest[0] && !strcmp(r->gateway, "10.88.0.1") && !strcmp(r->device, "eth0");
        def6 += r->family == 6 && !r->dest[0] && !strcmp(r->gateway, "fe80::1") && r->metric == 1024;
        onlink += !strcmp(r->dest, "10.89.0.0") && r->dest_len == 16 && !strcmp(r->source, "10.88.0.5");
        ck_assert(strncmp(r->dest, "fe80", 4) != 0);
    }
    ck_assert_int_eq(n4 + n6 + def4 + def6 + onlink, 5);
    ck_assert_uint_eq(l.n_neighs, 1);
    ck_assert_str_eq(l.neighs[0].addr, "10.88.0.1");
    ck_assert_str_eq(l.neighs[0].lladdr, "02:00:00:00:00:01");
    ck_assert_str_eq(l.neighs[0].device, "eth0");

    /* a NIC nobody has */
    q.ifs[0].nic_mac = "52:54:00:c7:00:07";
    q.ifs[0].name = "eth1";
    q.rq.n_routes = q.rq.n_neighbors = 0;
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    err = (struct cvm_err){0};
    ck_assert_int_eq(net_configure(&cfg, &err), -ENOENT);
    ck_assert_int_eq(err.code, RPC_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "52:54:00:c7:00:07"));
    /* eth0's name taken by a different MAC */
    q.ifs[0].nic_mac = "52:54:00:c7:00:00";
    q.ifs[0].name = "eth0";
    q.ifs[0].mac = "02:42:0a:fa:00:99";
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    err = (struct cvm_err){0};
    ck_assert_int_eq(net_configure(&cfg, &err), -EEXIST);
    ck_assert_int_eq(err.code, RPC_ALREADY_EXISTS);
    /* a kernel refusal names the route */
    good(&q);
    q.rq.n_interfaces = 0;
    q.routes[0].gateway = "10.77.0.1";
    q.rq.n_routes = 1;
    q.rq.n_neighbors = 0;
    ck_assert_int_eq(net_config_from_request(&q.rq, &cfg, &err), 0);
    err = (struct cvm_err){0};
    ck_assert_int_lt(net_configure(&cfg, &err), 0);
    ck_assert_msg(strstr(err.msg, "route default via 10.77.0.1 dev eth0: ") != NULL, "%s", err.msg);

    net_unpark();
    ck_assert(!net_parked());
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* ---- the RPCs through a real ttrpc server and client (rpc_net.c) ---- */

static struct agent A;
static struct ttrpc_server *srv;
static struct ttrpc_client *cli;

static void rpc_setup(void)
{
    int sv[2];
    memset(&A, 0, sizeof(A));
    ck_assert_int_eq(loop_new(&A.loop), 0);
    agent_global = &A;
    struct ttrpc_server_opts o = {0};
    ck_assert_int_eq(ttrpc_server_new(A.loop, &o, &srv), 0);
    ck_assert_int_eq(rpc_register(&A, srv), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(srv, sv[0]), 0);
    ck_assert_int_eq(ttrpc_client_new(A.loop, sv[1], &cli), 0);
    log_set_level(LOG_LVL_ERROR);
}

static void rpc_teardown(void)
{
    ttrpc_client_free(cli);
    ttrpc_server_free(srv);
    loop_run_once(A.loop, 0);
    loop_free(A.loop);
}

static int rpc_call(const char *method, const ProtobufCMessage *req, uint8_t **out, size_t *len, char *msg)
{
    struct cvm_err err = {0};
    uint8_t *p = NULL;
    size_t l = 0;
    int r = ttrpc_client_call_sync(cli, A.loop, AGENT_SERVICE, method, req, NULL, 0, 5000000000ull, &p, &l, &err);
    snprintf(msg, 256, "%s", err.msg);
    if (r < 0)
        return err.code;
    if (out)
        *out = p, *len = l;
    else
        free(p);
    return 0;
}

START_TEST(rpc_configure_and_list)
{
    static struct req q;
    char msg[256];
    uint8_t *p = NULL;
    size_t l = 0;

    /* a payload that is no ConfigureNetworkRequest */
    Cvm__Agent__V1__NetRoute junk = CVM__AGENT__V1__NET_ROUTE__INIT;
    junk.dest = "\xff\xff\xff";
    ck_assert_int_eq(rpc_call("ConfigureNetwork", &junk.base, NULL, NULL, msg), RPC_INTERNAL);

    good(&q);
    q.ifs[0].name = "lo";
    ck_assert_int_eq(rpc_call("ConfigureNetwork", &q.rq.base, NULL, NULL, msg), RPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "interfaces[0].name") != NULL, "%s", msg);
    good(&q);
    ck_assert_int_eq(rpc_call("ConfigureNetwork", &q.rq.base, NULL, NULL, msg), RPC_FAILED_PRECONDITION);
    Cvm__Agent__V1__ConfigureNetworkRequest empty = CVM__AGENT__V1__CONFIGURE_NETWORK_REQUEST__INIT;
    ck_assert_int_eq(rpc_call("ConfigureNetwork", &empty.base, NULL, NULL, msg), RPC_OK);

    /* as root, list a namespace of our own (lo only); else the one we are in, read-only */
    if (geteuid() == 0)
        ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    Cvm__Agent__V1__Empty e = CVM__AGENT__V1__EMPTY__INIT;
    ck_assert_int_eq(rpc_call("ListNetwork", &e.base, &p, &l, msg), RPC_OK);
    Cvm__Agent__V1__ListNetworkResponse *rs = cvm__agent__v1__list_network_response__unpack(NULL, l, p);
    ck_assert_ptr_nonnull(rs);
    bool lo = false;
    for (size_t i = 0; i < rs->n_interfaces; i++)
        lo |= !strcmp(rs->interfaces[i]->name, "lo") && !strcmp(rs->interfaces[i]->mac, "00:00:00:00:00:00");
    ck_assert(lo);
    if (geteuid() == 0) {
        ck_assert_uint_eq(rs->n_interfaces, 1);
        ck_assert_uint_eq(rs->interfaces[0]->n_addresses, 0); /* lo down: no addresses yet */
    }
    cvm__agent__v1__list_network_response__free_unpacked(rs, NULL);
    free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_net");
    TCase *tc = tcase_create("validate");
    tcase_add_test(tc, validate_good);
    tcase_add_loop_test(tc, validate_bad, 0, (int)ELEMENTSOF(bad_cases));
    tcase_add_test(tc, text_helpers);
    suite_add_tcase(s, tc);
    tc = tcase_create("rpc");
    tcase_add_checked_fixture(tc, rpc_setup, rpc_teardown);
    tcase_add_test(tc, rpc_configure_and_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("netns");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, real_netns);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

/* shim/net*.c: the attach plan, the agent request and the placeholder MACs (pure), and as
 * root, in fresh network namespaces: net_scan of a veth with IPv4/IPv6 addresses, routes and
 * a neighbour; net_attach to a tap (held open as QEMU would) with frames crossing both ways;
 * net_detach leaving nothing behind. Fixtures are made with ip(8); assertions use tc(8). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../shim/net/net.h"
#include "check_main.h"
#include "errmap.h"

/* ---- pure: names and MACs ---- */

START_TEST(test_nic_mac)
{
    char mac[NET_MAC_STRLEN], tap[IFNAMSIZ];
    ck_assert_int_eq(net_nic_mac(0, mac), 0);
    ck_assert_str_eq(mac, "52:54:00:c7:00:00");
    ck_assert_int_eq(net_nic_mac(7, mac), 0);
    ck_assert_str_eq(mac, "52:54:00:c7:00:07");
    ck_assert_int_eq(net_nic_mac(255, mac), 0);
    ck_assert_str_eq(mac, "52:54:00:c7:00:ff");
    ck_assert_int_eq(net_nic_mac(256, mac), -EINVAL);
    /* unicast, locally administered */
    ck_assert_int_eq(0x52 & 0x01, 0);
    ck_assert_int_eq(0x52 & 0x02, 0x02);
    ck_assert_int_eq(net_tap_name(0, tap), 0);
    ck_assert_str_eq(tap, "cvmtap0");
    ck_assert_int_eq(net_tap_name(12, tap), 0);
    ck_assert_str_eq(tap, "cvmtap12");
    ck_assert_int_eq(net_tap_name(NET_MAX_NICS, tap), -EINVAL);
}
END_TEST

START_TEST(test_of_interest)
{
    const unsigned ether = 1 /* ARPHRD_ETHER */, up = 0x1;
    ck_assert(net_link_of_interest("eth0", "veth", ether, up));
    ck_assert(net_link_of_interest("net1", "macvlan", ether, up));
    ck_assert(net_link_of_interest("net2", "ipvlan", ether, 0));
    ck_assert(net_link_of_interest("ens5", "", ether, up)); /* host-device */
    ck_assert(!net_link_of_interest("lo", "", 772 /* ARPHRD_LOOPBACK */, 0x8));
    ck_assert(!net_link_of_interest("cvmtap0", "tun", ether, up));
    ck_assert(!net_link_of_interest("cvmtap3", "", ether, up));
    ck_assert(!net_link_of_interest("tap9", "tun", ether, up));
    ck_assert(!net_link_of_interest("sit0", "sit", 776 /* ARPHRD_SIT */, 0));
    ck_assert(!net_link_of_interest("br0", "bridge", ether, up));
    ck_assert(!net_link_of_interest("wg0", "wireguard", 65534, up));
}
END_TEST

/* ---- pure: the plan ---- */

static void add_link(struct net_state *s, const char *name, int ifindex)
{
    struct net_link *l = &s->links[s->n_links++];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->kind, sizeof(l->kind), "veth");
    l->ifindex = ifindex;
    l->mtu = 1500;
    l->up = true;
}

static struct net_state *three_links(void)
{
    static struct net_state s;
    memset(&s, 0, sizeof(s));
    add_link(&s, "eth0", 2);
    add_link(&s, "net1", 3);
    add_link(&s, "net2", 4);
    return &s;
}

START_TEST(test_plan_fresh)
{
    struct net_attached out[NET_MAX_IFACES];
    struct cvm_err err = { 0 };
    size_t n = 99;
    ck_assert_int_eq(net_plan(three_links(), NULL, 0, 4, out, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(out[0].ifname, "eth0");
    ck_assert_uint_eq(out[0].nic, 0);
    ck_assert_str_eq(out[1].ifname, "net1");
    ck_assert_uint_eq(out[1].nic, 1);
    ck_assert_str_eq(out[2].ifname, "net2");
    ck_assert_uint_eq(out[2].nic, 2);
}
END_TEST

START_TEST(test_plan_some_attached)
{
    struct net_attached out[NET_MAX_IFACES];
    struct cvm_err err = { 0 };
    size_t n;
    /* eth0 holds NIC 1: net1 gets the free NIC 0, net2 the next free, 2. */
    const struct net_attached a1[] = { { "eth0", 1 } };
    ck_assert_int_eq(net_plan(three_links(), a1, 1, 3, out, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].ifname, "net1");
    ck_assert_uint_eq(out[0].nic, 0);
    ck_assert_str_eq(out[1].ifname, "net2");
    ck_assert_uint_eq(out[1].nic, 2);
    /* all attached: nothing new */
    const struct net_attached a3[] = { { "net2", 0 }, { "eth0", 1 }, { "net1", 2 } };
    ck_assert_int_eq(net_plan(three_links(), a3, 3, 3, out, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(test_plan_too_many)
{
    struct net_attached out[NET_MAX_IFACES];
    struct cvm_err err = { 0 };
    size_t n = 99;
    ck_assert_int_eq(net_plan(three_links(), NULL, 0, 2, out, &n, &err), -ENOSPC);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(err.msg, "sandbox netns has 3 interfaces (eth0 net1 net2) but the VM has 2 NICs: "
                              "set \"spare_nics\" in the runtime config");
    ck_assert_int_eq(err.code, RPC_RESOURCE_EXHAUSTED);

    /* An interface that went away still holds its NIC: no room for the new one. */
    struct net_state *s = three_links();
    s->n_links = 1;
    memset(&err, 0, sizeof(err));
    const struct net_attached gone[] = { { "old0", 0 } };
    ck_assert_int_eq(net_plan(s, gone, 1, 1, out, &n, &err), -ENOSPC);
    ck_assert_ptr_nonnull(strstr(err.msg, "no free NIC for eth0"));
    /* no NICs at all, no interfaces: fine */
    s->n_links = 0;
    ck_assert_int_eq(net_plan(s, NULL, 0, 0, out, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- pure: the agent request ---- */

static void pton(int family, const char *txt, uint8_t out[16])
{
    memset(out, 0, 16);
    ck_assert_int_eq(inet_pton(family, txt, out), 1);
}

static void add_addr(struct net_link *l, int family, const char *txt, unsigned len)
{
    struct net_addr *a = &l->addrs[l->n_addrs++];
    a->family = family;
    pton(family, txt, a->addr);
    a->prefix_len = len;
}

static void add_route(struct net_state *s, int family, const char *dst, unsigned len, const char *gw,
                      const char *dev, uint32_t metric, const char *src)
{
    struct net_route *r = &s->routes[s->n_routes++];
    memset(r, 0, sizeof(*r));
    r->family = family;
    r->dst.family = family;
    if (dst)
        pton(family, dst, r->dst.addr);
    r->dst.prefix_len = len;
    if (gw) {
        r->has_gateway = true;
        pton(family, gw, r->gateway);
    }
    snprintf(r->dev, sizeof(r->dev), "%s", dev);
    r->metric = metric;
    if (src) {
        r->has_prefsrc = true;
        pton(family, src, r->prefsrc);
    }
}

static void add_neigh(struct net_state *s, int family, const char *addr, const uint8_t ll[6], const char *dev)
{
    struct net_neigh *n = &s->neighs[s->n_neighs++];
    n->family = family;
    pton(family, addr, n->addr);
    memcpy(n->lladdr, ll, 6);
    snprintf(n->dev, sizeof(n->dev), "%s", dev);
    n->permanent = true;
}

START_TEST(test_agent_request)
{
    static struct net_state s;
    static struct net_request_storage st;
    Cvm__Agent__V1__ConfigureNetworkRequest req;
    memset(&s, 0, sizeof(s));
    add_link(&s, "eth0", 2);
    add_link(&s, "net1", 3);
    const uint8_t mac0[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    memcpy(s.links[0].mac, mac0, 6);
    s.links[0].mtu = 1450;
    add_addr(&s.links[0], AF_INET, "10.88.0.5", 16);
    add_addr(&s.links[0], AF_INET6, "fd00:88::5", 64);
    add_addr(&s.links[1], AF_INET, "192.168.7.2", 24);
    add_route(&s, AF_INET, NULL, 0, "10.88.0.1", "eth0", 0, NULL);          /* default, v4 */
    add_route(&s, AF_INET, "10.88.0.0", 16, NULL, "eth0", 0, "10.88.0.5");  /* on-link */
    add_route(&s, AF_INET6, NULL, 0, "fe80::1", "eth0", 1024, NULL);        /* default, v6 */
    add_route(&s, AF_INET6, "fd00:88::", 64, NULL, "eth0", 256, NULL);      /* on-link */
    add_route(&s, AF_INET, "192.168.7.0", 24, NULL, "net1", 0, NULL);       /* not requested */
    const uint8_t gw4[6] = { 0x02, 0, 0, 0, 0, 0x01 }, gw6[6] = { 0x02, 0, 0, 0, 0, 0x02 };
    add_neigh(&s, AF_INET, "10.88.0.1", gw4, "eth0");
    add_neigh(&s, AF_INET6, "fe80::1", gw6, "eth0");
    add_neigh(&s, AF_INET, "192.168.7.1", gw4, "net1");

    const struct net_attached att[] = { { "eth0", 3 } };
    ck_assert_int_eq(net_agent_request(&s, att, 1, &req, &st), 0);

    ck_assert_uint_eq(req.n_interfaces, 1);
    Cvm__Agent__V1__NetInterface *ni = req.interfaces[0];
    ck_assert_str_eq(ni->nic_mac, "52:54:00:c7:00:03");
    ck_assert_str_eq(ni->name, "eth0");
    ck_assert_str_eq(ni->mac, "02:11:22:33:44:55");
    ck_assert_uint_eq(ni->mtu, 1450);
    ck_assert_uint_eq(ni->n_addresses, 2);
    ck_assert_str_eq(ni->addresses[0]->address, "10.88.0.5");
    ck_assert_uint_eq(ni->addresses[0]->prefix_len, 16);
    ck_assert_str_eq(ni->addresses[1]->address, "fd00:88::5");
    ck_assert_uint_eq(ni->addresses[1]->prefix_len, 64);

    /* net1's route left out; on-link routes ahead of those through a gateway */
    ck_assert_uint_eq(req.n_routes, 4);
    Cvm__Agent__V1__NetRoute **r = req.routes;
    ck_assert_uint_eq(r[0]->family, 4);
    ck_assert_str_eq(r[0]->dest, "10.88.0.0");
    ck_assert_uint_eq(r[0]->dest_prefix_len, 16);
    ck_assert_str_eq(r[0]->gateway, "");
    ck_assert_str_eq(r[0]->source, "10.88.0.5");
    ck_assert_str_eq(r[0]->device, "eth0");
    ck_assert_uint_eq(r[1]->family, 6);
    ck_assert_str_eq(r[1]->dest, "fd00:88::");
    ck_assert_uint_eq(r[1]->dest_prefix_len, 64);
    ck_assert_uint_eq(r[1]->metric, 256);
    ck_assert_str_eq(r[1]->source, "");
    ck_assert_uint_eq(r[2]->family, 4);
    ck_assert_str_eq(r[2]->dest, "");
    ck_assert_uint_eq(r[2]->dest_prefix_len, 0);
    ck_assert_str_eq(r[2]->gateway, "10.88.0.1");
    ck_assert_uint_eq(r[3]->family, 6);
    ck_assert_str_eq(r[3]->dest, "");
    ck_assert_str_eq(r[3]->gateway, "fe80::1");
    ck_assert_uint_eq(r[3]->metric, 1024);
    ck_assert_str_eq(r[3]->device, "eth0");

    ck_assert_uint_eq(req.n_neighbors, 2);
    ck_assert_str_eq(req.neighbors[0]->address, "10.88.0.1");
    ck_assert_str_eq(req.neighbors[0]->lladdr, "02:00:00:00:00:01");
    ck_assert_str_eq(req.neighbors[0]->device, "eth0");
    ck_assert_str_eq(req.neighbors[1]->address, "fe80::1");
    ck_assert_str_eq(req.neighbors[1]->lladdr, "02:00:00:00:00:02");

    /* it packs and unpacks to the same thing */
    size_t len = cvm__agent__v1__configure_network_request__get_packed_size(&req);
    uint8_t *buf = malloc(len);
    ck_assert_uint_eq(cvm__agent__v1__configure_network_request__pack(&req, buf), len);
    Cvm__Agent__V1__ConfigureNetworkRequest *u = cvm__agent__v1__configure_network_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n_routes, 4);
    ck_assert_str_eq(u->interfaces[0]->addresses[1]->address, "fd00:88::5");
    ck_assert_str_eq(u->routes[3]->gateway, "fe80::1");
    cvm__agent__v1__configure_network_request__free_unpacked(u, NULL);
    free(buf);

    /* both interfaces; an unknown name is refused */
    const struct net_attached both[] = { { "eth0", 0 }, { "net1", 1 } };
    ck_assert_int_eq(net_agent_request(&s, both, 2, &req, &st), 0);
    ck_assert_uint_eq(req.n_interfaces, 2);
    ck_assert_uint_eq(req.n_routes, 5);
    ck_assert_uint_eq(req.n_neighbors, 3);
    ck_assert_str_eq(req.interfaces[1]->nic_mac, "52:54:00:c7:00:01");
    const struct net_attached bad[] = { { "eth9", 0 } };
    ck_assert_int_eq(net_agent_request(&s, bad, 1, &req, &st), -EINVAL);
    /* nothing new: an empty request */
    ck_assert_int_eq(net_agent_request(&s, NULL, 0, &req, &st), 0);
    ck_assert_uint_eq(req.n_interfaces + req.n_routes + req.n_neighbors, 0);
}
END_TEST

/* ---- root: real namespaces ---- */

/* The test process stays in its own netns; "outside" holds the veth's far end (the host side
 * CNI would leave in the root netns), "sandbox" the pod's end and the tap. */
struct fixture {
    int self_ns, outside_ns, sandbox_ns;
    int tap_fd;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* stdout of a command run in netns fd, into a static buffer */
static const char *ns_out(int ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ns_out(int ns, const char *fmt, ...)
{
    static char out[16384];
    char cmd[1024];
    char inner[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inner, sizeof(inner), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "nsenter --net=/proc/%d/fd/%d sh -c '%s'", getpid(), ns, inner);
    FILE *p = popen(cmd, "re");
    ck_assert_ptr_nonnull(p);
    size_t len = fread(out, 1, sizeof(out) - 1, p);
    out[len] = 0;
    pclose(p);
    return out;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int open_ns(void)
{
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static ino_t ns_ino(void)
{
    struct stat st;
    ck_assert_int_eq(stat("/proc/thread-self/ns/net", &st), 0);
    return st.st_ino;
}

static int make_tap(const char *name)
{
    struct stat st;
    ck_assert_msg(stat("/dev/net/tun", &st) == 0 && S_ISCHR(st.st_mode), "/dev/net/tun missing: %m");
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open /dev/net/tun: %m");
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ck_assert_msg(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF %s: %m", name);
    return fd;
}

/* In the sandbox netns: eth0 (02:11:22:33:44:55, MTU 1400, veth, far end peer0 outside) with
 * 10.88.0.5/16 and fd00:88::5/64, default routes of both families, a permanent neighbour, a
 * route on lo, and the tap cvmtap0 held open. Back in our own netns on return. */
static void setup(struct fixture *f)
{
    ck_assert_msg(geteuid() == 0, "needs root (network namespaces)");
    f->self_ns = open_ns();
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    f->outside_ns = open_ns();
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    f->sandbox_ns = open_ns();
    int pid = getpid();
    ck_assert_int_eq(run("ip link set lo up && "
                         "ip link add eth0 address 02:11:22:33:44:55 mtu 1400 type veth peer name peer0 "
                         "netns /proc/%d/fd/%d && "
                         "ip addr add 10.88.0.5/16 dev eth0 && ip -6 addr add fd00:88::5/64 dev eth0 nodad && "
                         "ip link set eth0 up && "
                         "nsenter --net=/proc/%d/fd/%d sh -c 'ip link set peer0 mtu 1400 up' && "
                         "ip route add default via 10.88.0.1 dev eth0 && "
                         "ip -6 route add default via fd00:88::1 dev eth0 metric 1024 && "
                         "ip neigh add 10.88.0.1 lladdr 02:00:00:00:00:01 dev eth0 nud permanent && "
                         "ip neigh add fd00:88::1 lladdr 02:00:00:00:00:02 dev eth0 nud permanent && "
                         "ip route add 192.0.2.0/24 dev lo",
                         pid, f->outside_ns, pid, f->outside_ns),
                     0);
    f->tap_fd = make_tap("cvmtap0");
    ck_assert_int_eq(setns(f->self_ns, CLONE_NEWNET), 0);
}

static const struct net_route *find_route(const struct net_state *s, int family, const char *dst, unsigned len)
{
    uint8_t a[16] = { 0 };
    if (dst)
        pton(family, dst, a);
    for (size_t i = 0; i < s->n_routes; i++)
        if (s->routes[i].family == family && s->routes[i].dst.prefix_len == len &&
            memcmp(s->routes[i].dst.addr, a, 16) == 0)
            return &s->routes[i];
    return NULL;
}

START_TEST(test_scan)
{
    struct fixture f;
    static struct net_state s;
    struct cvm_err err = { 0 };
    setup(&f);
    ino_t before = ns_ino();

    ck_assert_msg(net_scan(f.sandbox_ns, &s, &err) == 0, "net_scan: %s", err.msg);
    ck_assert_uint_eq(ns_ino(), before); /* we never left our netns */

    ck_assert_uint_eq(s.n_links, 1); /* not lo, not cvmtap0 */
    const struct net_link *l = &s.links[0];
    ck_assert_str_eq(l->name, "eth0");
    ck_assert_str_eq(l->kind, "veth");
    const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    ck_assert_mem_eq(l->mac, mac, 6);
    ck_assert_uint_eq(l->mtu, 1400);
    ck_assert(l->up);
    ck_assert_int_gt(l->ifindex, 0);
    /* fe80:: (made when eth0 came up) is left out */
    ck_assert_uint_eq(l->n_addrs, 2);
    uint8_t a4[16], a6[16];
    pton(AF_INET, "10.88.0.5", a4);
    pton(AF_INET6, "fd00:88::5", a6);
    for (size_t i = 0; i < 2; i++) {
        const struct net_addr *a = &l->addrs[i];
        if (a->family == AF_INET) {
            ck_assert_mem_eq(a->addr, a4, 16);
            ck_assert_uint_eq(a->prefix_len, 16);
        } else {
            ck_assert_int_eq(a->family, AF_INET6);
            ck_assert_mem_eq(a->addr, a6, 16);
            ck_assert_uint_eq(a->prefix_len, 64);
        }
    }

    /* main-table unicast routes on eth0 only: no 192.0.2.0/24 (lo), no fe80::/64, no ff00::/8 */
    ck_assert_uint_eq(s.n_routes, 4);
    const struct net_route *r = find_route(&s, AF_INET, NULL, 0);
    uint8_t gw[16];
    ck_assert_ptr_nonnull(r);
    ck_assert(r->has_gateway);
    pton(AF_INET, "10.88.0.1", gw);
    ck_assert_mem_eq(r->gateway, gw, 16);
    ck_assert_str_eq(r->dev, "eth0");
    r = find_route(&s, AF_INET, "10.88.0.0", 16);
    ck_assert_ptr_nonnull(r);
    ck_assert(!r->has_gateway);
    ck_assert(r->has_prefsrc);
    ck_assert_mem_eq(r->prefsrc, a4, 16);
    r = find_route(&s, AF_INET6, NULL, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert(r->has_gateway);
    pton(AF_INET6, "fd00:88::1", gw);
    ck_assert_mem_eq(r->gateway, gw, 16);
    ck_assert_uint_eq(r->metric, 1024);
    r = find_route(&s, AF_INET6, "fd00:88::", 64);
    ck_assert_ptr_nonnull(r);
    ck_assert(!r->has_gateway);
    ck_assert_uint_eq(r->metric, 256);

    ck_assert_uint_eq(s.n_neighs, 2);
    ck_assert_int_eq(s.neighs[0].family + s.neighs[1].family, AF_INET + AF_INET6);
    const struct net_neigh *n4 = s.neighs[0].family == AF_INET ? &s.neighs[0] : &s.neighs[1];
    pton(AF_INET, "10.88.0.1", gw);
    ck_assert_mem_eq(n4->addr, gw, 16);
    const uint8_t ll[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    ck_assert_mem_eq(n4->lladdr, ll, 6);
    ck_assert_str_eq(n4->dev, "eth0");
    ck_assert(n4->permanent);

    /* and it makes a complete request */
    static struct net_request_storage st;
    Cvm__Agent__V1__ConfigureNetworkRequest req;
    const struct net_attached att[] = { { "eth0", 0 } };
    ck_assert_int_eq(net_agent_request(&s, att, 1, &req, &st), 0);
    ck_assert_uint_eq(req.n_interfaces, 1);
    ck_assert_uint_eq(req.n_routes, 4);
    ck_assert_uint_eq(req.n_neighbors, 2);
    ck_assert_str_eq(req.routes[0]->gateway, "");
    ck_assert_str_ne(req.routes[3]->gateway, "");
}
END_TEST

START_TEST(test_scan_too_many)
{
    struct fixture f;
    static struct net_state s;
    struct cvm_err err = { 0 };
    setup(&f);
    ck_assert_int_eq(run("nsenter --net=/proc/%d/fd/%d sh -c 'for i in 1 2 3 4 5 6 7 8; do "
                         "ip link add net$i type veth peer name p$i || exit 1; done'",
                         getpid(), f.sandbox_ns),
                     0);
    /* eth0 + net1..8 + their 8 peers (veths too) */
    ck_assert_int_eq(net_scan(f.sandbox_ns, &s, &err), -E2BIG);
    ck_assert_msg(strstr(err.msg, "sandbox netns has 17 interfaces (eth0 ") && strstr(err.msg, " net8") &&
                      strstr(err.msg, "at most 8 are supported"),
                  "%s", err.msg);
}
END_TEST

static int packet_socket(int ns, const char *ifname)
{
    int self = open_ns();
    ck_assert_int_eq(setns(ns, CLONE_NEWNET), 0);
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    ck_assert_int_ge(fd, 0);
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)if_nametoindex(ifname) };
    ck_assert_int_gt(sll.sll_ifindex, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
    ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
    close(self);
    return fd;
}

#define TEST_ETHERTYPE 0x88b5 /* IEEE local experimental */

static size_t frame(uint8_t *buf, const char *payload)
{
    const uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, src[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = TEST_ETHERTYPE >> 8;
    buf[13] = TEST_ETHERTYPE & 0xff;
    size_t n = strlen(payload);
    memcpy(buf + 14, payload, n);
    memset(buf + 14 + n, 0, 60 - 14 - n);
    return 60;
}

/* Wait up to 3 s for our test frame carrying payload on fd (anything else, e.g. IPv6 ND, is
 * skipped). */
static bool got_frame(int fd, const char *payload)
{
    for (int tries = 0; tries < 300; tries++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 10) <= 0)
            continue;
        uint8_t buf[2048];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n >= 14 + (ssize_t)strlen(payload) && buf[12] == (TEST_ETHERTYPE >> 8) &&
            buf[13] == (TEST_ETHERTYPE & 0xff) && memcmp(buf + 14, payload, strlen(payload)) == 0)
            return true;
    }
    return false;
}

START_TEST(test_attach_detach)
{
    struct fixture f;
    struct cvm_err err = { 0 };
    setup(&f);
    ino_t before = ns_ino();

    ck_assert_int_eq(net_tap_ready(f.sandbox_ns, "cvmtap0"), 1);
    ck_assert_int_eq(net_tap_ready(f.sandbox_ns, "cvmtap1"), 0);

    ck_assert_msg(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err) == 0, "net_attach: %s", err.msg);
    ck_assert_uint_eq(ns_ino(), before);
    const char *o = ns_out(f.sandbox_ns, "tc qdisc show dev eth0");
    ck_assert_msg(strstr(o, "qdisc ingress ffff:"), "%s", o);
    o = ns_out(f.sandbox_ns, "tc qdisc show dev cvmtap0");
    ck_assert_msg(strstr(o, "qdisc ingress ffff:"), "%s", o);
    o = ns_out(f.sandbox_ns, "tc filter show dev eth0 ingress");
    ck_assert_msg(strstr(o, "protocol all pref 1 u32") && strstr(o, "match 00000000/00000000 at 0") &&
                      count(o, "mirred (Egress Redirect to device cvmtap0) stolen") == 1,
                  "%s", o);
    o = ns_out(f.sandbox_ns, "tc filter show dev cvmtap0 ingress");
    ck_assert_msg(count(o, "mirred (Egress Redirect to device eth0) stolen") == 1, "%s", o);
    o = ns_out(f.sandbox_ns, "ip link show cvmtap0");
    ck_assert_msg(strstr(o, "mtu 1400") && strstr(o, ",UP"), "%s", o);

    /* again: fine, and still one filter each way */
    ck_assert_msg(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err) == 0, "net_attach again: %s", err.msg);
    o = ns_out(f.sandbox_ns, "tc filter show dev eth0 ingress");
    ck_assert_msg(count(o, "mirred (Egress Redirect") == 1, "%s", o);
    o = ns_out(f.sandbox_ns, "tc filter show dev cvmtap0 ingress");
    ck_assert_msg(count(o, "mirred (Egress Redirect") == 1, "%s", o);

    /* guest -> host: written into the tap (as QEMU does) it leaves on eth0 to peer0 */
    int peer = packet_socket(f.outside_ns, "peer0");
    uint8_t buf[64];
    size_t n = frame(buf, "cvm guest to host");
    ck_assert_int_eq(write(f.tap_fd, buf, n), (ssize_t)n);
    ck_assert_msg(got_frame(peer, "cvm guest to host"), "frame written into cvmtap0 did not reach peer0");
    /* host -> guest: sent by peer0, it comes in on eth0 and out of the tap to QEMU */
    n = frame(buf, "cvm host to guest");
    ck_assert_int_eq(write(peer, buf, n), (ssize_t)n);
    ck_assert_msg(got_frame(f.tap_fd, "cvm host to guest"), "frame sent by peer0 did not reach cvmtap0");

    ck_assert_msg(net_detach(f.sandbox_ns, "eth0", &err) == 0, "net_detach: %s", err.msg);
    ck_assert_uint_eq(ns_ino(), before);
    o = ns_out(f.sandbox_ns, "tc qdisc show; tc filter show dev eth0 ingress; tc filter show dev cvmtap0 ingress");
    ck_assert_msg(!strstr(o, "ingress") && !strstr(o, "u32") && !strstr(o, "mirred"), "left behind: %s", o);
    /* the path is cut: nothing crosses any more */
    n = frame(buf, "cvm after detach");
    ck_assert_int_eq(write(f.tap_fd, buf, n), (ssize_t)n);
    ck_assert(!got_frame(peer, "cvm after detach"));

    /* detach again, or of an interface that does not exist: nothing to do */
    ck_assert_int_eq(net_detach(f.sandbox_ns, "eth0", &err), 0);
    ck_assert_int_eq(net_detach(f.sandbox_ns, "nope0", &err), 0);
    close(peer);
}
END_TEST

START_TEST(test_detach_after_qemu)
{
    struct fixture f;
    struct cvm_err err = { 0 };
    setup(&f);
    ck_assert_msg(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err) == 0, "net_attach: %s", err.msg);
    close(f.tap_fd); /* QEMU exits: its tap goes */
    ck_assert_int_eq(net_tap_ready(f.sandbox_ns, "cvmtap0"), 0);

    /* a new QEMU makes the tap anew (new ifindex): attaching again points the filters at it */
    int self = open_ns();
    ck_assert_int_eq(setns(f.sandbox_ns, CLONE_NEWNET), 0);
    f.tap_fd = make_tap("cvmtap0");
    ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
    close(self);
    ck_assert_msg(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err) == 0, "net_attach: %s", err.msg);
    const char *o = ns_out(f.sandbox_ns, "tc filter show dev eth0 ingress");
    ck_assert_msg(count(o, "mirred (Egress Redirect to device cvmtap0) stolen") == 1, "%s", o);
    int peer = packet_socket(f.outside_ns, "peer0");
    uint8_t buf[64];
    size_t n = frame(buf, "cvm new tap");
    ck_assert_int_eq(write(f.tap_fd, buf, n), (ssize_t)n);
    ck_assert_msg(got_frame(peer, "cvm new tap"), "frame written into the new cvmtap0 did not reach peer0");
    close(peer);
    close(f.tap_fd);
    ck_assert_msg(net_detach(f.sandbox_ns, "eth0", &err) == 0, "net_detach: %s", err.msg);
    o = ns_out(f.sandbox_ns, "tc qdisc show; tc filter show dev eth0 ingress");
    ck_assert_msg(!strstr(o, "ingress") && !strstr(o, "mirred"), "left behind: %s", o);
}
END_TEST

START_TEST(test_attach_errors)
{
    struct fixture f;
    struct cvm_err err = { 0 };
    setup(&f);
    ck_assert_int_eq(net_attach(f.sandbox_ns, "eth0", "cvmtap7", &err), -ENODEV);
    ck_assert_msg(strstr(err.msg, "cvmtap7"), "%s", err.msg);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(net_attach(f.sandbox_ns, "eth9", "cvmtap0", &err), -ENODEV);

    /* someone else's clsact (say, a BPF program) on eth0: refused, and left alone */
    ck_assert_int_eq(run("nsenter --net=/proc/%d/fd/%d tc qdisc add dev eth0 clsact", getpid(), f.sandbox_ns), 0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err), -EBUSY);
    ck_assert_msg(strstr(err.msg, "clsact"), "%s", err.msg);
    const char *o = ns_out(f.sandbox_ns, "tc qdisc show");
    ck_assert_msg(strstr(o, "qdisc clsact ffff: dev eth0") && !strstr(o, "qdisc ingress"), "%s", o);
    ck_assert_int_eq(net_detach(f.sandbox_ns, "eth0", &err), 0);
    o = ns_out(f.sandbox_ns, "tc qdisc show");
    ck_assert_msg(strstr(o, "qdisc clsact ffff: dev eth0"), "%s", o);

    /* a foreign ingress filter stays, and so does the qdisc it needs */
    ck_assert_int_eq(run("nsenter --net=/proc/%d/fd/%d sh -c 'tc qdisc del dev eth0 clsact && "
                         "tc qdisc add dev eth0 ingress && "
                         "tc filter add dev eth0 parent ffff: protocol ip pref 7 u32 match u32 0 0 flowid ffff:1'",
                         getpid(), f.sandbox_ns),
                     0);
    ck_assert_msg(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err) == 0, "net_attach: %s", err.msg);
    ck_assert_msg(net_detach(f.sandbox_ns, "eth0", &err) == 0, "net_detach: %s", err.msg);
    o = ns_out(f.sandbox_ns, "tc qdisc show dev eth0; tc filter show dev eth0 ingress");
    ck_assert_msg(strstr(o, "qdisc ingress ffff:") && strstr(o, "pref 7 u32") && !strstr(o, "mirred"), "%s", o);
    ck_assert_msg(strstr(o, "flowid ffff:1"), "foreign filter changed: %s", o);
    o = ns_out(f.sandbox_ns, "tc qdisc show dev cvmtap0");
    ck_assert_msg(!strstr(o, "ingress"), "%s", o);

    /* someone else's filter at our priority: refused, theirs untouched */
    ck_assert_int_eq(run("nsenter --net=/proc/%d/fd/%d tc filter add dev eth0 parent ffff: protocol ip pref 1 "
                         "u32 match u32 0 0 flowid ffff:2",
                         getpid(), f.sandbox_ns),
                     0);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(net_attach(f.sandbox_ns, "eth0", "cvmtap0", &err), -EBUSY);
    ck_assert_msg(strstr(err.msg, "priority 1"), "%s", err.msg);
    o = ns_out(f.sandbox_ns, "tc filter show dev eth0 ingress; tc qdisc show dev cvmtap0");
    ck_assert_msg(strstr(o, "flowid ffff:2") && strstr(o, "flowid ffff:1") && !strstr(o, "mirred") &&
                      !strstr(o, "qdisc ingress"),
                  "%s", o);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("shim_net");
    TCase *p = tcase_create("pure");
    tcase_add_test(p, test_nic_mac);
    tcase_add_test(p, test_of_interest);
    tcase_add_test(p, test_plan_fresh);
    tcase_add_test(p, test_plan_some_attached);
    tcase_add_test(p, test_plan_too_many);
    tcase_add_test(p, test_agent_request);
    suite_add_tcase(s, p);
    TCase *r = tcase_create("netns");
    tcase_set_timeout(r, 60);
    tcase_add_test(r, test_scan);
    tcase_add_test(r, test_scan_too_many);
    tcase_add_test(r, test_attach_detach);
    tcase_add_test(r, test_detach_after_qemu);
    tcase_add_test(r, test_attach_errors);
    suite_add_tcase(s, r);
    return s;
}

CVM_CHECK_MAIN(net_suite)

/* Host side of guest networking: the "tc redirect" model (Kata, firecracker-containerd).
 *
 * Each interface CNI put in the sandbox's network namespace (veth, macvlan, ipvlan, or a
 * kind-less Ethernet device moved in by host-device) gets one of the VM's virtio-net NICs.
 * hv opens the NIC's tap (cvmtapN) in the same netns and hands QEMU the fd; it goes with QEMU. We join
 * interface and tap with an ingress qdisc on each plus a u32 match-everything filter whose
 * mirred action redirects to the other's egress: every frame arriving on one leaves on the
 * other. The agent gives the guest NIC the host interface's name, MAC, MTU, addresses, and
 * the netns's routes and neighbours, so the path is pure L2.
 *
 *   net_scan()          what the netns holds (libnl, net_scan.c)
 *   net_plan()          which interfaces are new and which NIC each gets (pure, net_plan.c)
 *   net_attach/detach   the tc plumbing (libnl, net_redirect.c)
 *   net_agent_request() the agent's ConfigureNetworkRequest (pure, net_request.c)
 *
 * Netlink sockets are opened inside the target netns (setns there and straight back, in
 * this single-threaded process); the caller's netns never changes across a call. */
#ifndef CVM_SHIM_NET_H
#define CVM_SHIM_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"

struct cvm_err;

#define NET_MAX_IFACES 8  /* interfaces of interest per netns */
#define NET_MAX_ADDRS 16  /* addresses per interface */
#define NET_MAX_ROUTES 64 /* main-table routes, both families */
#define NET_MAX_NEIGHS 64 /* permanent/reachable neighbours */
#define NET_MAX_NICS 256  /* placeholder MACs have one byte of index */

#define NET_TAP_PREFIX "cvmtap" /* our taps: cvmtap0 .. cvmtapN; never interfaces of interest */
#define NET_MAC_STRLEN 18       /* "xx:xx:xx:xx:xx:xx" + NUL */

struct net_addr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network order; 4 bytes used for AF_INET */
    unsigned prefix_len;
};

struct net_link {
    char name[IFNAMSIZ];
    int ifindex;
    char kind[16]; /* IFLA_INFO_KIND: "veth", "macvlan", "ipvlan", ...; "" for a device */
    uint8_t mac[6];
    unsigned mtu;
    bool up;
    size_t n_addrs; /* IPv4 and IPv6, IPv6 link-local (fe80::/10) left out */
    struct net_addr addrs[NET_MAX_ADDRS];
};

struct net_route {
    int family;          /* AF_INET or AF_INET6 */
    struct net_addr dst; /* prefix_len 0: default route */
    bool has_gateway;    /* false: on-link */
    uint8_t gateway[16];
    bool onlink;        /* RTNH_F_ONLINK on the next hop (gateway not in any prefix) */
    char dev[IFNAMSIZ]; /* output interface: always one of net_state.links */
    uint32_t metric;    /* RTA_PRIORITY */
    bool has_prefsrc;
    uint8_t prefsrc[16];
};

struct net_neigh {
    int family;
    uint8_t addr[16];
    uint8_t lladdr[6];
    char dev[IFNAMSIZ]; /* always one of net_state.links */
    bool permanent;     /* NUD_PERMANENT; else NUD_REACHABLE */
};

/* What a sandbox netns holds, restricted to the interfaces of interest: routes and
 * neighbours on other devices (lo, our taps, tunnels) are left out. Links in ifindex order. */
struct net_state {
    size_t n_links;
    struct net_link links[NET_MAX_IFACES];
    size_t n_routes;
    struct net_route routes[NET_MAX_ROUTES];
    size_t n_neighs;
    struct net_neigh neighs[NET_MAX_NEIGHS];
};

/* An interface joined to guest NIC `nic` (whose tap is cvmtap<nic>). */
struct net_attached {
    char ifname[IFNAMSIZ];
    unsigned nic;
};

/* ---- libnl (root) ---- */

/* Read links, addresses, main-table routes (unicast; IPv6 link-local and multicast left
 * out) and permanent/reachable neighbours of the netns. More than the NET_MAX_* of one
 * kind: -E2BIG. */
int net_scan(int netns_fd, struct net_state *out, struct cvm_err *err);

/* Join ifname and tap: tap up with ifname's MTU, ingress qdisc (ffff:) on both, on each a
 * u32 filter (all protocols, match everything) with mirred egress redirect to the other.
 * Idempotent (a second call re-points our filters, e.g. at a tap QEMU made anew). On failure
 * nothing of ours is left on either. -ENODEV: either is missing; -EBUSY: a clsact qdisc, or
 * someone else's filter at our priority (1), is on an ingress. Filters of others at other
 * priorities are left alone. */
int net_attach(int netns_fd, const char *ifname, const char *tap, struct cvm_err *err);

/* Undo net_attach on ifname: our filter goes, the ingress qdisc too when nothing else of
 * anyone's hangs on it; the tap our filter redirected to (found from the filter; if it still
 * exists and is named cvmtap*) is cleaned the same way. Nothing attached, or ifname gone: 0. */
int net_detach(int netns_fd, const char *ifname, struct cvm_err *err);

/* Move ifname (a tap QEMU holds: the fd keeps working, the device goes down and net_attach
 * brings it up) from one netns into another (RTM_NEWLINK, IFLA_NET_NS_FD). */
int net_link_move(int from_netns_fd, const char *ifname, int to_netns_fd, struct cvm_err *err);

/* 1: the tap exists in the netns (QEMU has opened it), 0: not yet, or -errno. */
int net_tap_ready(int netns_fd, const char *tap);

/* ---- pure ---- */

/* Is this link one to mirror into the guest? (not lo, not tun/tap, not ours, Ethernet) */
bool net_link_of_interest(const char *name, const char *kind, unsigned arptype, unsigned flags);

/* The MAC QEMU gives NIC index (< NET_MAX_NICS) until the agent renames it to the host
 * interface's: 52:54:00:c7:00:<index>. 52:54:00 is QEMU's customary prefix; its first octet
 * has the locally-administered bit set and the multicast bit clear, so it is a valid unicast
 * address outside every vendor OUI; c7 ("cvm") keeps clear of the 52:54:00:12:34:xx QEMU
 * picks by default. Returns 0 or -EINVAL. */
int net_nic_mac(unsigned index, char out[NET_MAC_STRLEN]);
/* The tap of NIC index: "cvmtap<index>". Returns 0 or -EINVAL. */
int net_tap_name(unsigned index, char out[IFNAMSIZ]);

/* Which interfaces of s are not yet in already[] and the NIC each gets (the lowest one no
 * attachment holds), in s's order, into out_new[NET_MAX_IFACES] / *n_new. More interfaces
 * than n_nics, or no free NIC left: -ENOSPC with the message in err. */
int net_plan(const struct net_state *s, const struct net_attached *already, size_t n_already,
             unsigned n_nics, struct net_attached *out_new, size_t *n_new, struct cvm_err *err);

/* Backing store of a built request: the request points into it, so it lives as long. */
struct net_request_storage {
    Cvm__Agent__V1__NetInterface ifs[NET_MAX_IFACES];
    Cvm__Agent__V1__NetInterface *ifs_p[NET_MAX_IFACES];
    Cvm__Agent__V1__NetAddress addrs[NET_MAX_IFACES][NET_MAX_ADDRS];
    Cvm__Agent__V1__NetAddress *addrs_p[NET_MAX_IFACES][NET_MAX_ADDRS];
    char if_txt[NET_MAX_IFACES][2][NET_MAC_STRLEN];   /* nic_mac, mac */
    char addr_txt[NET_MAX_IFACES][NET_MAX_ADDRS][46]; /* INET6_ADDRSTRLEN */
    Cvm__Agent__V1__NetRoute routes[NET_MAX_ROUTES];
    Cvm__Agent__V1__NetRoute *routes_p[NET_MAX_ROUTES];
    char route_txt[NET_MAX_ROUTES][3][46]; /* dest, gateway, source */
    Cvm__Agent__V1__NetNeighbor neighs[NET_MAX_NEIGHS];
    Cvm__Agent__V1__NetNeighbor *neighs_p[NET_MAX_NEIGHS];
    char neigh_txt[NET_MAX_NEIGHS][2][46]; /* address, lladdr */
};

/* Fill out (initialised here) with the interfaces in attach[] (each named in s; guest NIC
 * found by net_nic_mac(attach[i].nic)), their addresses, and the routes and neighbours of s
 * on those interfaces, on-link routes ahead of those through a gateway (the agent adds them
 * in order). Strings point into st or s. -EINVAL: an attach[] name not in s, or
 * n > NET_MAX_IFACES. */
int net_agent_request(const struct net_state *s, const struct net_attached *attach, size_t n,
                      Cvm__Agent__V1__ConfigureNetworkRequest *out, struct net_request_storage *st);

/* ---- internal to shim/net_*.c ---- */

struct nl_sock;
/* A NETLINK_ROUTE libnl socket created inside netns_fd (-1: ours), CLOEXEC. */
int net_nl_open(int netns_fd, struct nl_sock **ret, struct cvm_err *err);
void net_nl_closep(struct nl_sock **sk);
/* libnl's -NLE_* → -errno. */
int net_nl_errno(int nle);

#endif

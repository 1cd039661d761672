/* Guest networking: parking the VM's NICs, ConfigureNetwork and ListNetwork over raw
 * rtnetlink (net.c), and the pure request validation (net_validate.c).
 *
 * Parking: at start every non-loopback interface moves into a "parking" network namespace
 * (bind-mounted at a path for debugging, and held open by the agent), so the namespace the
 * containers share (the agent's own) holds lo only. ConfigureNetwork takes a parked NIC by
 * the MAC QEMU gave it and moves it back under its CNI name and identity. */
#ifndef CVM_AGENT_NET_H
#define CVM_AGENT_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmap.h"

#define NET_PARK_PATH "/run/cvm/park-netns"

/* Limits of one ConfigureNetwork request. */
#define NET_MAX_IFACES 16
#define NET_MAX_ADDRS 64 /* per interface */
#define NET_MAX_ROUTES 256
#define NET_MAX_NEIGHS 256
#define NET_MAX_TEXT 64 /* longest address or MAC string accepted */
/* Limits of what ListNetwork reports (beyond: RESOURCE_EXHAUSTED). */
#define NET_LIST_MAX_LINKS 256
#define NET_LIST_MAX_ADDRS 1024
#define NET_LIST_MAX_ROUTES 1024
#define NET_LIST_MAX_NEIGHS 1024

#define NET_IP_TEXT 46 /* INET6_ADDRSTRLEN */
#define NET_MAC_TEXT 18

struct net_ip {
    int family; /* AF_INET, AF_INET6 */
    uint8_t a[16];
};

struct net_iface_cfg {
    uint8_t nic_mac[6];
    char name[IFNAMSIZ];
    bool has_mac;
    uint8_t mac[6];
    uint32_t mtu; /* 0: leave */
    size_t n_addrs;
    struct net_ip addrs[NET_MAX_ADDRS];
    uint8_t prefix[NET_MAX_ADDRS];
};

struct net_route_cfg {
    int family;
    bool has_dst; /* false: default route */
    struct net_ip dst;
    uint8_t dst_len;
    bool has_gw;
    struct net_ip gw;
    char dev[IFNAMSIZ]; /* "" = none (the kernel picks by gateway) */
    uint32_t metric;
    bool has_src;
    struct net_ip src;
    bool onlink; /* RTNH_F_ONLINK (needs a gateway and a device) */
};

struct net_neigh_cfg {
    struct net_ip ip;
    uint8_t lladdr[6];
    char dev[IFNAMSIZ];
};

struct net_config {
    size_t n_ifaces, n_routes, n_neighs;
    struct net_iface_cfg ifaces[NET_MAX_IFACES];
    struct net_route_cfg routes[NET_MAX_ROUTES];
    struct net_neigh_cfg neighs[NET_MAX_NEIGHS];
};

/* ---- pure (net_validate.c) ---- */

struct Cvm__Agent__V1__ConfigureNetworkRequest;
/* Validate a request fully and convert it; on failure err says which field (code
 * INVALID_ARGUMENT) and -EINVAL is returned. */
int net_config_from_request(const struct Cvm__Agent__V1__ConfigureNetworkRequest *req,
                            struct net_config *cfg, struct cvm_err *err);
/* "xx:xx:xx:xx:xx:xx" (either case) -> 6 bytes; -EINVAL otherwise. */
int net_parse_mac(const char *s, uint8_t mac[6]);
/* Interface name: 1..15 of [A-Za-z0-9_.-], not "." or ".."; allow_lo: "lo" too. */
bool net_ifname_valid(const char *s, bool allow_lo);
/* Text forms, always NUL-terminated. */
void net_fmt_mac(const uint8_t *mac, size_t len, char *out, size_t cap);
void net_fmt_ip(const struct net_ip *ip, char out[NET_IP_TEXT]);

/* ---- effectful (net.c) ---- */

/* Create the parking namespace, bind it at path (NULL: no bind mount), move every
 * non-loopback interface of our namespace into it. Interfaces that cannot move (fallback
 * tunnels are netns-local) are logged and left. The agent stays in its namespace. */
int net_park(const char *path, struct cvm_err *err);
/* Undo the bind mount and forget the namespace (host mode at exit). */
void net_unpark(void);
bool net_parked(void);

int net_configure(const struct net_config *cfg, struct cvm_err *err);

struct net_list_link {
    int ifindex;
    char name[IFNAMSIZ];
    char mac[NET_MAC_TEXT];
    uint32_t mtu;
};
struct net_list_addr {
    int ifindex;
    char addr[NET_IP_TEXT];
    uint8_t prefix;
};
struct net_list_route {
    int family;             /* 4 or 6 */
    char dest[NET_IP_TEXT]; /* "" = default */
    uint8_t dest_len;
    char gateway[NET_IP_TEXT];
    char device[IFNAMSIZ];
    uint32_t metric;
    char source[NET_IP_TEXT];
};
struct net_list_neigh {
    char addr[NET_IP_TEXT];
    char lladdr[NET_MAC_TEXT];
    char device[IFNAMSIZ];
};
struct net_list {
    size_t n_links, n_addrs, n_routes, n_neighs;
    struct net_list_link links[NET_LIST_MAX_LINKS];
    struct net_list_addr addrs[NET_LIST_MAX_ADDRS];
    struct net_list_route routes[NET_LIST_MAX_ROUTES];
    struct net_list_neigh neighs[NET_LIST_MAX_NEIGHS];
};

/* What our namespace holds:
 *  links: all, lo included, in ifindex order;
 *  addresses: IPv4 all, IPv6 all but link-local (fe80::/10, which the kernel makes itself);
 *  routes: main table, unicast, IPv4 and IPv6, without the kernel's IPv6 link-local
 *    prefix routes (fe80::/64 proto kernel); multipath routes are listed without gateway
 *    and device;
 *  neighbours: permanent ones (NUD_PERMANENT), IPv4 and IPv6. */
int net_list(struct net_list *out, struct cvm_err *err);

#endif

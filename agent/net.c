/* Guest networking over raw rtnetlink: parking, ConfigureNetwork, ListNetwork.
 *
 * Netlink here is synchronous on purpose: every request goes to the local kernel, which
 * answers at once (there is no peer to wait for), so each operation opens its own socket,
 * sends, and blocks in recv for the answer with a 2 s SO_RCVTIMEO as a backstop. Answers are
 * matched by sequence number and sender (the kernel, port 0); anything else is skipped.
 * Every reply goes through the bounded parsers of nl_msg.c. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_MODULE "net"
#include "cleanup.h"
#include "log.h"
#include "nl_msg.h"

#define NL_TIMEOUT_S 2
#define NL_REQ_MAX 512

static struct {
    int root_ns, park_ns; /* namespace fds; park_ns -1 = not parked */
    char path[256];       /* bind mount of the parking namespace, "" = none */
} st = {.root_ns = -1, .park_ns = -1};

static uint32_t seq_counter;
static uint8_t rbuf[64 << 10] __attribute__((aligned(8)));

bool net_parked(void)
{
    return st.park_ns >= 0;
}

/* ---- the socket ---- */

static int nl_open(void)
{
    struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int one = 1;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    /* Error texts from the kernel, and acks without a copy of our request: nice to have. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    return fd;
}

/* A socket of another namespace: the agent is single-threaded, so it steps in and back. */
static int nl_open_in(int ns_fd)
{
    if (setns(ns_fd, CLONE_NEWNET) < 0)
        return -errno;
    int fd = nl_open();
    if (setns(st.root_ns, CLONE_NEWNET) < 0) {
        int r = -errno;
        log_error("cannot return to the agent's network namespace: %s", strerror(-r));
        safe_close(fd);
        return r;
    }
    return fd;
}

typedef int (*nl_msg_fn)(const uint8_t *msg, size_t len, void *data);

/* Wait for the answer to seq: with fn, a dump (fn per message until NLMSG_DONE; the first
 * error fn returns ends the collection but the dump is still read to its end); without, an
 * ack. Returns 0 or -errno (the kernel's, or -ETIMEDOUT, -EBADMSG). */
static int nl_wait(int fd, uint32_t seq, nl_msg_fn fn, void *data, char *ext, size_t ext_cap)
{
    int first = 0;
    for (;;) {
        struct sockaddr_nl from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, rbuf, sizeof(rbuf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        if ((size_t)n > sizeof(rbuf))
            return -EMSGSIZE;
        if (fl != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
            continue;
        size_t off = 0, ml;
        const uint8_t *m;
        int r;
        while ((r = nl_next(rbuf, (size_t)n, &off, &m, &ml)) > 0) {
            struct nl_hdr h;
            if (nl_parse_hdr(m, ml, &h) < 0)
                return -EBADMSG;
            if (h.seq != seq || h.type == NLMSG_NOOP)
                continue;
            if (h.type == NLMSG_ERROR || h.type == NLMSG_DONE) {
                int e = 0;
                if (nl_parse_ack(m, ml, &e, ext, ext_cap) < 0)
                    return -EBADMSG;
                return first ? first : e;
            }
            if (fn && !first)
                first = fn(m, ml, data);
        }
        if (r < 0)
            return -EBADMSG;
    }
}

static int nl_send(int fd, const void *req, int len)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (len < 0)
        return len;
    ssize_t n = sendto(fd, req, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa));
    if (n < 0)
        return -errno;
    return n == len ? 0 : -EIO;
}

/* One request with an ack; ext gets the kernel's error text. */
#define NL_DO(fd, builder, arg, ext)                                                               \
    ({                                                                                             \
        uint8_t _req[NL_REQ_MAX] __attribute__((aligned(8)));                                      \
        uint32_t _seq = ++seq_counter;                                                             \
        (ext)[0] = '\0';                                                                           \
        int _r = nl_send((fd), _req, builder(_req, sizeof(_req), _seq, (arg)));                    \
        _r < 0 ? _r : nl_wait((fd), _seq, NULL, NULL, (ext), sizeof(ext));                         \
    })

static int nl_dump(int fd, uint16_t type, uint8_t family, nl_msg_fn fn, void *data)
{
    uint8_t req[64] __attribute__((aligned(8)));
    uint32_t seq = ++seq_counter;
    int r = nl_send(fd, req, nl_build_dump(req, sizeof(req), seq, type, family));
    return r < 0 ? r : nl_wait(fd, seq, fn, data, NULL, 0);
}

/* err from a netlink failure: "<what>: <strerror> (<kernel text>)". */
static int nl_fail(struct cvm_err *err, int r, const char *ext, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int nl_fail(struct cvm_err *err, int r, const char *ext, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ext && ext[0])
        return cvm_err_set(err, r, "%s: %s (%s)", what, strerror(-r), ext);
    return cvm_err_set(err, r, "%s: %s", what, strerror(-r));
}

/* ---- links ---- */

struct links {
    size_t n;
    struct nl_link v[NET_LIST_MAX_LINKS];
};

static int collect_link(const uint8_t *m, size_t len, void *data)
{
    struct links *ls = data;
    struct nl_link l;
    int r = nl_parse_link(m, len, &l);
    if (r == -ENOMSG)
        return 0;
    if (r < 0)
        return r;
    if (ls->n >= ELEMENTSOF(ls->v))
        return -ENOBUFS;
    ls->v[ls->n++] = l;
    return 0;
}

static int dump_links(int fd, struct links *ls)
{
    ls->n = 0;
    return nl_dump(fd, RTM_GETLINK, AF_UNSPEC, collect_link, ls);
}

static const struct nl_link *by_name(const struct links *ls, const char *name)
{
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(ls->v[i].name, name))
            return &ls->v[i];
    return NULL;
}

static bool mac_is(const struct nl_link *l, const uint8_t mac[6])
{
    return l->mac_len == 6 && !memcmp(l->mac, mac, 6);
}

static const struct nl_link *by_mac(const struct links *ls, const uint8_t mac[6])
{
    for (size_t i = 0; i < ls->n; i++)
        if (!(ls->v[i].flags & IFF_LOOPBACK) && mac_is(&ls->v[i], mac))
            return &ls->v[i];
    return NULL;
}

/* ---- parking ---- */

static int bind_here(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (fd < 0)
        return -errno;
    close(fd);
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
        int r = -errno;
        (void)unlink(path);
        return r;
    }
    return 0;
}

int net_park(const char *path, struct cvm_err *err)
{
    _cleanup_close_ int root = -EBADF, park = -EBADF, fd = -EBADF;
    _cleanup_free_ struct links *ls = NULL;
    int r;

    if (st.park_ns >= 0)
        return 0;
    if ((root = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        return cvm_err_set(err, -errno, "open /proc/self/ns/net: %s", strerror(errno));
    if (unshare(CLONE_NEWNET) < 0)
        return cvm_err_set(err, -errno, "creating the parking network namespace: %s",
                           strerror(errno));
    park = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    r = park < 0 ? -errno : 0;
    if (r == 0 && path) {
        int b = bind_here(path);
        if (b < 0)
            log_warn("bind-mounting the parking namespace on %s: %s (kept open only)", path,
                     strerror(-b));
        else
            snprintf(st.path, sizeof(st.path), "%s", path);
    }
    if (setns(root, CLONE_NEWNET) < 0)
        return cvm_err_set(err, -errno, "returning to the agent's network namespace: %s",
                           strerror(errno));
    if (r < 0)
        return cvm_err_set(err, r, "open the parking namespace: %s", strerror(-r));
    st.root_ns = TAKE_FD(root);
    st.park_ns = TAKE_FD(park);

    if (!(ls = calloc(1, sizeof(*ls))))
        return cvm_err_set(err, -ENOMEM, "out of memory");
    if ((fd = nl_open()) < 0 || (r = dump_links(fd, ls)) < 0)
        return cvm_err_set(err, fd < 0 ? fd : r, "listing interfaces: %s",
                           strerror(fd < 0 ? -fd : -r));
    size_t moved = 0;
    for (size_t i = 0; i < ls->n; i++) {
        const struct nl_link *l = &ls->v[i];
        char ext[128];
        if (l->flags & IFF_LOOPBACK)
            continue;
        struct nl_link_set s = {.ifindex = l->ifindex, .netns_fd = st.park_ns};
        if ((r = NL_DO(fd, nl_build_setlink, &s, ext)) < 0) {
            /* Fallback tunnels (sit0, tunl0 ...) are netns-local: they stay, down. */
            log_warn("parking %s: %s%s%s", l->name, strerror(-r), ext[0] ? ": " : "", ext);
            continue;
        }
        char mac[NET_MAC_TEXT];
        net_fmt_mac(l->mac, l->mac_len, mac, sizeof(mac));
        log_info("parked %s (MAC %s)", l->name, mac);
        moved++;
    }
    log_info("parking namespace ready%s%s: %zu interfaces parked", st.path[0] ? " at " : "",
             st.path, moved);
    return 0;
}

void net_unpark(void)
{
    if (st.path[0]) {
        (void)umount2(st.path, MNT_DETACH);
        (void)unlink(st.path);
        st.path[0] = '\0';
    }
    st.park_ns = safe_close(st.park_ns);
    st.root_ns = safe_close(st.root_ns);
}

/* ---- ConfigureNetwork ---- */

static int iface_configure(int fd, int pfd, const struct net_iface_cfg *c, struct links *ls,
                           struct cvm_err *err)
{
    char nic[NET_MAC_TEXT], want_s[NET_MAC_TEXT], have_s[NET_MAC_TEXT], ext[128];
    const uint8_t *want = c->has_mac ? c->mac : c->nic_mac;
    const struct nl_link *cur;
    int r;

    net_fmt_mac(c->nic_mac, 6, nic, sizeof(nic));
    net_fmt_mac(want, 6, want_s, sizeof(want_s));
    if ((r = dump_links(fd, ls)) < 0)
        return nl_fail(err, r, NULL, "interface %s: listing interfaces", c->name);
    cur = by_name(ls, c->name);
    if (cur && !mac_is(cur, want) && !mac_is(cur, c->nic_mac)) {
        net_fmt_mac(cur->mac, cur->mac_len, have_s, sizeof(have_s));
        return cvm_err_setc(err, RPC_ALREADY_EXISTS, -EEXIST,
                            "interface %s: exists with MAC %s, not %s or %s", c->name, have_s,
                            want_s, nic);
    }
    if (!cur) {
        /* A NIC hot-plugged after parking is still here, down: park it, then take it as any.
         * (An up one with that MAC is another configured interface: leave it.) */
        const struct nl_link *late = by_mac(ls, c->nic_mac);
        if (late && !(late->flags & IFF_UP)) {
            struct nl_link_set s = {.ifindex = late->ifindex, .netns_fd = st.park_ns};
            if ((r = NL_DO(fd, nl_build_setlink, &s, ext)) < 0)
                return nl_fail(err, r, ext, "interface %s: parking NIC %s (%s)", c->name, nic,
                               late->name);
        }
        if ((r = dump_links(pfd, ls)) < 0)
            return nl_fail(err, r, NULL, "interface %s: listing parked NICs", c->name);
        const struct nl_link *parked = by_mac(ls, c->nic_mac);
        if (!parked)
            return cvm_err_setc(err, RPC_NOT_FOUND, -ENOENT,
                                "interface %s: no NIC with MAC %s: not found", c->name, nic);
        struct nl_link_set s = {
            .ifindex = parked->ifindex, .netns_fd = st.root_ns, .ifname = c->name};
        if ((r = NL_DO(pfd, nl_build_setlink, &s, ext)) < 0)
            return nl_fail(err, r, ext, "interface %s: moving NIC %s in", c->name, nic);
        if ((r = dump_links(fd, ls)) < 0)
            return nl_fail(err, r, NULL, "interface %s: listing interfaces", c->name);
        if (!(cur = by_name(ls, c->name)))
            return cvm_err_setc(err, RPC_INTERNAL, -EIO,
                                "interface %s: not here after moving NIC %s in", c->name, nic);
    }
    struct nl_link_set s = {.ifindex = cur->ifindex,
                            .netns_fd = -1,
                            .mac = mac_is(cur, want) ? NULL : want,
                            .mtu = c->mtu && c->mtu != cur->mtu ? c->mtu : 0,
                            .up = true};
    if ((r = NL_DO(fd, nl_build_setlink, &s, ext)) < 0)
        return nl_fail(err, r, ext, "interface %s: setting MAC %s, MTU %u, up", c->name, want_s,
                       c->mtu);
    for (size_t k = 0; k < c->n_addrs; k++) {
        char ip[NET_IP_TEXT];
        struct nl_addr_add a = {.ifindex = cur->ifindex,
                                .family = c->addrs[k].family,
                                .addr = c->addrs[k].a,
                                .prefix = c->prefix[k]};
        if ((r = NL_DO(fd, nl_build_newaddr, &a, ext)) < 0 && r != -EEXIST) {
            net_fmt_ip(&c->addrs[k], ip);
            return nl_fail(err, r, ext, "interface %s: address %s/%u", c->name, ip, c->prefix[k]);
        }
    }
    log_info("interface %s: NIC %s, MAC %s, MTU %u, %zu addresses", c->name, nic, want_s, c->mtu,
             c->n_addrs);
    return 0;
}

static void route_text(const struct net_route_cfg *rt, char *out, size_t cap)
{
    char dst[NET_IP_TEXT] = "default", gw[NET_IP_TEXT], src[NET_IP_TEXT];
    char dst_s[NET_IP_TEXT + 8];
    if (rt->has_dst) {
        net_fmt_ip(&rt->dst, dst);
        snprintf(dst_s, sizeof(dst_s), "%s/%u", dst, rt->dst_len);
    } else {
        snprintf(dst_s, sizeof(dst_s), "default");
    }
    if (rt->has_gw)
        net_fmt_ip(&rt->gw, gw);
    if (rt->has_src)
        net_fmt_ip(&rt->src, src);
    snprintf(out, cap, "route %s%s%s%s%s%s%s", dst_s, rt->has_gw ? " via " : "",
             rt->has_gw ? gw : "", rt->dev[0] ? " dev " : "", rt->dev, rt->has_src ? " src " : "",
             rt->has_src ? src : "");
}

static int route_add(int fd, const struct net_route_cfg *rt, const struct links *ls,
                     struct cvm_err *err)
{
    char what[200], ext[128];
    int oif = 0, r;
    route_text(rt, what, sizeof(what));
    if (rt->dev[0]) {
        const struct nl_link *l = by_name(ls, rt->dev);
        if (!l)
            return cvm_err_setc(err, RPC_NOT_FOUND, -ENOENT, "%s: device %s: not found", what,
                                rt->dev);
        oif = l->ifindex;
    }
    struct nl_route_add a = {.family = rt->family,
                             .dst = rt->has_dst ? rt->dst.a : NULL,
                             .dst_len = rt->dst_len,
                             .gw = rt->has_gw ? rt->gw.a : NULL,
                             .oif = oif,
                             .metric = rt->metric,
                             .onlink = rt->onlink,
                             .prefsrc = rt->has_src ? rt->src.a : NULL};
    if ((r = NL_DO(fd, nl_build_newroute, &a, ext)) < 0 && r != -EEXIST)
        return nl_fail(err, r, ext, "%s", what);
    return 0;
}

static int neigh_add(int fd, const struct net_neigh_cfg *n, const struct links *ls,
                     struct cvm_err *err)
{
    char ip[NET_IP_TEXT], mac[NET_MAC_TEXT], ext[128];
    int r;
    net_fmt_ip(&n->ip, ip);
    net_fmt_mac(n->lladdr, 6, mac, sizeof(mac));
    const struct nl_link *l = by_name(ls, n->dev);
    if (!l)
        return cvm_err_setc(err, RPC_NOT_FOUND, -ENOENT,
                            "neighbor %s lladdr %s dev %s: device not found", ip, mac, n->dev);
    struct nl_neigh_add a = {
        .family = n->ip.family, .ifindex = l->ifindex, .addr = n->ip.a, .lladdr = n->lladdr};
    if ((r = NL_DO(fd, nl_build_newneigh, &a, ext)) < 0 && r != -EEXIST)
        return nl_fail(err, r, ext, "neighbor %s lladdr %s dev %s", ip, mac, n->dev);
    return 0;
}

int net_configure(const struct net_config *cfg, struct cvm_err *err)
{
    _cleanup_close_ int fd = -EBADF, pfd = -EBADF;
    _cleanup_free_ struct links *ls = calloc(1, sizeof(*ls));
    int r;

    if (!ls)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    if (cfg->n_ifaces && !net_parked())
        return cvm_err_setc(err, RPC_FAILED_PRECONDITION, -EBUSY,
                            "no parked NICs: the agent runs without --park-nics");
    if ((fd = nl_open()) < 0)
        return cvm_err_set(err, fd, "netlink socket: %s", strerror(-fd));
    if (cfg->n_ifaces && (pfd = nl_open_in(st.park_ns)) < 0)
        return cvm_err_set(err, pfd, "netlink socket in the parking namespace: %s", strerror(-pfd));
    for (size_t i = 0; i < cfg->n_ifaces; i++)
        if ((r = iface_configure(fd, pfd, &cfg->ifaces[i], ls, err)) < 0)
            return r;
    if (cfg->n_routes + cfg->n_neighs == 0)
        return 0;
    if ((r = dump_links(fd, ls)) < 0)
        return nl_fail(err, r, NULL, "listing interfaces");
    for (size_t i = 0; i < cfg->n_routes; i++)
        if ((r = route_add(fd, &cfg->routes[i], ls, err)) < 0)
            return r;
    for (size_t i = 0; i < cfg->n_neighs; i++)
        if ((r = neigh_add(fd, &cfg->neighs[i], ls, err)) < 0)
            return r;
    log_info("network configured: %zu interfaces, %zu routes, %zu neighbours", cfg->n_ifaces,
             cfg->n_routes, cfg->n_neighs);
    return 0;
}

/* ---- ListNetwork ---- */

static const char *index_name(const struct net_list *out, int ifindex)
{
    for (size_t i = 0; i < out->n_links; i++)
        if (out->links[i].ifindex == ifindex)
            return out->links[i].name;
    return "";
}

static void ip_text(int family, const uint8_t *a, char out[NET_IP_TEXT])
{
    struct net_ip ip = {.family = family};
    memcpy(ip.a, a, nl_addr_len(family));
    net_fmt_ip(&ip, out);
}

static int list_link(const uint8_t *m, size_t len, void *data)
{
    struct net_list *out = data;
    struct nl_link l;
    int r = nl_parse_link(m, len, &l);
    if (r == -ENOMSG)
        return 0;
    if (r < 0)
        return r;
    if (out->n_links >= NET_LIST_MAX_LINKS)
        return -ENOBUFS;
    struct net_list_link *o = &out->links[out->n_links++];
    o->ifindex = l.ifindex;
    memcpy(o->name, l.name, sizeof(o->name));
    net_fmt_mac(l.mac, l.mac_len, o->mac, sizeof(o->mac));
    o->mtu = l.mtu;
    return 0;
}

static int list_addr(const uint8_t *m, size_t len, void *data)
{
    struct net_list *out = data;
    struct nl_addr a;
    int r = nl_parse_addr(m, len, &a);
    if (r == -ENOMSG)
        return 0;
    if (r < 0)
        return r;
    if (!a.has_addr || (a.family != AF_INET && a.family != AF_INET6))
        return 0;
    if (a.family == AF_INET6 && a.addr[0] == 0xfe && (a.addr[1] & 0xc0) == 0x80)
        return 0; /* link-local */
    if (out->n_addrs >= NET_LIST_MAX_ADDRS)
        return -ENOBUFS;
    struct net_list_addr *o = &out->addrs[out->n_addrs++];
    o->ifindex = a.ifindex;
    ip_text(a.family, a.addr, o->addr);
    o->prefix = a.prefix;
    return 0;
}

static int list_route(const uint8_t *m, size_t len, void *data)
{
    struct net_list *out = data;
    struct nl_route rt;
    int r = nl_parse_route(m, len, &rt);
    if (r == -ENOMSG)
        return 0;
    if (r < 0)
        return r;
    if ((rt.family != AF_INET && rt.family != AF_INET6) || rt.table != RT_TABLE_MAIN ||
        rt.type != RTN_UNICAST)
        return 0;
    if (rt.family == AF_INET6 && rt.protocol == RTPROT_KERNEL && rt.has_dst && rt.dst_len == 64 &&
        rt.dst[0] == 0xfe && (rt.dst[1] & 0xc0) == 0x80)
        return 0; /* the kernel's fe80::/64 per interface */
    if (out->n_routes >= NET_LIST_MAX_ROUTES)
        return -ENOBUFS;
    struct net_list_route *o = &out->routes[out->n_routes++];
    o->family = rt.family == AF_INET ? 4 : 6;
    if (rt.has_dst && rt.dst_len > 0) {
        ip_text(rt.family, rt.dst, o->dest);
        o->dest_len = rt.dst_len;
    }
    if (rt.has_gw)
        ip_text(rt.family, rt.gw, o->gateway);
    if (rt.has_prefsrc)
        ip_text(rt.family, rt.prefsrc, o->source);
    snprintf(o->device, sizeof(o->device), "%s", index_name(out, rt.oif));
    o->metric = rt.priority;
    return 0;
}

static int list_neigh(const uint8_t *m, size_t len, void *data)
{
    struct net_list *out = data;
    struct nl_neigh n;
    int r = nl_parse_neigh(m, len, &n);
    if (r == -ENOMSG)
        return 0;
    if (r < 0)
        return r;
    if ((n.family != AF_INET && n.family != AF_INET6) || !(n.state & NUD_PERMANENT) || !n.has_dst)
        return 0;
    if (out->n_neighs >= NET_LIST_MAX_NEIGHS)
        return -ENOBUFS;
    struct net_list_neigh *o = &out->neighs[out->n_neighs++];
    ip_text(n.family, n.dst, o->addr);
    net_fmt_mac(n.lladdr, n.lladdr_len, o->lladdr, sizeof(o->lladdr));
    snprintf(o->device, sizeof(o->device), "%s", index_name(out, n.ifindex));
    return 0;
}

int net_list(struct net_list *out, struct cvm_err *err)
{
    static const struct {
        uint16_t type;
        uint8_t family;
        nl_msg_fn fn;
        const char *what;
    } dumps[] = {
        {RTM_GETLINK, AF_UNSPEC, list_link, "interfaces"},
        {RTM_GETADDR, AF_INET, list_addr, "IPv4 addresses"},
        {RTM_GETADDR, AF_INET6, list_addr, "IPv6 addresses"},
        {RTM_GETROUTE, AF_INET, list_route, "IPv4 routes"},
        {RTM_GETROUTE, AF_INET6, list_route, "IPv6 routes"},
        {RTM_GETNEIGH, AF_INET, list_neigh, "IPv4 neighbours"},
        {RTM_GETNEIGH, AF_INET6, list_neigh, "IPv6 neighbours"},
    };
    _cleanup_close_ int fd = nl_open();
    int r;

    memset(out, 0, sizeof(*out));
    if (fd < 0)
        return cvm_err_set(err, fd, "netlink socket: %s", strerror(-fd));
    for (size_t i = 0; i < ELEMENTSOF(dumps); i++) {
        if ((r = nl_dump(fd, dumps[i].type, dumps[i].family, dumps[i].fn, out)) < 0) {
            if (r == -ENOBUFS)
                return cvm_err_set(err, r, "listing %s: more than the agent reports",
                                   dumps[i].what);
            return nl_fail(err, r, NULL, "listing %s", dumps[i].what);
        }
    }
    return 0;
}

/* The tc plumbing between a sandbox interface and its tap: ingress qdiscs and u32 filters
 * whose mirred action redirects every frame to the other's egress (libnl). */
#define LOG_MODULE "net"
#include "net/net.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "cleanup.h"
#include "errmap.h"
#include "log.h"

/* Our filter: prio 1 (ahead of anything tc adds by default), u32, every protocol, one key
 * matching everything, terminal, mirred egress redirect. No fixed u32 handle: u32 hash tables
 * are shared by all u32 filters of a qdisc, so 800::800 may be someone else's node (a
 * "replace" of it would rewrite their filter); the kernel picks the node in our own table. */
#define OUR_PRIO 1
#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0) /* ffff: */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_qdisc *, rtnl_qdisc_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_cls *, rtnl_cls_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_act *, rtnl_act_put)

/* 0 and *ret set, -ENODEV when missing, or -errno. */
static int get_link(struct nl_sock *sk, const char *name, struct rtnl_link **ret)
{
    int r = rtnl_link_get_kernel(sk, 0, name, ret);
    if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
        return -ENODEV;
    return net_nl_errno(r);
}

static int ensure_ingress(struct nl_sock *sk, int ifindex, const char *name, struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
    int r = rtnl_qdisc_alloc_cache(sk, &c);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list qdiscs: %s", nl_geterror(r));
    q = rtnl_qdisc_get_by_parent(c, ifindex, TC_H_INGRESS);
    if (q) {
        const char *kind = rtnl_tc_get_kind(TC_CAST(q));
        if (kind && strcmp(kind, "ingress") == 0)
            return 0;
        return cvm_err_set(err, -EBUSY,
                           "%s already has a %s qdisc at its ingress: cannot redirect it", name,
                           kind ? kind : "?");
    }
    q = rtnl_qdisc_alloc();
    if (!q)
        return -ENOMEM;
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
    rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
    if ((r = rtnl_tc_set_kind(TC_CAST(q), "ingress")) < 0)
        return cvm_err_set(err, net_nl_errno(r), "libnl: qdisc kind ingress: %s", nl_geterror(r));
    r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0 && r != -NLE_EXIST)
        return cvm_err_set(err, net_nl_errno(r), "add ingress qdisc to %s: %s", name,
                           nl_geterror(r));
    return 0;
}

/* What hangs on an interface's ingress. */
struct hook {
    struct rtnl_qdisc *qdisc; /* the ingress qdisc (a reference), or NULL */
    bool ours;                /* our redirect at OUR_PRIO */
    bool others;              /* any other filter, at any priority */
    bool foreign_prio;        /* some of those at OUR_PRIO */
    int target;               /* ifindex our redirect goes to */
};

static void hook_done(struct hook *h)
{
    if (h->qdisc)
        rtnl_qdisc_put(h->qdisc);
}

/* Our redirect, if cls is it: a u32 at OUR_PRIO with a mirred egress redirect. */
static bool is_ours(struct rtnl_cls *cls, int *target)
{
    const char *kind = rtnl_tc_get_kind(TC_CAST(cls));
    if (!kind || strcmp(kind, "u32") != 0 || rtnl_cls_get_prio(cls) != OUR_PRIO)
        return false;
    for (struct rtnl_act *a = rtnl_u32_get_action(cls); a; a = rtnl_act_next(a)) {
        const char *ak = rtnl_tc_get_kind(TC_CAST(a));
        if (ak && strcmp(ak, "mirred") == 0 && rtnl_mirred_get_action(a) == TCA_EGRESS_REDIR) {
            *target = (int)rtnl_mirred_get_ifindex(a);
            return true;
        }
    }
    return false;
}

static int inspect(struct nl_sock *sk, int ifindex, const char *name, struct hook *h,
                   struct cvm_err *err)
{
    _cleanup_(nl_cache_freep) struct nl_cache *qc = NULL;
    _cleanup_(nl_cache_freep) struct nl_cache *c = NULL;
    bool prio_ours = false, prio_foreign = false;
    int r;

    *h = (struct hook){0};
    if ((r = rtnl_qdisc_alloc_cache(sk, &qc)) < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list qdiscs: %s", nl_geterror(r));
    h->qdisc = rtnl_qdisc_get_by_parent(qc, ifindex, TC_H_INGRESS);
    if (!h->qdisc)
        return 0;
    const char *kind = rtnl_tc_get_kind(TC_CAST(h->qdisc));
    if (!kind || strcmp(kind, "ingress") != 0) {
        hook_done(h);
        *h = (struct hook){0};
        return cvm_err_set(err, -EBUSY,
                           "%s already has a %s qdisc at its ingress: cannot redirect it", name,
                           kind ? kind : "?");
    }
    if ((r = rtnl_cls_alloc_cache(sk, ifindex, INGRESS_HANDLE, &c)) < 0)
        return cvm_err_set(err, net_nl_errno(r), "netlink: list filters of %s: %s", name,
                           nl_geterror(r));
    /* A u32 priority dumps as its hash table plus one entry per node: ours is the priority
     * holding our redirect node and no other node. */
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_cls *cls = (struct rtnl_cls *)o;
        const char *ck = rtnl_tc_get_kind(TC_CAST(cls));
        if (rtnl_cls_get_prio(cls) != OUR_PRIO)
            h->others = true;
        else if (is_ours(cls, &h->target))
            prio_ours = true;
        else if (!ck || strcmp(ck, "u32") != 0 ||
                 TC_U32_NODE(rtnl_tc_get_handle(TC_CAST(cls))) != 0)
            prio_foreign = true; /* a node that is not ours; node 0 is the hash table itself */
    }
    h->ours = prio_ours && !prio_foreign;
    h->foreign_prio = prio_foreign;
    h->others = h->others || prio_foreign;
    return 0;
}

/* Remove the whole of OUR_PRIO from ifindex's ingress (handle 0: the priority and the u32
 * hash table of our node with it). */
static int delete_ours(struct nl_sock *sk, int ifindex, const char *name, struct cvm_err *err)
{
    _cleanup_(rtnl_cls_putp) struct rtnl_cls *del = rtnl_cls_alloc();
    if (!del)
        return -ENOMEM;
    rtnl_tc_set_ifindex(TC_CAST(del), ifindex);
    rtnl_tc_set_parent(TC_CAST(del), INGRESS_HANDLE);
    int r = rtnl_tc_set_kind(TC_CAST(del), "u32");
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "libnl: u32 classifier: %s", nl_geterror(r));
    rtnl_cls_set_prio(del, OUR_PRIO);
    rtnl_cls_set_protocol(del, ETH_P_ALL);
    r = rtnl_cls_delete(sk, del, 0);
    if (r < 0 && r != -NLE_OBJ_NOTFOUND)
        return cvm_err_set(err, net_nl_errno(r), "remove redirect filter of %s: %s", name,
                           nl_geterror(r));
    return 0;
}

static int add_redirect(struct nl_sock *sk, int from, const char *from_name, int to,
                        struct cvm_err *err)
{
    _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = rtnl_cls_alloc();
    _cleanup_(rtnl_act_putp) struct rtnl_act *act = rtnl_act_alloc();
    int r;

    if (!cls || !act)
        return -ENOMEM;
    if ((r = rtnl_tc_set_kind(TC_CAST(act), "mirred")) < 0 ||
        (r = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR)) < 0 ||
        (r = rtnl_mirred_set_policy(act, TC_ACT_STOLEN)) < 0 ||
        (r = rtnl_mirred_set_ifindex(act, (uint32_t)to)) < 0)
        return cvm_err_set(err, net_nl_errno(r), "libnl: mirred action: %s", nl_geterror(r));

    rtnl_tc_set_ifindex(TC_CAST(cls), from);
    rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
    if ((r = rtnl_tc_set_kind(TC_CAST(cls), "u32")) < 0)
        return cvm_err_set(err, net_nl_errno(r), "libnl: u32 classifier: %s", nl_geterror(r));
    rtnl_cls_set_prio(cls, OUR_PRIO);
    rtnl_cls_set_protocol(cls, ETH_P_ALL); /* host order: libnl applies htons */
    /* rtnl_u32_set_cls_terminal() does not mark the selector as set (libnl 3.7): the key and
     * rtnl_u32_set_flags() do. */
    if ((r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0)) < 0 ||
        (r = rtnl_u32_set_flags(cls, TC_U32_TERMINAL)) < 0 ||
        (r = rtnl_u32_add_action(cls, act)) < 0) /* takes its own reference */
        return cvm_err_set(err, net_nl_errno(r), "libnl: u32 filter: %s", nl_geterror(r));
    r = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "add redirect filter to %s ingress: %s", from_name,
                           nl_geterror(r));
    return 0;
}

/* ifindex's ingress redirects to `to` once this returns 0. */
static int redirect(struct nl_sock *sk, int from, const char *name, int to, struct cvm_err *err)
{
    _cleanup_(hook_done) struct hook h = {0};
    int r = inspect(sk, from, name, &h, err);
    if (r < 0)
        return r;
    if (h.ours && h.target == to)
        return 0;
    if (h.foreign_prio)
        return cvm_err_set(err, -EBUSY,
                           "%s has a filter of someone else's at priority %d of its ingress", name,
                           OUR_PRIO);
    if (h.ours && (r = delete_ours(sk, from, name, err)) < 0)
        return r;
    return add_redirect(sk, from, name, to, err);
}

/* Remove our filter from ifindex's ingress, and the ingress qdisc when no filter is left on
 * it. *target: the ifindex our filter redirected to, or 0. */
static int unhook(struct nl_sock *sk, int ifindex, const char *name, int *target,
                  struct cvm_err *err)
{
    _cleanup_(hook_done) struct hook h = {0};
    int r = inspect(sk, ifindex, name, &h, NULL);

    *target = 0;
    if (r < 0 || !h.qdisc)
        return 0; /* nothing of ours (a clsact is never ours) */
    if (h.ours) {
        *target = h.target;
        if ((r = delete_ours(sk, ifindex, name, err)) < 0)
            return r;
    }
    if (h.others)
        return 0;
    r = rtnl_qdisc_delete(sk, h.qdisc);
    if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL)
        return cvm_err_set(err, net_nl_errno(r), "remove ingress qdisc of %s: %s", name,
                           nl_geterror(r));
    return 0;
}

static int tap_up(struct nl_sock *sk, struct rtnl_link *tap, unsigned mtu, struct cvm_err *err)
{
    if ((rtnl_link_get_flags(tap) & IFF_UP) && rtnl_link_get_mtu(tap) == mtu)
        return 0;
    _cleanup_(rtnl_link_putp) struct rtnl_link *chg = rtnl_link_alloc();
    if (!chg)
        return -ENOMEM;
    rtnl_link_set_mtu(chg, mtu);
    rtnl_link_set_flags(chg, IFF_UP);
    int r = rtnl_link_change(sk, tap, chg, 0);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "set %s up with MTU %u: %s",
                           rtnl_link_get_name(tap), mtu, nl_geterror(r));
    return 0;
}

static int attach(struct nl_sock *sk, struct rtnl_link *l, struct rtnl_link *t, struct cvm_err *err)
{
    int li = rtnl_link_get_ifindex(l), ti = rtnl_link_get_ifindex(t);
    const char *ln = rtnl_link_get_name(l), *tn = rtnl_link_get_name(t);
    int r;
    if ((r = tap_up(sk, t, rtnl_link_get_mtu(l), err)) < 0 ||
        (r = ensure_ingress(sk, li, ln, err)) < 0 || (r = ensure_ingress(sk, ti, tn, err)) < 0 ||
        (r = redirect(sk, li, ln, ti, err)) < 0 || (r = redirect(sk, ti, tn, li, err)) < 0)
        return r;
    return 0;
}

int net_attach(int netns_fd, const char *ifname, const char *tap, struct cvm_err *err)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *t = NULL;
    int r = net_nl_open(netns_fd, &sk, err);
    if (r < 0)
        return r;
    if ((r = get_link(sk, ifname, &l)) < 0)
        return cvm_err_set(err, r, "sandbox interface %s: %s", ifname, strerror(-r));
    if ((r = get_link(sk, tap, &t)) < 0)
        return cvm_err_set(err, r, "tap %s: %s", tap, strerror(-r));
    r = attach(sk, l, t, err);
    if (r < 0) {
        /* Leave nothing half-made: a later detach of ifname could not find the tap. */
        int dummy;
        (void)unhook(sk, rtnl_link_get_ifindex(l), ifname, &dummy, NULL);
        (void)unhook(sk, rtnl_link_get_ifindex(t), tap, &dummy, NULL);
        return r;
    }
    log_debug("%s <-> %s: redirecting", ifname, tap);
    return 0;
}

int net_detach(int netns_fd, const char *ifname, struct cvm_err *err)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *t = NULL;
    int target = 0, dummy;
    int r = net_nl_open(netns_fd, &sk, err);
    if (r < 0)
        return r;
    r = get_link(sk, ifname, &l);
    if (r == -ENODEV)
        return 0;
    if (r < 0)
        return cvm_err_set(err, r, "sandbox interface %s: %s", ifname, strerror(-r));
    if ((r = unhook(sk, rtnl_link_get_ifindex(l), ifname, &target, err)) < 0)
        return r;
    if (target <= 0 || target == rtnl_link_get_ifindex(l))
        return 0;
    r = rtnl_link_get_kernel(sk, target, NULL, &t);
    if (r < 0)
        return 0; /* the tap went with QEMU */
    const char *tn = rtnl_link_get_name(t);
    if (!tn || strncmp(tn, NET_TAP_PREFIX, strlen(NET_TAP_PREFIX)) != 0)
        return 0; /* not one of our taps: leave it */
    return unhook(sk, target, tn, &dummy, err);
}

int net_tap_ready(int netns_fd, const char *tap)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *t = NULL;
    int r = net_nl_open(netns_fd, &sk, NULL);
    if (r < 0)
        return r;
    r = get_link(sk, tap, &t);
    if (r == -ENODEV)
        return 0;
    return r < 0 ? r : 1;
}

int net_link_move(int from_netns_fd, const char *ifname, int to_netns_fd, struct cvm_err *err)
{
    _cleanup_(net_nl_closep) struct nl_sock *sk = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
    _cleanup_(rtnl_link_putp) struct rtnl_link *chg = NULL;
    int r = net_nl_open(from_netns_fd, &sk, err);
    if (r < 0)
        return r;
    if ((r = get_link(sk, ifname, &l)) < 0)
        return cvm_err_set(err, r, "%s: %s", ifname, strerror(-r));
    chg = rtnl_link_alloc();
    if (!chg)
        return cvm_err_set(err, -ENOMEM, "out of memory");
    rtnl_link_set_ns_fd(chg, to_netns_fd);
    r = rtnl_link_change(sk, l, chg, 0);
    if (r < 0)
        return cvm_err_set(err, net_nl_errno(r), "move %s into the sandbox netns: %s", ifname,
                           nl_geterror(r));
    return 0;
}

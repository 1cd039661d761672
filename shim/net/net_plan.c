/* Pure parts of guest networking: which links to mirror, NIC naming, the attach plan. */
#include "net/net.h"

#include <errno.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "errmap.h"

/* Kinds CNI plugins create for a pod; "" is a plain device (host-device plugin). */
static const char *const mirrored_kinds[] = {"veth", "macvlan", "ipvlan", "macvtap", "ipvtap", ""};

bool net_link_of_interest(const char *name, const char *kind, unsigned arptype, unsigned flags)
{
    if ((flags & IFF_LOOPBACK) || strcmp(name, "lo") == 0)
        return false;
    if (strncmp(name, NET_TAP_PREFIX, strlen(NET_TAP_PREFIX)) == 0)
        return false;
    if (arptype != ARPHRD_ETHER)
        return false;
    for (size_t i = 0; i < ELEMENTSOF(mirrored_kinds); i++)
        if (strcmp(kind, mirrored_kinds[i]) == 0)
            return true;
    return false;
}

int net_nic_mac(unsigned index, char out[NET_MAC_STRLEN])
{
    if (index >= NET_MAX_NICS)
        return -EINVAL;
    snprintf(out, NET_MAC_STRLEN, "52:54:00:c7:00:%02x", index);
    return 0;
}

int net_tap_name(unsigned index, char out[IFNAMSIZ])
{
    if (index >= NET_MAX_NICS)
        return -EINVAL;
    snprintf(out, IFNAMSIZ, NET_TAP_PREFIX "%u", index);
    return 0;
}

static const struct net_attached *find_attached(const struct net_attached *a, size_t n,
                                                const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].ifname, name) == 0)
            return &a[i];
    return NULL;
}

static bool nic_taken(const struct net_attached *a, size_t n, const struct net_attached *b,
                      size_t m, unsigned nic)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].nic == nic)
            return true;
    for (size_t i = 0; i < m; i++)
        if (b[i].nic == nic)
            return true;
    return false;
}

int net_plan(const struct net_state *s, const struct net_attached *already, size_t n_already,
             unsigned n_nics, struct net_attached *out_new, size_t *n_new, struct cvm_err *err)
{
    size_t n = 0;

    *n_new = 0;
    if (n_nics > NET_MAX_NICS)
        n_nics = NET_MAX_NICS;
    if (s->n_links > n_nics) {
        char names[NET_MAX_IFACES * (IFNAMSIZ + 1)] = "";
        size_t used = 0;
        for (size_t i = 0; i < s->n_links; i++)
            used += snprintf(names + used, sizeof(names) - used, "%s%s", i ? " " : "",
                             s->links[i].name);
        return cvm_err_set(err, -ENOSPC,
                           "sandbox netns has %zu interface%s (%s) but the VM has %u NIC%s: "
                           "set \"spare_nics\" in the runtime config",
                           s->n_links, s->n_links == 1 ? "" : "s", names, n_nics,
                           n_nics == 1 ? "" : "s");
    }
    for (size_t i = 0; i < s->n_links; i++) {
        const char *name = s->links[i].name;
        if (find_attached(already, n_already, name))
            continue;
        unsigned nic = 0;
        while (nic < n_nics && nic_taken(already, n_already, out_new, n, nic))
            nic++;
        if (nic == n_nics)
            return cvm_err_set(err, -ENOSPC,
                               "no free NIC for %s: all %u NICs of the VM are attached: "
                               "set \"spare_nics\" in the runtime config",
                               name, n_nics);
        snprintf(out_new[n].ifname, sizeof(out_new[n].ifname), "%s", name);
        out_new[n].nic = nic;
        n++;
    }
    *n_new = n;
    return 0;
}

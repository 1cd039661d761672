/* vhost-user message validation (see vu_msg.h). */
#include "vu_msg.h"

#include <errno.h>
#include <stddef.h>

int vu_hdr_check(const struct vu_hdr *h)
{
    if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
        return -EINVAL;
    if (h->flags & VHOST_USER_REPLY_MASK)
        return -EINVAL;
    if (h->size > VU_MAX_PAYLOAD)
        return -EINVAL;
    return 0;
}

static int vring_fd_msg_ok(const struct vu_msg *m, unsigned nfds)
{
    if (m->hdr.size != sizeof(uint64_t))
        return -EINVAL;
    if (m->p.u64 & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD_MASK))
        return -EINVAL;
    /* Bit 8 set means "no fd, poll instead": then exactly zero fds, else exactly one. */
    return nfds == ((m->p.u64 & VU_VRING_NOFD_MASK) ? 0u : 1u) ? 0 : -EINVAL;
}

int vu_msg_check(const struct vu_msg *m, unsigned nfds)
{
    uint32_t sz = m->hdr.size;
    int r = vu_hdr_check(&m->hdr);

    if (r < 0)
        return r;
    switch (m->hdr.request) {
    case VHOST_USER_GET_FEATURES:
    case VHOST_USER_GET_PROTOCOL_FEATURES:
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_SET_OWNER:
    case VHOST_USER_RESET_OWNER: return sz == 0 && nfds == 0 ? 0 : -EINVAL;
    case VHOST_USER_SET_FEATURES:
    case VHOST_USER_SET_PROTOCOL_FEATURES: return sz == sizeof(uint64_t) && nfds == 0 ? 0 : -EINVAL;
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_BASE:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_SET_VRING_ENABLE:
        return sz == sizeof(struct vu_vring_state) && nfds == 0 ? 0 : -EINVAL;
    case VHOST_USER_SET_VRING_ADDR:
        return sz == sizeof(struct vu_vring_addr) && nfds == 0 ? 0 : -EINVAL;
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR: return vring_fd_msg_ok(m, nfds);
    case VHOST_USER_SET_MEM_TABLE:
        if (sz < offsetof(struct vu_mem_table, regions))
            return -EINVAL;
        if (m->p.mem.nregions == 0 || m->p.mem.nregions > VQ_MAX_REGIONS)
            return -EINVAL;
        if (sz != offsetof(struct vu_mem_table, regions) +
                      m->p.mem.nregions * sizeof(struct vu_mem_region))
            return -EINVAL;
        return nfds == m->p.mem.nregions ? 0 : -EINVAL;
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_SET_CONFIG:
        if (sz < VU_CONFIG_HDR || nfds != 0)
            return -EINVAL;
        if (m->p.config.size > VU_MAX_CONFIG || sz != VU_CONFIG_HDR + m->p.config.size)
            return -EINVAL;
        return 0;
    default:
        if (m->hdr.request == 0 || m->hdr.request >= VHOST_USER_MAX_REQUEST)
            return -EINVAL;
        return -EOPNOTSUPP;
    }
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int vu_mem_table_check(const struct vu_mem_table *t)
{
    if (t->nregions == 0 || t->nregions > VQ_MAX_REGIONS)
        return -EINVAL;
    for (uint32_t i = 0; i < t->nregions; i++) {
        const struct vu_mem_region *r = &t->regions[i];
        if (r->memory_size == 0)
            return -EINVAL;
        if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
            r->userspace_addr + r->memory_size < r->userspace_addr ||
            r->mmap_offset + r->memory_size < r->mmap_offset)
            return -EINVAL;
        for (uint32_t j = 0; j < i; j++) {
            const struct vu_mem_region *o = &t->regions[j];
            if (ranges_overlap(r->guest_phys_addr, r->memory_size, o->guest_phys_addr,
                               o->memory_size) ||
                ranges_overlap(r->userspace_addr, r->memory_size, o->userspace_addr,
                               o->memory_size))
                return -EINVAL;
        }
    }
    return 0;
}

bool vu_vring_num_ok(uint32_t num)
{
    return num > 0 && num <= VQ_MAX_SIZE && (num & (num - 1)) == 0;
}

bool vu_config_range_ok(const struct vu_config *c, size_t cfg_len)
{
    return c->size > 0 && c->offset <= cfg_len && c->size <= cfg_len - c->offset;
}

const char *vu_request_name(uint32_t req)
{
    static const char *const n[] = {
        [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
        [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
        [VHOST_USER_SET_OWNER] = "SET_OWNER",
        [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
        [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
        [VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
        [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
        [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
        [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
        [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
        [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
        [VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
        [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VHOST_USER_SEND_RARP] = "SEND_RARP",
        [VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
        [VHOST_USER_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
        [VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
        [VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
        [VHOST_USER_GET_CONFIG] = "GET_CONFIG",
        [VHOST_USER_SET_CONFIG] = "SET_CONFIG",
    };
    if (req < sizeof(n) / sizeof(n[0]) && n[req])
        return n[req];
    return "UNKNOWN";
}

/* vhost-user back end: message loop, memory table, vrings (see vu_dev.h).
 * QEMU is the trusted front end (it owns all of guest memory already), but its messages are
 * still validated with vu_msg_check() so a protocol bug cannot walk us off our buffers. */
#define LOG_MODULE "vsockd"
#include "vu_dev.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "vu_io.h"
#include "vu_msg.h"

#define OFFERED_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
#define OFFERED_PROTOCOL                                                                           \
    ((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

struct vu_vring {
    struct vu_dev *dev;
    unsigned idx;
    struct vq q;
    uint32_t num;
    uint64_t desc, avail, used;
    uint16_t base;
    bool addr_set, started, enabled, fail_reported;
    int kick_fd, call_fd, err_fd;
    struct loop_source *kick_src;
};

struct vu_map {
    void *base;
    size_t len;
};

struct vu_dev {
    struct loop *loop;
    int fd;
    struct loop_source *src;
    uint64_t guest_cid;
    uint64_t features, protocol;
    struct vq_mem mem;
    struct vu_map maps[VQ_MAX_REGIONS];
    struct vu_vring vr[VU_NUM_QUEUES];
    const struct vu_dev_ops *ops;
    void *data;
};

static void unmap_all(struct vu_map *maps, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (maps[i].base)
            munmap(maps[i].base, maps[i].len);
}

static void vring_stop(struct vu_vring *v)
{
    if (!v->started)
        return;
    v->kick_src = loop_source_free(v->kick_src);
    v->kick_fd = safe_close(v->kick_fd);
    v->base = v->q.last_avail;
    v->started = false;
    v->dev->ops->stopped(v->dev->data, v->idx);
}

static void kick_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct vu_vring *v = data;
    uint64_t n;
    (void)s;
    (void)revents;
    (void)!read(fd, &n, sizeof(n)); /* drain the eventfd; the ring is the truth */
    v->dev->ops->kick(v->dev->data, v->idx);
}

static int vring_start(struct vu_vring *v)
{
    struct vu_dev *d = v->dev;
    int r;

    if (!v->addr_set || d->mem.n == 0 || v->num == 0 || v->kick_fd < 0)
        return -EINVAL;
    r = vq_init(&v->q, &d->mem, v->num, v->desc, v->avail, v->used, v->base);
    if (r < 0)
        return r;
    r = loop_add_io(d->loop, v->kick_fd, EPOLLIN, kick_cb, v, &v->kick_src);
    if (r < 0)
        return r;
    v->started = true;
    v->fail_reported = false;
    log_debug("vring %u started num=%u base=%u", v->idx, v->num, v->base);
    d->ops->kick(d->data, v->idx);
    return 0;
}

static int set_mem_table(struct vu_dev *d, const struct vu_mem_table *t, int *fds)
{
    struct vu_map maps[VQ_MAX_REGIONS] = {0};
    struct vq_mem mem = {0};
    int r = vu_mem_table_check(t);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < t->nregions; i++) {
        const struct vu_mem_region *reg = &t->regions[i];
        struct stat st;
        uint64_t len = reg->mmap_offset + reg->memory_size;
        void *p;

        /* Mapping past the end of the file would turn a guest access into SIGBUS here. */
        if (fstat(fds[i], &st) < 0 || st.st_size < 0 || len > (uint64_t)st.st_size ||
            len > SIZE_MAX) {
            r = -EINVAL;
            goto fail;
        }
        p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i], 0);
        if (p == MAP_FAILED) {
            r = -errno;
            goto fail;
        }
        maps[i].base = p;
        maps[i].len = (size_t)len;
        mem.r[i].gpa = reg->guest_phys_addr;
        mem.r[i].uva = reg->userspace_addr;
        mem.r[i].size = reg->memory_size;
        mem.r[i].host = (uint8_t *)p + reg->mmap_offset;
        log_debug("region %u gpa=0x%llx size=0x%llx uva=0x%llx off=0x%llx", i,
                  (unsigned long long)reg->guest_phys_addr, (unsigned long long)reg->memory_size,
                  (unsigned long long)reg->userspace_addr, (unsigned long long)reg->mmap_offset);
    }
    mem.n = t->nregions;
    unmap_all(d->maps, d->mem.n);
    memcpy(d->maps, maps, sizeof(maps));
    d->mem = mem;
    /* Running rings point into the old mapping: re-resolve them in the new one. */
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        struct vu_vring *v = &d->vr[i];
        if (v->started) {
            bool broken = v->q.broken;
            r = vq_init(&v->q, &d->mem, v->num, v->desc, v->avail, v->used, v->q.last_avail);
            if (r < 0) {
                v->q.broken = true;
                v->q.why = "ring outside the new memory table";
            }
            v->q.broken |= broken;
        } else if (v->kick_fd >= 0 && v->addr_set && v->num) {
            (void)vring_start(v); /* its kick fd came before any memory to run it in */
        }
    }
    return 0;
fail:
    unmap_all(maps, t->nregions);
    return r;
}

static int replace_fd(int *slot, int fd)
{
    safe_close(*slot);
    *slot = fd;
    return 0;
}

static int send_reply(struct vu_dev *d, const struct vu_msg *req, const void *payload,
                      uint32_t size)
{
    return vu_send_reply(d->fd, req, payload, size);
}

static int reply_u64(struct vu_dev *d, const struct vu_msg *req, uint64_t v)
{
    return send_reply(d, req, &v, sizeof(v));
}

/* Handle one validated message. *replied is set when the request has its own reply, so no
 * REPLY_ACK follows it. fds are consumed (kept or closed). */
static int handle(struct vu_dev *d, struct vu_msg *m, int *fds, unsigned nfds, bool *replied)
{
    struct vu_vring *v = NULL;
    unsigned idx = 0;
    int r = 0;

    switch (m->hdr.request) {
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_BASE:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_SET_VRING_ENABLE:
    case VHOST_USER_SET_VRING_ADDR:
        idx = m->p.state.index; /* index is the first field of both shapes */
        break;
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR: idx = (unsigned)(m->p.u64 & VU_VRING_IDX_MASK); break;
    default: idx = 0;
    }
    if (idx >= VU_NUM_QUEUES) {
        for (unsigned i = 0; i < nfds; i++)
            safe_close(fds[i]);
        return -ERANGE;
    }
    v = &d->vr[idx];

    switch (m->hdr.request) {
    case VHOST_USER_GET_FEATURES: *replied = true; return reply_u64(d, m, OFFERED_FEATURES);
    case VHOST_USER_SET_FEATURES:
        if (m->p.u64 & ~OFFERED_FEATURES)
            return -EINVAL;
        d->features = m->p.u64;
        return 0;
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        *replied = true;
        return reply_u64(d, m, OFFERED_PROTOCOL);
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        if (m->p.u64 & ~OFFERED_PROTOCOL)
            return -EINVAL;
        d->protocol = m->p.u64;
        return 0;
    case VHOST_USER_GET_QUEUE_NUM: *replied = true; return reply_u64(d, m, VU_NUM_QUEUES);
    case VHOST_USER_SET_OWNER: return 0;
    case VHOST_USER_RESET_OWNER:
        for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
            vring_stop(&d->vr[i]);
        d->features = 0;
        return 0;
    case VHOST_USER_SET_MEM_TABLE:
        r = set_mem_table(d, &m->p.mem, fds);
        for (unsigned i = 0; i < nfds; i++)
            safe_close(fds[i]); /* the mappings keep the memory alive */
        return r;
    case VHOST_USER_SET_VRING_NUM:
        if (v->started || !vu_vring_num_ok(m->p.state.num))
            return -EINVAL;
        v->num = m->p.state.num;
        return 0;
    case VHOST_USER_SET_VRING_ADDR:
        if (v->started)
            return -EBUSY;
        v->desc = m->p.addr.desc_user_addr;
        v->avail = m->p.addr.avail_user_addr;
        v->used = m->p.addr.used_user_addr;
        v->addr_set = true;
        return 0;
    case VHOST_USER_SET_VRING_BASE:
        if (v->started || m->p.state.num > 0xffff)
            return -EINVAL;
        v->base = (uint16_t)m->p.state.num;
        return 0;
    case VHOST_USER_GET_VRING_BASE: {
        struct vu_vring_state st = {.index = idx};
        vring_stop(v);
        st.num = v->base;
        *replied = true;
        return send_reply(d, m, &st, sizeof(st));
    }
    case VHOST_USER_SET_VRING_KICK:
        if (nfds == 0)
            return -EOPNOTSUPP; /* polling mode: never offered, never used by QEMU for vsock */
        if (v->started) {
            /* A new kick fd for a running ring is not a stop: keep its connections. */
            v->kick_src = loop_source_free(v->kick_src);
            replace_fd(&v->kick_fd, fds[0]);
            r = loop_add_io(d->loop, v->kick_fd, EPOLLIN, kick_cb, v, &v->kick_src);
            if (r == 0)
                d->ops->kick(d->data, idx);
            return r;
        }
        replace_fd(&v->kick_fd, fds[0]);
        return vring_start(v);
    case VHOST_USER_SET_VRING_CALL: return replace_fd(&v->call_fd, nfds ? fds[0] : -EBADF);
    case VHOST_USER_SET_VRING_ERR: return replace_fd(&v->err_fd, nfds ? fds[0] : -EBADF);
    case VHOST_USER_SET_VRING_ENABLE:
        if (m->p.state.num > 1)
            return -EINVAL;
        v->enabled = m->p.state.num == 1;
        if (v->enabled && v->started)
            d->ops->kick(d->data, idx);
        return 0;
    case VHOST_USER_GET_CONFIG: {
        struct vu_config c = m->p.config;
        uint64_t cid = htole64(d->guest_cid);
        if (!vu_config_range_ok(&c, sizeof(cid)))
            return -EINVAL;
        memcpy(c.region, (uint8_t *)&cid + c.offset, c.size);
        *replied = true;
        return send_reply(d, m, &c, VU_CONFIG_HDR + c.size);
    }
    case VHOST_USER_SET_CONFIG: return -EPERM; /* the guest CID is ours to decide */
    default:
        for (unsigned i = 0; i < nfds; i++)
            safe_close(fds[i]);
        return -EOPNOTSUPP;
    }
}

static void sock_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct vu_dev *d = data;
    struct vu_msg m;
    int fds[VU_MAX_FDS];
    unsigned nfds;
    bool replied = false;
    int r;
    (void)s;
    (void)fd;
    (void)revents;

    memset(&m, 0, sizeof(m));
    r = vu_recv_msg(d->fd, &m, fds, &nfds);
    if (r == -ECONNRESET) {
        log_info("vhost-user front end disconnected");
        d->ops->gone(d->data, 0);
        return;
    }
    if (r < 0) {
        log_error_errno(r, "vhost-user: bad message");
        d->ops->gone(d->data, r);
        return;
    }
    r = vu_msg_check(&m, nfds);
    if (r < 0) {
        for (unsigned i = 0; i < nfds; i++)
            safe_close(fds[i]);
        nfds = 0;
    }
    if (r == 0)
        r = handle(d, &m, fds, nfds, &replied);
    log_debug("vhost-user %s size=%u fds=%u -> %d", vu_request_name(m.hdr.request), m.hdr.size,
              nfds, r);
    if (r < 0 && r != -EOPNOTSUPP && r != -EPERM)
        log_warn_errno(r, "vhost-user %s failed", vu_request_name(m.hdr.request));
    if (r == -EOPNOTSUPP)
        log_warn("vhost-user: unsupported request %u (%s)", m.hdr.request,
                 vu_request_name(m.hdr.request));
    if (!replied && (d->protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) &&
        (m.hdr.flags & VHOST_USER_NEED_REPLY)) {
        int w = reply_u64(d, &m, r < 0 ? 1 : 0);
        if (w < 0) {
            log_error_errno(w, "vhost-user: reply failed");
            d->ops->gone(d->data, w);
        }
    }
}

int vu_dev_new(struct loop *l, int fd, uint64_t guest_cid, const struct vu_dev_ops *ops, void *data,
               struct vu_dev **ret)
{
    struct vu_dev *d = calloc(1, sizeof(*d));
    int r;

    if (!d)
        return -ENOMEM;
    d->loop = l;
    d->fd = fd;
    d->guest_cid = guest_cid;
    d->ops = ops;
    d->data = data;
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        d->vr[i].dev = d;
        d->vr[i].idx = i;
        d->vr[i].kick_fd = d->vr[i].call_fd = d->vr[i].err_fd = -EBADF;
        /* Rings start enabled: QEMU 7.2 may never send SET_VRING_ENABLE for vhost-user-vsock;
         * a ring runs once it has a kick fd (libvhost-user does the same). */
        d->vr[i].enabled = true;
    }
    r = loop_add_io(l, fd, EPOLLIN, sock_cb, d, &d->src);
    if (r < 0) {
        free(d);
        return r;
    }
    *ret = d;
    return 0;
}

void vu_dev_free(struct vu_dev *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        struct vu_vring *v = &d->vr[i];
        v->kick_src = loop_source_free(v->kick_src);
        safe_close(v->kick_fd);
        safe_close(v->call_fd);
        safe_close(v->err_fd);
    }
    loop_source_free(d->src);
    safe_close(d->fd);
    unmap_all(d->maps, d->mem.n);
    free(d);
}

struct vq *vu_dev_queue(struct vu_dev *d, unsigned qidx)
{
    struct vu_vring *v;
    if (!d || qidx >= VU_NUM_QUEUES)
        return NULL;
    v = &d->vr[qidx];
    if (!v->started || !v->enabled || v->q.broken)
        return NULL;
    return &v->q;
}

const struct vq_mem *vu_dev_mem(const struct vu_dev *d)
{
    return &d->mem;
}

void vu_dev_notify(struct vu_dev *d, unsigned qidx)
{
    struct vu_vring *v = &d->vr[qidx];
    if (v->call_fd >= 0 && vq_need_notify(&v->q))
        (void)eventfd_write(v->call_fd, 1);
}

void vu_dev_queue_failed(struct vu_dev *d, unsigned qidx)
{
    struct vu_vring *v = &d->vr[qidx];
    if (!v->q.broken || v->fail_reported)
        return;
    v->fail_reported = true;
    log_error("vring %u: guest broke the queue (%s); it stays stopped", qidx,
              v->q.why ? v->q.why : "?");
    if (v->err_fd >= 0)
        (void)eventfd_write(v->err_fd, 1);
}

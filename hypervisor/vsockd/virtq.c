/* Split-virtqueue walking with every guest-controlled value validated (see virtq.h). */
#include "virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static inline size_t MIN_SZ(size_t a, size_t b)
{
    return a < b ? a : b;
}

static const struct vq_region *find_region(const struct vq_mem *m, uint64_t addr, bool by_uva)
{
    for (unsigned i = 0; i < m->n && i < VQ_MAX_REGIONS; i++) {
        const struct vq_region *r = &m->r[i];
        uint64_t base = by_uva ? r->uva : r->gpa;
        if (addr >= base && addr - base < r->size)
            return r;
    }
    return NULL;
}

void *vq_mem_translate(const struct vq_mem *m, uint64_t addr, uint64_t len, bool by_uva)
{
    const struct vq_region *r;
    uint64_t off;

    if (len == 0 || addr + len < addr)
        return NULL;
    r = find_region(m, addr, by_uva);
    if (!r)
        return NULL;
    off = addr - (by_uva ? r->uva : r->gpa);
    if (len > r->size - off) /* off < size, so no underflow */
        return NULL;
    return r->host + off;
}

int vq_mem_gpa_iov(const struct vq_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov,
                   unsigned max)
{
    unsigned n = 0;
    uint64_t left = len;

    if (gpa + left < gpa)
        return -EFAULT;
    while (left > 0) {
        const struct vq_region *r = find_region(m, gpa, false);
        uint64_t off, take;
        if (!r)
            return -EFAULT;
        if (n >= max)
            return -E2BIG;
        off = gpa - r->gpa;
        take = r->size - off < left ? r->size - off : left;
        iov[n].iov_base = r->host + off;
        iov[n].iov_len = (size_t)take;
        n++;
        gpa += take;
        left -= take;
    }
    return (int)n;
}

static int q_break(struct vq *q, const char *why)
{
    if (!q->broken) {
        q->broken = true;
        q->why = why;
    }
    return -EIO;
}

int vq_init(struct vq *q, const struct vq_mem *m, uint32_t num, uint64_t desc_uva,
            uint64_t avail_uva, uint64_t used_uva, uint16_t last_avail)
{
    memset(q, 0, sizeof(*q));
    if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)) != 0)
        return -EINVAL;
    if ((desc_uva & 15) || (avail_uva & 1) || (used_uva & 3))
        return -EINVAL;
    q->desc = vq_mem_translate(m, desc_uva, vq_desc_bytes(num), true);
    q->avail = vq_mem_translate(m, avail_uva, vq_avail_bytes(num), true);
    q->used = vq_mem_translate(m, used_uva, vq_used_bytes(num), true);
    if (!q->desc || !q->avail || !q->used)
        return -EFAULT;
    q->num = num;
    q->last_avail = last_avail;
    q->used_idx = le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
    return 0;
}

int vq_pending(struct vq *q)
{
    uint16_t idx, n;

    if (q->broken || !q->avail)
        return -EIO;
    /* Acquire: the ring entries below idx are read after idx. */
    idx = le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
    n = (uint16_t)(idx - q->last_avail);
    if (n > q->num)
        return q_break(q, "avail idx ahead of ring size");
    return n;
}

int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c)
{
    uint16_t head, i;
    unsigned seen = 0;
    bool in_part = false;
    int r = vq_pending(q);

    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    head = le16toh(__atomic_load_n(&q->avail->ring[q->last_avail % q->num], __ATOMIC_RELAXED));
    if (head >= q->num)
        return q_break(q, "avail head out of range");

    c->head = head;
    c->n_out = c->n_in = 0;
    c->out_len = c->in_len = 0;
    i = head;
    for (;;) {
        struct vring_desc d;
        unsigned n_iov = c->n_out + c->n_in;
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
        int k;

        /* A chain visiting more than num descriptors must contain a loop. Zero-length
         * descriptors yield no iovecs, so the piece limit alone would let a guest make us
         * walk 32768 of them per chain: cap the descriptor count too. */
        if (++seen > q->num)
            return q_break(q, "descriptor chain loops or exceeds ring size");
        if (seen > VQ_MAX_IOV)
            return q_break(q, "descriptor chain has too many descriptors");
        memcpy(&d, &q->desc[i], sizeof(d)); /* one read; the guest may rewrite it meanwhile */
        addr = le64toh(d.addr);
        len = le32toh(d.len);
        flags = le16toh(d.flags);
        next = le16toh(d.next);

        if (flags & VRING_DESC_F_INDIRECT)
            return q_break(q, "indirect descriptor (not negotiated)");
        if (flags & VRING_DESC_F_WRITE)
            in_part = true;
        else if (in_part)
            return q_break(q, "readable descriptor after writable one");
        if ((uint64_t)c->out_len + c->in_len + len > VQ_MAX_CHAIN_BYTES)
            return q_break(q, "descriptor chain too long in bytes");
        k = vq_mem_gpa_iov(m, addr, len, &c->iov[n_iov], VQ_MAX_IOV - n_iov);
        if (k == -E2BIG)
            return q_break(q, "descriptor chain has too many pieces");
        if (k < 0)
            return q_break(q, "descriptor outside guest memory");
        if (in_part) {
            c->n_in += (unsigned)k;
            c->in_len += len;
        } else {
            c->n_out += (unsigned)k;
            c->out_len += len;
        }
        if (!(flags & VRING_DESC_F_NEXT))
            break;
        if (next >= q->num)
            return q_break(q, "next descriptor out of range");
        i = next;
    }
    q->last_avail++;
    return 0;
}

void vq_unpop(struct vq *q)
{
    q->last_avail--;
}

int vq_push(struct vq *q, const struct vq_chain *c, uint32_t len)
{
    struct vring_used_elem e;
    uint16_t slot;

    if (q->broken || !q->used)
        return -EIO;
    if (c->head >= q->num || len > c->in_len)
        return -EINVAL;
    slot = (uint16_t)(q->used_idx % q->num);
    e.id = htole32(c->head);
    e.len = htole32(len);
    memcpy(&q->used->ring[slot], &e, sizeof(e));
    q->used_idx++;
    /* Release: the element is visible before the index that publishes it. */
    __atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
    return 0;
}

bool vq_need_notify(const struct vq *q)
{
    if (!q->avail)
        return false;
    /* Order our used->idx store before reading the guest's flag (the guest does the mirror). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return !(le16toh(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED)) &
             VRING_AVAIL_F_NO_INTERRUPT);
}

/* Copy between a buffer and the bytes of an iovec from offset off on: the two directions are
 * one walk. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf, size_t len,
                       bool into_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t take = MIN_SZ(iov[i].iov_len - off, len - done);
        uint8_t *at = (uint8_t *)iov[i].iov_base + off;
        if (into_iov)
            memcpy(at, buf + done, take);
        else
            memcpy(buf + done, at, take);
        done += take;
        off = 0;
    }
    return done;
}

size_t iov_copy_from(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len)
{
    return iov_copy(iov, n, off, dst, len, false);
}

size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len)
{
    /* not written through: into_iov only reads buf */
    return iov_copy(iov, n, off, (uint8_t *)src, len, true);
}

unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out,
                   unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len > 0 && k < max; i++) {
        size_t take;
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        take = MIN_SZ(iov[i].iov_len - off, len);
        out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
        out[k].iov_len = take;
        k++;
        len -= take;
        off = 0;
    }
    return k;
}

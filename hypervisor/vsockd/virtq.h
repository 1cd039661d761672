/* Split virtqueues in guest memory, walked by a device that does not trust the guest.
 *
 * PURE: no syscalls, no globals. Everything the guest can write (descriptor addresses, lengths,
 * flags, next links, ring indices, avail entries) is read once into a local and validated
 * against the memory table before use. A violation marks the queue broken (the virtio
 * "needs reset" state): the queue is never touched again, so a hostile guest can at most stop
 * its own device. Tests and the fuzz target drive these functions with fabricated memory. */
#ifndef CVM_VSOCKD_VIRTQ_H
#define CVM_VSOCKD_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_REGIONS 8   /* VHOST_MEMORY_BASELINE_NREGIONS */
#define VQ_MAX_SIZE 32768u /* largest split-ring size virtio allows */
#define VQ_MAX_IOV 64      /* descriptors per chain, and iovecs after region splitting */
#define VQ_MAX_CHAIN_BYTES                                                                         \
    (1u << 20) /* a vsock packet is 44 + 64 KiB; anything near 1 MiB is hostile */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[];
};

/* Natural alignment gives the wire layout; vq_init() checks the guest's ring alignment, so
 * the index words are aligned for the atomic loads and stores. */
_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem layout");
_Static_assert(sizeof(struct vring_avail) == 4, "vring_avail layout");
_Static_assert(sizeof(struct vring_used) == 4, "vring_used layout");

/* Bytes each ring part occupies, including the trailing event-index word. */
static inline uint64_t vq_desc_bytes(uint32_t num)
{
    return 16ull * num;
}
static inline uint64_t vq_avail_bytes(uint32_t num)
{
    return 6ull + 2ull * num;
}
static inline uint64_t vq_used_bytes(uint32_t num)
{
    return 6ull + 8ull * num;
}

/* One guest memory region: guest-physical and QEMU-virtual base, length, our mapping. */
struct vq_region {
    uint64_t gpa;
    uint64_t uva;
    uint64_t size;
    uint8_t *host;
};

struct vq_mem {
    unsigned n;
    struct vq_region r[VQ_MAX_REGIONS];
};

/* Host pointer for [addr, addr+len) lying inside one region, else NULL (also on overflow or
 * len == 0). by_uva selects QEMU addresses (ring addresses) instead of guest-physical ones. */
void *vq_mem_translate(const struct vq_mem *m, uint64_t addr, uint64_t len, bool by_uva);

/* Map a guest-physical range to iovecs, splitting where it crosses adjacent regions.
 * Returns the iovec count, -EFAULT when any byte is unmapped or the range overflows,
 * -E2BIG when more than max iovecs would be needed. len == 0 yields 0 iovecs. */
int vq_mem_gpa_iov(const struct vq_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov,
                   unsigned max);

struct vq {
    uint32_t num;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail; /* next avail entry to take */
    uint16_t used_idx;   /* our copy of used->idx */
    bool broken;
    const char *why; /* first violation, for the log */
};

/* A popped descriptor chain: device-readable iovecs first (n_out), then writable (n_in). */
struct vq_chain {
    uint16_t head;
    unsigned n_out, n_in;
    size_t out_len, in_len;
    struct iovec iov[VQ_MAX_IOV];
};

/* Point q at a ring whose parts live at the given QEMU addresses. Checks num (power of two,
 * 1..32768), alignment (16/2/4) and that every part lies inside one region. used_idx is read
 * from the ring; last_avail is the base QEMU handed over. */
int vq_init(struct vq *q, const struct vq_mem *m, uint32_t num, uint64_t desc_uva,
            uint64_t avail_uva, uint64_t used_uva, uint16_t last_avail);

/* Entries the guest made available and we have not taken: 0..num, or -EIO (and broken) when
 * avail->idx claims more than num outstanding. */
int vq_pending(struct vq *q);

/* Take the next chain. 0 on success, -ENOENT when none is available, -EIO when the chain is
 * invalid (the queue is then broken): head or next out of range, a loop or a chain longer
 * than num or VQ_MAX_IOV, INDIRECT (never negotiated), a readable descriptor after a writable one, an
 * address outside guest memory, addr+len overflow, more than VQ_MAX_IOV pieces or more than
 * VQ_MAX_CHAIN_BYTES in total. */
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c);

/* Give back the chain just popped (nothing was written to the used ring for it). */
void vq_unpop(struct vq *q);

/* Return a chain to the guest, len bytes written into its writable part. */
int vq_push(struct vq *q, const struct vq_chain *c, uint32_t len);

/* Whether the guest wants an interrupt now (VRING_AVAIL_F_NO_INTERRUPT clear). */
bool vq_need_notify(const struct vq *q);

/* iovec helpers over a chain's parts. */
size_t iov_copy_from(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len);
/* Sub-range [off, off+len) of iov as new iovecs in out (at most max); returns the count. */
unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out,
                   unsigned max);

#endif

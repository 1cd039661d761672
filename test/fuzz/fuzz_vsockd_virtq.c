/* Fuzz the virtqueue walker (hypervisor/vsockd/virtq.c) and the vsock header checks with a
 * fuzzer-built guest: the input chooses the ring size, base index and memory layout, and its
 * bytes ARE guest memory (descriptor table, avail ring, buffers). The property checked: every
 * iovec handed out lies inside guest memory, lengths add up, and nothing loops or crashes.
 *
 * Input: [0] log2(num) | [1..2] base | [3] layout flags | [4..7] gpa of region 0 |
 *        [8..] guest memory (64 KiB, zero padded) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsockd/virtq.h"
#include "vsockd/vsock_pkt.h"

#define MEM 65536u
#define HALF (MEM / 2)
#define UVA 0x7f0000000000ull

static uint8_t gmem[MEM] __attribute__((aligned(4096)));

static void check_inside(const struct iovec *iov, unsigned n, size_t total)
{
    size_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = iov[i].iov_base;
        if (b < gmem || iov[i].iov_len > MEM || b + iov[i].iov_len > gmem + MEM)
            abort();
        sum += iov[i].iov_len;
    }
    if (sum != total)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vq_mem m = {0};
    struct vq q;
    uint32_t num;
    uint16_t base;
    uint8_t flags;
    uint64_t gpa0;

    if (size < 8)
        return 0;
    num = 1u << (data[0] % 9); /* 1..256: the table fits the first 4 KiB */
    base = (uint16_t)(data[1] | data[2] << 8);
    flags = data[3];
    gpa0 = (uint64_t)data[4] << 12 | (uint64_t)data[5] << 20 | (uint64_t)data[6] << 28 |
           (uint64_t)(data[7] & 0x80 ? 0xffffffffull << 32 : 0); /* sometimes near the top */
    memset(gmem, 0, sizeof(gmem));
    memcpy(gmem, data + 8, size - 8 < MEM ? size - 8 : MEM);

    /* Two halves of our buffer, adjacent in guest space or not (flag bit 0), so chains can
     * straddle regions; bit 1 drops the second region to leave a hole. */
    m.r[0] = (struct vq_region){.gpa = gpa0, .uva = UVA, .size = HALF, .host = gmem};
    m.n = 1;
    if (!(flags & 2)) {
        uint64_t gpa1 = (flags & 1) ? gpa0 + HALF : gpa0 + 4 * MEM;
        if (gpa1 > gpa0) {
            m.r[1] = (struct vq_region){.gpa = gpa1, .uva = UVA + HALF, .size = HALF, .host = gmem + HALF};
            m.n = 2;
        }
    }
    if (vq_init(&q, &m, num, UVA, UVA + 4096, UVA + 8192, base) < 0)
        abort(); /* the layout above is always valid */

    for (unsigned round = 0; round < 2 * num + 4; round++) {
        struct vq_chain c;
        int r = vq_pending(&q);
        if (r < 0 && !q.broken)
            abort();
        r = vq_pop(&q, &m, &c);
        if (r == -ENOENT || r == -EIO)
            break;
        if (r != 0 || c.n_out + c.n_in > VQ_MAX_IOV || c.out_len + c.in_len > VQ_MAX_CHAIN_BYTES)
            abort();
        check_inside(c.iov, c.n_out, c.out_len);
        check_inside(c.iov + c.n_out, c.n_in, c.in_len);
        if (c.out_len >= VSOCK_HDR_LEN) {
            uint8_t raw[VSOCK_HDR_LEN];
            struct vsock_hdr h;
            iov_copy_from(c.iov, c.n_out, 0, raw, sizeof(raw));
            vsock_hdr_decode(raw, &h);
            (void)vsock_hdr_check(&h, 3, c.out_len - VSOCK_HDR_LEN);
            if (h.len <= c.out_len - VSOCK_HDR_LEN) {
                struct iovec sl[VQ_MAX_IOV];
                unsigned k = iov_slice(c.iov, c.n_out, VSOCK_HDR_LEN, h.len, sl, VQ_MAX_IOV);
                check_inside(sl, k, h.len);
            }
        }
        if (c.in_len >= VSOCK_HDR_LEN) {
            uint8_t raw[VSOCK_HDR_LEN] = {0};
            iov_copy_to(c.iov + c.n_out, c.n_in, 0, raw, sizeof(raw));
        }
        if ((flags & 4) && round == 0) {
            vq_unpop(&q);
            continue;
        }
        if (vq_push(&q, &c, (uint32_t)(c.in_len / 2)) != 0)
            abort();
        (void)vq_need_notify(&q);
    }
    return 0;
}

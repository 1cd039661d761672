/* hypervisor/vsockd/virtq.c against a hostile guest: every ring index, descriptor address,
 * length, flag and link the guest controls, in a fabricated guest memory. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vsockd/virtq.h"

#define MEM_SIZE (1u << 20)
#define GPA_BASE 0x100000ull
#define UVA_BASE 0x7f0000000000ull
#define DESC_OFF 0x0
#define AVAIL_OFF 0x4000
#define USED_OFF 0x8000
#define DATA_OFF 0x10000

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));
static struct vq_mem m;
static struct vq q;

static void setup(void)
{
    memset(mem, 0, sizeof(mem));
    memset(&m, 0, sizeof(m));
    m.n = 1;
    m.r[0] = (struct vq_region){.gpa = GPA_BASE, .uva = UVA_BASE, .size = MEM_SIZE, .host = mem};
}

static void init_ring(uint32_t num)
{
    ck_assert_int_eq(vq_init(&q, &m, num, UVA_BASE + DESC_OFF, UVA_BASE + AVAIL_OFF,
                             UVA_BASE + USED_OFF, 0), 0);
}

static struct vring_desc *desc(unsigned i)
{
    return (struct vring_desc *)(mem + DESC_OFF) + i;
}

static struct vring_avail *avail(void)
{
    return (struct vring_avail *)(mem + AVAIL_OFF);
}

static struct vring_used *used(void)
{
    return (struct vring_used *)(mem + USED_OFF);
}

static void set_desc(unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
    desc(i)->addr = gpa;
    desc(i)->len = len;
    desc(i)->flags = flags;
    desc(i)->next = next;
}

static void make_avail(uint16_t head)
{
    avail()->ring[avail()->idx % q.num] = head;
    avail()->idx++;
}

static void assert_broken_pop(void)
{
    struct vq_chain c;
    ck_assert_int_eq(vq_pop(&q, &m, &c), -EIO);
    ck_assert(q.broken);
    ck_assert_ptr_nonnull(q.why);
    /* Broken stays broken: nothing is walked again. */
    ck_assert_int_eq(vq_pop(&q, &m, &c), -EIO);
    ck_assert_int_eq(vq_push(&q, &c, 0), -EIO);
}

START_TEST(test_translate_bounds)
{
    ck_assert_ptr_eq(vq_mem_translate(&m, GPA_BASE, 16, false), mem);
    ck_assert_ptr_eq(vq_mem_translate(&m, GPA_BASE + MEM_SIZE - 1, 1, false), mem + MEM_SIZE - 1);
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE + MEM_SIZE - 1, 2, false));
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE - 1, 2, false));
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE + MEM_SIZE, 1, false));
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE, 0, false));
    ck_assert_ptr_null(vq_mem_translate(&m, UINT64_MAX - 4, 16, false)); /* wraps */
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE + 8, UINT64_MAX - 4, false));
    ck_assert_ptr_eq(vq_mem_translate(&m, UVA_BASE + 32, 8, true), mem + 32);
    ck_assert_ptr_null(vq_mem_translate(&m, GPA_BASE + 32, 8, true)); /* a gpa is not a uva */
}
END_TEST

START_TEST(test_gpa_iov_splits_adjacent_regions)
{
    struct iovec iov[4];
    /* Two guest-adjacent regions backed by non-adjacent host memory. */
    m.n = 2;
    m.r[0] = (struct vq_region){.gpa = 0x1000, .uva = 0x10000, .size = 0x1000, .host = mem + 0x8000};
    m.r[1] = (struct vq_region){.gpa = 0x2000, .uva = 0x20000, .size = 0x1000, .host = mem};
    ck_assert_int_eq(vq_mem_gpa_iov(&m, 0x1f00, 0x200, iov, 4), 2);
    ck_assert_ptr_eq(iov[0].iov_base, mem + 0x8f00);
    ck_assert_uint_eq(iov[0].iov_len, 0x100);
    ck_assert_ptr_eq(iov[1].iov_base, mem);
    ck_assert_uint_eq(iov[1].iov_len, 0x100);
    ck_assert_int_eq(vq_mem_gpa_iov(&m, 0x1f00, 0x200, iov, 1), -E2BIG);
    ck_assert_int_eq(vq_mem_gpa_iov(&m, 0x2f00, 0x200, iov, 4), -EFAULT); /* runs off the end */
    ck_assert_int_eq(vq_mem_gpa_iov(&m, 0x500, 0x10, iov, 4), -EFAULT);
    ck_assert_int_eq(vq_mem_gpa_iov(&m, UINT64_MAX - 0x10, 0x100, iov, 4), -EFAULT);
    ck_assert_int_eq(vq_mem_gpa_iov(&m, 0x1000, 0, iov, 4), 0);
}
END_TEST

START_TEST(test_init_rejects_bad_rings)
{
    ck_assert_int_eq(vq_init(&q, &m, 0, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&q, &m, 100, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&q, &m, 65536, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&q, &m, 128, UVA_BASE + 8, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&q, &m, 128, UVA_BASE, UVA_BASE + AVAIL_OFF + 1, UVA_BASE + USED_OFF, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&q, &m, 128, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF + 2, 0), -EINVAL);
    /* Used ring's tail past the end of memory. */
    ck_assert_int_eq(vq_init(&q, &m, 128, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + MEM_SIZE - 512, 0), -EFAULT);
    /* Descriptor table at a guest-physical address instead of QEMU's. */
    ck_assert_int_eq(vq_init(&q, &m, 128, GPA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 0), -EFAULT);
    ck_assert_int_eq(vq_init(&q, &m, 32768, UVA_BASE, UVA_BASE + 0x80000, UVA_BASE + 0x90000, 0), 0);
}
END_TEST

START_TEST(test_pop_push_roundtrip)
{
    struct vq_chain c;
    init_ring(128);
    set_desc(5, GPA_BASE + DATA_OFF, 44, VRING_DESC_F_NEXT, 9);
    set_desc(9, GPA_BASE + DATA_OFF + 100, 10, VRING_DESC_F_NEXT, 2);
    set_desc(2, GPA_BASE + DATA_OFF + 4096, 4096, VRING_DESC_F_WRITE, 0);
    make_avail(5);
    ck_assert_int_eq(vq_pending(&q), 1);
    ck_assert_int_eq(vq_pop(&q, &m, &c), 0);
    ck_assert_uint_eq(c.head, 5);
    ck_assert_uint_eq(c.n_out, 2);
    ck_assert_uint_eq(c.n_in, 1);
    ck_assert_uint_eq(c.out_len, 54);
    ck_assert_uint_eq(c.in_len, 4096);
    ck_assert_ptr_eq(c.iov[0].iov_base, mem + DATA_OFF);
    ck_assert_ptr_eq(c.iov[1].iov_base, mem + DATA_OFF + 100);
    ck_assert_ptr_eq(c.iov[2].iov_base, mem + DATA_OFF + 4096);
    ck_assert_int_eq(vq_pop(&q, &m, &c), -ENOENT);
    ck_assert(!q.broken);
    ck_assert_int_eq(vq_push(&q, &c, 4097), -EINVAL); /* more than the guest gave us */
    ck_assert_int_eq(vq_push(&q, &c, 100), 0);
    ck_assert_uint_eq(used()->idx, 1);
    ck_assert_uint_eq(used()->ring[0].id, 5);
    ck_assert_uint_eq(used()->ring[0].len, 100);
}
END_TEST

START_TEST(test_unpop_returns_same_chain)
{
    struct vq_chain c;
    init_ring(8);
    set_desc(3, GPA_BASE + DATA_OFF, 64, VRING_DESC_F_WRITE, 0);
    make_avail(3);
    ck_assert_int_eq(vq_pop(&q, &m, &c), 0);
    vq_unpop(&q);
    ck_assert_int_eq(vq_pending(&q), 1);
    ck_assert_int_eq(vq_pop(&q, &m, &c), 0);
    ck_assert_uint_eq(c.head, 3);
}
END_TEST

START_TEST(test_avail_idx_ahead_of_ring)
{
    init_ring(8);
    avail()->idx = 9; /* claims 9 outstanding in an 8-entry ring */
    ck_assert_int_eq(vq_pending(&q), -EIO);
    assert_broken_pop();
}
END_TEST

START_TEST(test_avail_idx_wraps_legitimately)
{
    struct vq_chain c;
    ck_assert_int_eq(vq_init(&q, &m, 8, UVA_BASE, UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF, 65534), 0);
    set_desc(0, GPA_BASE + DATA_OFF, 64, VRING_DESC_F_WRITE, 0);
    avail()->ring[65534 % 8] = 0;
    avail()->ring[65535 % 8] = 0;
    avail()->ring[0] = 0;
    avail()->idx = 1; /* 65534, 65535, 0 available: 3 entries across the wrap */
    ck_assert_int_eq(vq_pending(&q), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vq_pop(&q, &m, &c), 0);
    ck_assert_int_eq(vq_pop(&q, &m, &c), -ENOENT);
}
END_TEST

START_TEST(test_head_out_of_range)
{
    init_ring(8);
    make_avail(8);
    assert_broken_pop();
}
END_TEST

START_TEST(test_next_out_of_range)
{
    init_ring(8);
    set_desc(0, GPA_BASE + DATA_OFF, 16, VRING_DESC_F_NEXT, 200);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_descriptor_loop)
{
    init_ring(8);
    set_desc(0, GPA_BASE + DATA_OFF, 16, VRING_DESC_F_NEXT, 1);
    set_desc(1, GPA_BASE + DATA_OFF, 16, VRING_DESC_F_NEXT, 2);
    set_desc(2, GPA_BASE + DATA_OFF, 16, VRING_DESC_F_NEXT, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_descriptor_self_loop)
{
    init_ring(256);
    set_desc(7, GPA_BASE + DATA_OFF, 1, VRING_DESC_F_NEXT, 7);
    make_avail(7);
    assert_broken_pop();
}
END_TEST

START_TEST(test_chain_too_many_pieces)
{
    /* 100 distinct, valid descriptors: no loop, but more pieces than VQ_MAX_IOV. */
    init_ring(256);
    for (unsigned i = 0; i < 100; i++)
        set_desc(i, GPA_BASE + DATA_OFF + i * 8, 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(99)->flags = 0;
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_chain_of_zero_length_descriptors)
{
    /* Zero-length descriptors produce no iovecs; the descriptor count still bounds the walk. */
    init_ring(256);
    for (unsigned i = 0; i < 200; i++)
        set_desc(i, GPA_BASE + DATA_OFF, 0, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    make_avail(0);
    assert_broken_pop();
    ck_assert_str_eq(q.why, "descriptor chain has too many descriptors");
}
END_TEST

START_TEST(test_chain_within_iov_limit_ok)
{
    struct vq_chain c;
    init_ring(256);
    for (unsigned i = 0; i < VQ_MAX_IOV; i++)
        set_desc(i, GPA_BASE + DATA_OFF + i * 8, 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(VQ_MAX_IOV - 1)->flags = 0;
    make_avail(0);
    ck_assert_int_eq(vq_pop(&q, &m, &c), 0);
    ck_assert_uint_eq(c.n_out, VQ_MAX_IOV);
    ck_assert_uint_eq(c.out_len, VQ_MAX_IOV * 8);
}
END_TEST

START_TEST(test_oversized_length)
{
    init_ring(8);
    set_desc(0, GPA_BASE, 0xffffffffu, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_chain_bytes_limit)
{
    /* Two descriptors each inside memory whose sum passes VQ_MAX_CHAIN_BYTES. */
    static uint8_t big[VQ_MAX_CHAIN_BYTES];
    m.n = 2;
    m.r[1] = (struct vq_region){.gpa = 0x100000000ull, .uva = 0x6f0000000000ull, .size = sizeof(big), .host = big};
    init_ring(8);
    set_desc(0, 0x100000000ull, VQ_MAX_CHAIN_BYTES, VRING_DESC_F_NEXT, 1);
    set_desc(1, GPA_BASE + DATA_OFF, 1, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_address_out_of_range)
{
    init_ring(8);
    set_desc(0, GPA_BASE + MEM_SIZE, 16, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_address_plus_length_overflows)
{
    init_ring(8);
    set_desc(0, UINT64_MAX - 8, 64, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_straddles_end_of_memory)
{
    init_ring(8);
    set_desc(0, GPA_BASE + MEM_SIZE - 8, 64, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_readable_after_writable)
{
    init_ring(8);
    set_desc(0, GPA_BASE + DATA_OFF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(1, GPA_BASE + DATA_OFF, 16, 0, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_indirect_rejected)
{
    init_ring(8);
    set_desc(0, GPA_BASE + DATA_OFF, 32, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    assert_broken_pop();
}
END_TEST

START_TEST(test_notify_flag)
{
    init_ring(8);
    ck_assert(vq_need_notify(&q));
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
    ck_assert(!vq_need_notify(&q));
}
END_TEST

START_TEST(test_iov_helpers)
{
    uint8_t a[5] = "abcde", b[3] = "fgh", out[8] = {0};
    struct iovec iov[2] = {{a, 5}, {b, 3}}, sl[2];
    ck_assert_uint_eq(iov_copy_from(iov, 2, 3, out, 4), 4);
    ck_assert_mem_eq(out, "defg", 4);
    ck_assert_uint_eq(iov_copy_from(iov, 2, 6, out, 10), 2); /* short at the end */
    ck_assert_uint_eq(iov_copy_to(iov, 2, 4, "XYZ", 3), 3);
    ck_assert_mem_eq(a, "abcdX", 5);
    ck_assert_mem_eq(b, "YZh", 3);
    ck_assert_uint_eq(iov_slice(iov, 2, 4, 3, sl, 2), 2);
    ck_assert_ptr_eq(sl[0].iov_base, a + 4);
    ck_assert_uint_eq(sl[0].iov_len, 1);
    ck_assert_uint_eq(sl[1].iov_len, 2);
    ck_assert_uint_eq(iov_slice(iov, 2, 20, 3, sl, 2), 0);
}
END_TEST

static Suite *virtq_suite(void)
{
    Suite *s = suite_create("vsockd_virtq");
    TCase *t = tcase_create("hostile");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_translate_bounds);
    tcase_add_test(t, test_gpa_iov_splits_adjacent_regions);
    tcase_add_test(t, test_init_rejects_bad_rings);
    tcase_add_test(t, test_pop_push_roundtrip);
    tcase_add_test(t, test_unpop_returns_same_chain);
    tcase_add_test(t, test_avail_idx_ahead_of_ring);
    tcase_add_test(t, test_avail_idx_wraps_legitimately);
    tcase_add_test(t, test_head_out_of_range);
    tcase_add_test(t, test_next_out_of_range);
    tcase_add_test(t, test_descriptor_loop);
    tcase_add_test(t, test_descriptor_self_loop);
    tcase_add_test(t, test_chain_too_many_pieces);
    tcase_add_test(t, test_chain_of_zero_length_descriptors);
    tcase_add_test(t, test_chain_within_iov_limit_ok);
    tcase_add_test(t, test_oversized_length);
    tcase_add_test(t, test_chain_bytes_limit);
    tcase_add_test(t, test_address_out_of_range);
    tcase_add_test(t, test_address_plus_length_overflows);
    tcase_add_test(t, test_straddles_end_of_memory);
    tcase_add_test(t, test_readable_after_writable);
    tcase_add_test(t, test_indirect_rejected);
    tcase_add_test(t, test_notify_flag);
    tcase_add_test(t, test_iov_helpers);
    suite_add_tcase(s, t);
    return s;
}

CVM_CHECK_MAIN(virtq_suite)

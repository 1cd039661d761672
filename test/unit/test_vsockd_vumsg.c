/* hypervisor/vsockd/vu_msg.c: vhost-user message validation before any handler runs. */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vsockd/vu_msg.h"

static struct vu_msg msg(uint32_t req, uint32_t size)
{
    struct vu_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.request = req;
    m.hdr.flags = VHOST_USER_VERSION;
    m.hdr.size = size;
    return m;
}

START_TEST(test_header)
{
    struct vu_msg m = msg(VHOST_USER_GET_FEATURES, 0);
    ck_assert_int_eq(vu_hdr_check(&m.hdr), 0);
    m.hdr.flags = 0x2; /* wrong version */
    ck_assert_int_eq(vu_hdr_check(&m.hdr), -EINVAL);
    m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK; /* a reply from the front end */
    ck_assert_int_eq(vu_hdr_check(&m.hdr), -EINVAL);
    m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY;
    ck_assert_int_eq(vu_hdr_check(&m.hdr), 0);
    m.hdr.size = VU_MAX_PAYLOAD + 1;
    ck_assert_int_eq(vu_hdr_check(&m.hdr), -EINVAL);
    m.hdr.size = UINT32_MAX;
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
}
END_TEST

START_TEST(test_fixed_sizes)
{
    struct vu_msg m = msg(VHOST_USER_GET_FEATURES, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    ck_assert_int_eq(vu_msg_check(&m, 1), -EINVAL); /* stray fd */
    m = msg(VHOST_USER_GET_FEATURES, 8);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_SET_FEATURES, 8);
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    m = msg(VHOST_USER_SET_FEATURES, 4);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_SET_VRING_NUM, 8);
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    m = msg(VHOST_USER_GET_VRING_BASE, 12);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_SET_VRING_ADDR, sizeof(struct vu_vring_addr));
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    m = msg(VHOST_USER_SET_VRING_ADDR, sizeof(struct vu_vring_addr) - 8);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_SET_OWNER, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
}
END_TEST

START_TEST(test_vring_fd_messages)
{
    struct vu_msg m = msg(VHOST_USER_SET_VRING_KICK, 8);
    m.p.u64 = 1;
    ck_assert_int_eq(vu_msg_check(&m, 1), 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL); /* fd promised, none came */
    ck_assert_int_eq(vu_msg_check(&m, 2), -EINVAL);
    m.p.u64 = 1 | VU_VRING_NOFD_MASK;
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    ck_assert_int_eq(vu_msg_check(&m, 1), -EINVAL);
    m.p.u64 = 1ull << 40; /* reserved bits */
    ck_assert_int_eq(vu_msg_check(&m, 1), -EINVAL);
    m = msg(VHOST_USER_SET_VRING_CALL, 4);
    ck_assert_int_eq(vu_msg_check(&m, 1), -EINVAL);
}
END_TEST

START_TEST(test_mem_table_message)
{
    size_t hdr = offsetof(struct vu_mem_table, regions);
    struct vu_msg m = msg(VHOST_USER_SET_MEM_TABLE, (uint32_t)(hdr + 2 * sizeof(struct vu_mem_region)));
    m.p.mem.nregions = 2;
    ck_assert_int_eq(vu_msg_check(&m, 2), 0);
    ck_assert_int_eq(vu_msg_check(&m, 1), -EINVAL); /* fewer fds than regions */
    m.p.mem.nregions = 3;                            /* count disagrees with size */
    ck_assert_int_eq(vu_msg_check(&m, 3), -EINVAL);
    m = msg(VHOST_USER_SET_MEM_TABLE, (uint32_t)hdr);
    m.p.mem.nregions = 0;
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_SET_MEM_TABLE, (uint32_t)(hdr + 9 * sizeof(struct vu_mem_region)));
    m.p.mem.nregions = 9;
    ck_assert_int_eq(vu_msg_check(&m, 8), -EINVAL);
    m = msg(VHOST_USER_SET_MEM_TABLE, 4);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
}
END_TEST

START_TEST(test_config_message)
{
    struct vu_msg m = msg(VHOST_USER_GET_CONFIG, VU_CONFIG_HDR + 8);
    m.p.config.size = 8;
    ck_assert_int_eq(vu_msg_check(&m, 0), 0);
    m.p.config.size = 9;
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_GET_CONFIG, VU_CONFIG_HDR + VU_MAX_CONFIG + 4);
    m.p.config.size = VU_MAX_CONFIG + 4;
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_GET_CONFIG, 8);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m.p.config = (struct vu_config){.offset = 0, .size = 8};
    ck_assert(vu_config_range_ok(&m.p.config, 8));
    m.p.config = (struct vu_config){.offset = 4, .size = 4};
    ck_assert(vu_config_range_ok(&m.p.config, 8));
    m.p.config = (struct vu_config){.offset = 4, .size = 8};
    ck_assert(!vu_config_range_ok(&m.p.config, 8));
    m.p.config = (struct vu_config){.offset = UINT32_MAX, .size = 2};
    ck_assert(!vu_config_range_ok(&m.p.config, 8));
    m.p.config = (struct vu_config){.offset = 0, .size = 0};
    ck_assert(!vu_config_range_ok(&m.p.config, 8));
}
END_TEST

START_TEST(test_unknown_requests)
{
    struct vu_msg m = msg(VHOST_USER_SET_LOG_BASE, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EOPNOTSUPP);
    m = msg(0, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(VHOST_USER_MAX_REQUEST, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    m = msg(0xdeadbeef, 0);
    ck_assert_int_eq(vu_msg_check(&m, 0), -EINVAL);
    ck_assert_str_eq(vu_request_name(VHOST_USER_GET_CONFIG), "GET_CONFIG");
    ck_assert_str_eq(vu_request_name(0xdeadbeef), "UNKNOWN");
}
END_TEST

START_TEST(test_mem_table_regions)
{
    struct vu_mem_table t;
    memset(&t, 0, sizeof(t));
    t.nregions = 2;
    t.regions[0] = (struct vu_mem_region){.guest_phys_addr = 0, .memory_size = 0xf0000,
                                          .userspace_addr = 0x7f0000000000, .mmap_offset = 0};
    t.regions[1] = (struct vu_mem_region){.guest_phys_addr = 0x100000, .memory_size = 0xff00000,
                                          .userspace_addr = 0x7f0000100000, .mmap_offset = 0x100000};
    ck_assert_int_eq(vu_mem_table_check(&t), 0);
    t.regions[1].guest_phys_addr = 0x80000; /* overlaps region 0 in guest-physical space */
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
    t.regions[1].guest_phys_addr = 0x100000;
    t.regions[1].userspace_addr = 0x7f0000010000; /* overlaps in QEMU's space */
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
    t.regions[1].userspace_addr = 0x7f0000100000;
    t.regions[1].memory_size = 0;
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
    t.regions[1].memory_size = 0x1000;
    t.regions[1].guest_phys_addr = UINT64_MAX - 0x10;
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
    t.regions[1].guest_phys_addr = 0x100000;
    t.regions[1].mmap_offset = UINT64_MAX - 0x10;
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
    t.nregions = 9;
    ck_assert_int_eq(vu_mem_table_check(&t), -EINVAL);
}
END_TEST

START_TEST(test_vring_num)
{
    ck_assert(vu_vring_num_ok(1));
    ck_assert(vu_vring_num_ok(128));
    ck_assert(vu_vring_num_ok(32768));
    ck_assert(!vu_vring_num_ok(0));
    ck_assert(!vu_vring_num_ok(100));
    ck_assert(!vu_vring_num_ok(65536));
    ck_assert(!vu_vring_num_ok(UINT32_MAX));
}
END_TEST

static Suite *vumsg_suite(void)
{
    Suite *s = suite_create("vsockd_vumsg");
    TCase *t = tcase_create("validate");
    tcase_add_test(t, test_header);
    tcase_add_test(t, test_fixed_sizes);
    tcase_add_test(t, test_vring_fd_messages);
    tcase_add_test(t, test_mem_table_message);
    tcase_add_test(t, test_config_message);
    tcase_add_test(t, test_unknown_requests);
    tcase_add_test(t, test_mem_table_regions);
    tcase_add_test(t, test_vring_num);
    suite_add_tcase(s, t);
    return s;
}

CVM_CHECK_MAIN(vumsg_suite)

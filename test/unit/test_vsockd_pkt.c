/* hypervisor/vsockd: virtio-vsock header codec and checks, credit accounting, the hybrid
 * CONNECT handshake line. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vsockd/handshake.h"
#include "vsockd/vsock_pkt.h"

static struct vsock_hdr good(uint16_t op)
{
    return (struct vsock_hdr){.src_cid = 3, .dst_cid = VSOCK_HOST_CID, .src_port = 1000,
                              .dst_port = 5000, .type = VSOCK_TYPE_STREAM, .op = op};
}

START_TEST(test_hdr_layout_little_endian)
{
    static const uint8_t want[VSOCK_HDR_LEN] = {
        0x02, 0, 0, 0, 0, 0, 0, 0,             /* src_cid */
        0x03, 0, 0, 0, 0, 0, 0, 0,             /* dst_cid */
        0x39, 0x05, 0, 0,                      /* src_port 1337 */
        0xd2, 0x04, 0, 0,                      /* dst_port 1234 */
        0x10, 0, 0, 0,                         /* len 16 */
        0x01, 0x00,                            /* type stream */
        0x05, 0x00,                            /* op RW */
        0x03, 0, 0, 0,                         /* flags */
        0x00, 0x00, 0x04, 0x00,                /* buf_alloc 256 KiB */
        0x78, 0x56, 0x34, 0x12,                /* fwd_cnt */
    };
    struct vsock_hdr h = {.src_cid = 2, .dst_cid = 3, .src_port = 1337, .dst_port = 1234,
                          .len = 16, .type = 1, .op = 5, .flags = 3, .buf_alloc = 262144,
                          .fwd_cnt = 0x12345678};
    struct vsock_hdr back;
    uint8_t raw[VSOCK_HDR_LEN];
    vsock_hdr_encode(&h, raw);
    ck_assert_mem_eq(raw, want, VSOCK_HDR_LEN);
    vsock_hdr_decode(raw, &back);
    ck_assert_uint_eq(back.src_cid, 2);
    ck_assert_uint_eq(back.dst_cid, 3);
    ck_assert_uint_eq(back.src_port, 1337);
    ck_assert_uint_eq(back.dst_port, 1234);
    ck_assert_uint_eq(back.len, 16);
    ck_assert_uint_eq(back.type, 1);
    ck_assert_uint_eq(back.op, 5);
    ck_assert_uint_eq(back.flags, 3);
    ck_assert_uint_eq(back.buf_alloc, 262144);
    ck_assert_uint_eq(back.fwd_cnt, 0x12345678);
}
END_TEST

START_TEST(test_check_addressing)
{
    struct vsock_hdr h = good(VSOCK_OP_REQUEST);
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_OK);
    h.src_cid = 4; /* spoofed source */
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_DROP);
    h = good(VSOCK_OP_REQUEST);
    h.dst_cid = 5; /* to another guest */
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_DROP);
    h = good(VSOCK_OP_RST);
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_OK);
    h.type = 2; /* an RST is never answered, even a malformed one */
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_DROP);
}
END_TEST

START_TEST(test_check_ops_and_lengths)
{
    struct vsock_hdr h = good(VSOCK_OP_RW);
    h.len = 100;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 100), VSOCK_PKT_OK);
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 99), VSOCK_PKT_RST); /* len beyond the buffer */
    h.len = 0;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 100), VSOCK_PKT_RST);
    h.len = VSOCK_MAX_PAYLOAD + 1;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 1 << 20), VSOCK_PKT_RST);
    h.len = UINT32_MAX;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, SIZE_MAX), VSOCK_PKT_RST);
    h = good(VSOCK_OP_REQUEST);
    h.len = 4;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 4), VSOCK_PKT_RST);
    h = good(VSOCK_OP_SHUTDOWN);
    h.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_OK);
    h.flags = 4;
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_RST);
    h = good(VSOCK_OP_INVALID);
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_RST);
    h = good(99);
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_RST);
    h = good(VSOCK_OP_CREDIT_UPDATE);
    h.type = 2; /* SEQPACKET was never negotiated */
    ck_assert_int_eq(vsock_hdr_check(&h, 3, 0), VSOCK_PKT_RST);
    ck_assert_str_eq(vsock_op_name(VSOCK_OP_CREDIT_REQUEST), "CREDIT_REQUEST");
    ck_assert_str_eq(vsock_op_name(1000), "UNKNOWN");
}
END_TEST

START_TEST(test_credit_peer_free)
{
    struct vsock_credit c;
    vsock_credit_init(&c, 1000);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 0); /* nothing known about the peer yet */
    vsock_credit_from_peer(&c, 4096, 0);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 4096);
    vsock_credit_sent(&c, 4000);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 96);
    vsock_credit_sent(&c, 96);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 0);
    vsock_credit_from_peer(&c, 4096, 2048); /* peer consumed half */
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 2048);
}
END_TEST

START_TEST(test_credit_counters_wrap)
{
    struct vsock_credit c;
    vsock_credit_init(&c, 1000);
    c.tx_cnt = UINT32_MAX - 10;
    vsock_credit_from_peer(&c, 4096, UINT32_MAX - 10);
    vsock_credit_sent(&c, 100); /* tx_cnt wraps to 89 */
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 4096 - 100);
    vsock_credit_from_peer(&c, 4096, 89);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 4096);
}
END_TEST

START_TEST(test_credit_hostile_peer)
{
    struct vsock_credit c;
    vsock_credit_init(&c, 1000);
    vsock_credit_sent(&c, 500);
    /* fwd_cnt ahead of what we ever sent: must not turn into a huge window. */
    vsock_credit_from_peer(&c, 4096, 10000);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 0);
    /* buf_alloc shrunk below what is in flight. */
    vsock_credit_from_peer(&c, 100, 0);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), 0);
    vsock_credit_from_peer(&c, UINT32_MAX, 0);
    ck_assert_uint_eq(vsock_credit_peer_free(&c), UINT32_MAX - 500);
}
END_TEST

START_TEST(test_credit_our_side)
{
    struct vsock_credit c;
    struct vsock_hdr h = {0};
    vsock_credit_init(&c, 1000);
    ck_assert(vsock_credit_rx_fits(&c, 0, 1000));
    ck_assert(!vsock_credit_rx_fits(&c, 0, 1001));
    ck_assert(vsock_credit_rx_fits(&c, 600, 400));
    ck_assert(!vsock_credit_rx_fits(&c, 600, 401));
    ck_assert(!vsock_credit_rx_fits(&c, 2000, 0));
    ck_assert(!vsock_credit_rx_fits(&c, 1, SIZE_MAX));
    ck_assert(!vsock_credit_update_due(&c));
    vsock_credit_forwarded(&c, 249);
    ck_assert(!vsock_credit_update_due(&c));
    vsock_credit_forwarded(&c, 1);
    ck_assert(vsock_credit_update_due(&c)); /* a quarter of buf_alloc */
    vsock_credit_stamp(&c, &h);
    ck_assert_uint_eq(h.buf_alloc, 1000);
    ck_assert_uint_eq(h.fwd_cnt, 250);
    ck_assert(!vsock_credit_update_due(&c));
}
END_TEST

START_TEST(test_handshake_parse)
{
    uint32_t port = 0;
    ck_assert_int_eq(handshake_parse("CONNECT 1234\n", 13, &port), 13);
    ck_assert_uint_eq(port, 1234);
    ck_assert_int_eq(handshake_parse("CONNECT 52\r\nextra", 17, &port), 12);
    ck_assert_uint_eq(port, 52);
    ck_assert_int_eq(handshake_parse("CONNECT 4294967295\n", 19, &port), 19);
    ck_assert_uint_eq(port, UINT32_MAX);
    ck_assert_int_eq(handshake_parse("CONNECT 12", 10, &port), 0); /* needs more */
    ck_assert_int_eq(handshake_parse("", 0, &port), 0);
    ck_assert_int_eq(handshake_parse("CONNECT 4294967296\n", 19, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("CONNECT \n", 9, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("CONNECT -1\n", 11, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("CONNECT 12a\n", 12, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("connect 12\n", 11, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("CONNECT\n", 8, &port), -EINVAL);
    ck_assert_int_eq(handshake_parse("CONNECT 1\r\r\n", 12, &port), -EINVAL);
    {
        char longline[HANDSHAKE_MAX_LINE + 8];
        memset(longline, '1', sizeof(longline));
        memcpy(longline, "CONNECT ", 8);
        ck_assert_int_eq(handshake_parse(longline, sizeof(longline), &port), -EINVAL);
        longline[sizeof(longline) - 1] = '\n'; /* newline too late to count */
        ck_assert_int_eq(handshake_parse(longline, sizeof(longline), &port), -EINVAL);
    }
}
END_TEST

static Suite *pkt_suite(void)
{
    Suite *s = suite_create("vsockd_pkt");
    TCase *t = tcase_create("pkt");
    tcase_add_test(t, test_hdr_layout_little_endian);
    tcase_add_test(t, test_check_addressing);
    tcase_add_test(t, test_check_ops_and_lengths);
    tcase_add_test(t, test_credit_peer_free);
    tcase_add_test(t, test_credit_counters_wrap);
    tcase_add_test(t, test_credit_hostile_peer);
    tcase_add_test(t, test_credit_our_side);
    tcase_add_test(t, test_handshake_parse);
    suite_add_tcase(s, t);
    return s;
}

CVM_CHECK_MAIN(pkt_suite)

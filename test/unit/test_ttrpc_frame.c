/* The pure frame codec: header layout, stream reassembly, truncation, oversize skipping. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ttrpc_frame.h"

/* spec §1.10: Connect{id:"abc"} on stream 1. */
static const uint8_t connect_frame[] = {
    0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x0a, 0x17, 'c', 'o', 'n', 't',
    'a',  'i',  'n',  'e',  'r',  'd',  '.',  't',  'a',  's',  'k',  '.',  'v', '2', '.', 'T',
    'a',  's',  'k',  0x12, 0x07, 'C',  'o',  'n',  'n',  'e',  'c',  't',  0x1a, 0x05, 0x0a, 0x03,
    'a',  'b',  'c'};

START_TEST(header_roundtrip)
{
    struct ttrpc_header h = {.length = 0x00123456, .stream_id = 0xdeadbeef, .type = 2, .flags = 5}, d;
    uint8_t b[TTRPC_HEADER_LEN];
    ttrpc_header_encode(&h, b);
    ck_assert_uint_eq(b[0], 0x00);
    ck_assert_uint_eq(b[1], 0x12);
    ck_assert_uint_eq(b[3], 0x56);
    ck_assert_uint_eq(b[4], 0xde);
    ck_assert_uint_eq(b[7], 0xef);
    ck_assert_uint_eq(b[8], 2);
    ck_assert_uint_eq(b[9], 5);
    ttrpc_header_decode(b, &d);
    ck_assert_uint_eq(d.length, h.length);
    ck_assert_uint_eq(d.stream_id, h.stream_id);
    ck_assert_uint_eq(d.type, h.type);
    ck_assert_uint_eq(d.flags, h.flags);
}
END_TEST

START_TEST(worked_example_byte_by_byte)
{
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    ttrpc_reader_init(&r, 0);
    for (size_t i = 0; i < sizeof(connect_frame) - 1; i++) {
        ck_assert_int_eq(ttrpc_reader_feed(&r, &connect_frame[i], 1), 0);
        ck_assert_int_eq(ttrpc_reader_next(&r, &f), 0);
        ck_assert(ttrpc_reader_mid_frame(&r));
    }
    ck_assert_int_eq(ttrpc_reader_feed(&r, &connect_frame[sizeof(connect_frame) - 1], 1), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert(!f.oversized);
    ck_assert_uint_eq(f.hdr.length, 41);
    ck_assert_uint_eq(f.hdr.stream_id, 1);
    ck_assert_uint_eq(f.hdr.type, TTRPC_TYPE_REQUEST);
    ck_assert_mem_eq(f.payload, connect_frame + 10, 41);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 0);
    ck_assert(!ttrpc_reader_mid_frame(&r));
    ttrpc_reader_done(&r);
}
END_TEST

START_TEST(zero_length_and_batched_frames)
{
    struct buf out;
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    buf_init(&out, 1 << 20);
    ck_assert_int_eq(ttrpc_frame_append(&out, 1, TTRPC_TYPE_REQUEST, 0, NULL, 0), 0);
    ck_assert_int_eq(ttrpc_frame_append(&out, 3, TTRPC_TYPE_REQUEST, 0, "xyz", 3), 0);
    ck_assert_int_eq(ttrpc_frame_append(&out, 5, TTRPC_TYPE_DATA, TTRPC_FLAG_NO_DATA, NULL, 0), 0);
    ck_assert_uint_eq(buf_avail(&out), 33);
    ttrpc_reader_init(&r, 0);
    ck_assert_int_eq(ttrpc_reader_feed(&r, buf_peek(&out), buf_avail(&out)), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert_uint_eq(f.hdr.length, 0);
    ck_assert_uint_eq(f.hdr.stream_id, 1);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert_uint_eq(f.hdr.stream_id, 3);
    ck_assert_mem_eq(f.payload, "xyz", 3);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert_uint_eq(f.hdr.type, TTRPC_TYPE_DATA);
    ck_assert_uint_eq(f.hdr.flags, TTRPC_FLAG_NO_DATA);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 0);
    ttrpc_reader_done(&r);
    buf_done(&out);
}
END_TEST

START_TEST(oversized_is_skipped_and_stream_resyncs)
{
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    struct ttrpc_header h = {.length = TTRPC_MAX_PAYLOAD + 1, .stream_id = 7, .type = 1};
    uint8_t hdr[TTRPC_HEADER_LEN];
    uint8_t *junk = calloc(1, 1 << 16);
    struct buf next;
    size_t left = h.length;

    ttrpc_reader_init(&r, 0);
    ttrpc_header_encode(&h, hdr);
    ck_assert_int_eq(ttrpc_reader_feed(&r, hdr, sizeof(hdr)), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert(f.oversized);
    ck_assert_uint_eq(f.hdr.stream_id, 7);
    ck_assert_uint_eq(f.hdr.length, TTRPC_MAX_PAYLOAD + 1);
    while (left > 0) {
        size_t n = left > (1u << 16) ? 1u << 16 : left;
        ck_assert_int_eq(ttrpc_reader_feed(&r, junk, n), 0);
        ck_assert_int_eq(ttrpc_reader_next(&r, &f), 0);
        left -= n;
    }
    buf_init(&next, 1 << 16);
    ck_assert_int_eq(ttrpc_frame_append(&next, 9, TTRPC_TYPE_REQUEST, 0, "ok", 2), 0);
    ck_assert_int_eq(ttrpc_reader_feed(&r, buf_peek(&next), buf_avail(&next)), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert(!f.oversized);
    ck_assert_uint_eq(f.hdr.stream_id, 9);
    ck_assert_mem_eq(f.payload, "ok", 2);
    ttrpc_reader_done(&r);
    buf_done(&next);
    free(junk);
}
END_TEST

START_TEST(maximum_payload_accepted)
{
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    struct buf out;
    uint8_t *big = malloc(TTRPC_MAX_PAYLOAD);
    memset(big, 0xab, TTRPC_MAX_PAYLOAD);
    buf_init(&out, TTRPC_MAX_PAYLOAD + 64);
    ck_assert_int_eq(ttrpc_frame_append(&out, 1, 1, 0, big, TTRPC_MAX_PAYLOAD), 0);
    ck_assert_int_eq(ttrpc_frame_append(&out, 3, 1, 0, big, TTRPC_MAX_PAYLOAD + 1), -EMSGSIZE);
    ttrpc_reader_init(&r, 0);
    ck_assert_int_eq(ttrpc_reader_feed(&r, buf_peek(&out), buf_avail(&out)), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 1);
    ck_assert(!f.oversized);
    ck_assert_uint_eq(f.hdr.length, TTRPC_MAX_PAYLOAD);
    ck_assert_uint_eq(f.payload[TTRPC_MAX_PAYLOAD - 1], 0xab);
    ttrpc_reader_done(&r);
    buf_done(&out);
    free(big);
}
END_TEST

START_TEST(truncated_header_waits)
{
    struct ttrpc_reader r;
    struct ttrpc_frame f;
    ttrpc_reader_init(&r, 0);
    ck_assert_int_eq(ttrpc_reader_feed(&r, connect_frame, 9), 0);
    ck_assert_int_eq(ttrpc_reader_next(&r, &f), 0);
    ck_assert(ttrpc_reader_mid_frame(&r));
    ttrpc_reader_done(&r);
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("ttrpc_frame");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, header_roundtrip);
    tcase_add_test(tc, worked_example_byte_by_byte);
    tcase_add_test(tc, zero_length_and_batched_frames);
    tcase_add_test(tc, oversized_is_skipped_and_stream_resyncs);
    tcase_add_test(tc, maximum_payload_accepted);
    tcase_add_test(tc, truncated_header_waits);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(frame_suite)

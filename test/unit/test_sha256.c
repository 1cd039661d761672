/* shim/sha256.c against FIPS 180-4 vectors and the spec's socket-address example. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../shim/naming/sha256.h"
#include "check_main.h"

static void hex_of(const char *s, size_t n, char out[65])
{
    sha256_hex(s, n, out);
}

START_TEST(test_vectors)
{
    char h[65];
    hex_of("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m, strlen(m), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_million_a_incremental)
{
    struct sha256 s;
    uint8_t d[32];
    char chunk[1001];
    static const uint8_t want[4] = { 0xcd, 0xc7, 0x6e, 0x5c };
    memset(chunk, 'a', sizeof(chunk));
    sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        sha256_update(&s, chunk, i % 2 ? 999 : 1001); /* odd splits across blocks */
    sha256_final(&s, d);
    ck_assert_int_eq(memcmp(d, want, 4), 0);
}
END_TEST

START_TEST(test_block_boundaries)
{
    /* 55, 56, 63, 64 bytes: the padding edge cases, compared with one-shot vs byte-wise. */
    char buf[130], h1[65], h2[65];
    memset(buf, 'x', sizeof(buf));
    for (size_t n = 50; n < 130; n++) {
        struct sha256 s;
        uint8_t d[32];
        sha256_hex(buf, n, h1);
        sha256_init(&s);
        for (size_t i = 0; i < n; i++)
            sha256_update(&s, buf + i, 1);
        sha256_final(&s, d);
        for (int i = 0; i < 32; i++)
            snprintf(h2 + 2 * i, 3, "%02x", d[i]);
        ck_assert_str_eq(h1, h2);
    }
}
END_TEST

START_TEST(test_spec_example)
{
    const char *in = "/run/containerd/containerd.sock/default/t1";
    char h[65];
    sha256_hex(in, strlen(in), h);
    ck_assert_str_eq(h, "df6a0c5cd2e9a1a16d9a3f2447365d9fc6021bc1d3d9a4caa2f5b2c4f773758f");
}
END_TEST

static Suite *sha256_suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_million_a_incremental);
    tcase_add_test(tc, test_block_boundaries);
    tcase_add_test(tc, test_spec_example);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(sha256_suite)

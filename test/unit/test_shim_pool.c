/* shim/pool: the claim message's encode/decode (pool_wire.c), the shape-fit decision
 * (pool_fit.c); config/config.c's "pool" object. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "config.h"
#include "pool/pool_fit.h"
#include "pool/pool_slot.h"
#include "pool/pool_wire.h"

static int parse(struct cfg *c, const char *s, struct cvm_err *e)
{
    memset(e, 0, sizeof(*e));
    return cfg_parse(c, s, strlen(s), e);
}

START_TEST(test_config_pool)
{
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_uint_eq(c.pool_size, 0); /* off unless the operator asks */
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 2}}", &e), 0);
    ck_assert_uint_eq(c.pool_size, 2);
    ck_assert_int_eq(parse(&c, "{\"pool\": {}}", &e), 0);
    ck_assert_uint_eq(c.pool_size, 0);
    ck_assert(!c.pool_no_rehearsal); /* warm VMs rehearse unless told not to */
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 1, \"rehearse\": false}}", &e), 0);
    ck_assert(c.pool_no_rehearsal);
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 1, \"rehearse\": true}}", &e), 0);
    ck_assert(!c.pool_no_rehearsal);
    /* a warm VM's translation cache: 32 MiB unless set, 8..256 */
    ck_assert_uint_eq(c.pool_tcg_cache_mib, CFG_POOL_TCG_CACHE_MIB_DEFAULT);
    ck_assert_uint_eq(c.pool_tcg_cache_mib, 32);
    ck_assert_uint_eq(c.tcg_cache_mib, 0); /* cold VMs: hv's default */
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 1, \"tcg_cache_mib\": 8}}", &e), 0);
    ck_assert_uint_eq(c.pool_tcg_cache_mib, 8);
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 1, \"tcg_cache_mib\": 256}}", &e), 0);
    ck_assert_uint_eq(c.pool_tcg_cache_mib, 256);
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 1}}", &e), 0);
    ck_assert_uint_eq(c.pool_tcg_cache_mib, 32);
    ck_assert_uint_eq(c.tcg_cache_mib, 0);
    static const char *const bad[] = {
        "{\"pool\": 2}",           "{\"pool\": {\"size\": -1}}", "{\"pool\": {\"size\": 17}}",
        "{\"pool\": {\"size\": \"2\"}}", "{\"pool\": {\"sise\": 2}}",  "{\"pool\": null}",
        "{\"pool\": {\"size\": 2, \"rehearse\": 1}}", "{\"pool\": {\"rehearse\": \"no\"}}",
        "{\"pool\": {\"tcg_cache_mib\": 7}}", "{\"pool\": {\"tcg_cache_mib\": 257}}",
        "{\"pool\": {\"tcg_cache_mib\": \"24\"}}",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        cfg_defaults(&c);
        ck_assert_msg(parse(&c, bad[i], &e) == -EINVAL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(e.msg, "pool") != NULL, "%s: message '%s'", bad[i], e.msg);
        ck_assert_uint_eq(c.pool_size, 0); /* unchanged on failure */
        ck_assert(!c.pool_no_rehearsal);
        ck_assert_uint_eq(c.pool_tcg_cache_mib, CFG_POOL_TCG_CACHE_MIB_DEFAULT);
    }
    ck_assert_int_eq(parse(&c, "{\"pool\": {\"size\": 16}}", &e), 0);
    ck_assert_uint_eq(c.pool_size, CFG_POOL_SIZE_MAX);
}
END_TEST

/* pool_version: the binary's identity and the config content's digest; the same content in
 * another file is the same version, another content is not, an unreadable file says '-'. */
START_TEST(test_pool_version_config)
{
    char a[] = "/tmp/cvm-poolv-XXXXXX", b[] = "/tmp/cvm-poolv-XXXXXX";
    char va[160], vb[160], vn[160];
    int fa = mkstemp(a), fb = mkstemp(b);
    ck_assert_int_ge(fa, 0);
    ck_assert_int_ge(fb, 0);
    ck_assert_int_eq(write(fa, "{\"pool\": {\"size\": 2}}", 22), 22);
    ck_assert_int_eq(write(fb, "{\"pool\": {\"size\": 2}}", 22), 22);
    ck_assert_int_eq(pool_version(a, va, sizeof(va)), 0);
    ck_assert_int_eq(pool_version(b, vb, sizeof(vb)), 0);
    ck_assert_str_eq(va, vb);
    ck_assert(strncmp(va, "exe ", 4) == 0);
    ck_assert_msg(strstr(va, " cfg ") && strlen(strstr(va, " cfg ")) == 5 + 16, "%s", va);
    ck_assert_int_eq(write(fb, " ", 1), 1); /* one byte more */
    ck_assert_int_eq(pool_version(b, vb, sizeof(vb)), 0);
    ck_assert_str_ne(va, vb);
    ck_assert_int_eq(strncmp(va, vb, (size_t)(strstr(va, " cfg ") - va)), 0); /* same exe */
    ck_assert_int_eq(pool_version("/nonexistent/cvm.json", vn, sizeof(vn)), 0);
    ck_assert_msg(strstr(vn, " cfg -") != NULL, "%s", vn);
    close(fa), close(fb), unlink(a), unlink(b);
}
END_TEST

static struct pool_msg sample_claim(void)
{
    struct pool_msg m = {.type = POOL_MSG_CLAIM, .debug = true};
    snprintf(m.version, sizeof(m.version), "exe 803:1234:1700000000.000000001");
    snprintf(m.ns, sizeof(m.ns), "k8s.io");
    snprintf(m.id, sizeof(m.id), "abc123");
    snprintf(m.bundle, sizeof(m.bundle), "/run/containerd/io.containerd.runtime.v2.task/x/abc");
    snprintf(m.address, sizeof(m.address), "/run/containerd/containerd.sock");
    snprintf(m.ttrpc_address, sizeof(m.ttrpc_address), "/run/containerd/containerd.sock.ttrpc");
    snprintf(m.publish_binary, sizeof(m.publish_binary), "/usr/bin/containerd");
    return m;
}

START_TEST(test_wire_roundtrip)
{
    uint8_t buf[POOL_MSG_MAX];
    struct pool_msg m = sample_claim(), back;
    int n = pool_msg_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 5);
    ck_assert_int_eq(pool_msg_decode(buf, (size_t)n, &back), 0);
    ck_assert_int_eq(back.type, POOL_MSG_CLAIM);
    ck_assert_str_eq(back.version, m.version);
    ck_assert_str_eq(back.ns, m.ns);
    ck_assert_str_eq(back.id, m.id);
    ck_assert_str_eq(back.bundle, m.bundle);
    ck_assert_str_eq(back.address, m.address);
    ck_assert_str_eq(back.ttrpc_address, m.ttrpc_address);
    ck_assert_str_eq(back.publish_binary, m.publish_binary);
    ck_assert(back.debug);
    /* every other type, and an ERR's message */
    struct pool_msg e = {.type = POOL_MSG_ERR};
    snprintf(e.message, sizeof(e.message), "the VM is not ready");
    n = pool_msg_encode(&e, buf, sizeof(buf));
    ck_assert_int_eq(pool_msg_decode(buf, (size_t)n, &back), 0);
    ck_assert_int_eq(back.type, POOL_MSG_ERR);
    ck_assert_str_eq(back.message, "the VM is not ready");
    for (int t = POOL_MSG_HELLO; t <= POOL_MSG_OK; t++) {
        struct pool_msg x = {.type = (enum pool_msg_type)t};
        n = pool_msg_encode(&x, buf, sizeof(buf));
        ck_assert_int_ge(n, 5);
        ck_assert_int_eq(pool_msg_decode(buf, (size_t)n, &back), 0);
        ck_assert_int_eq(back.type, t);
    }
}
END_TEST

START_TEST(test_wire_rejects)
{
    uint8_t buf[POOL_MSG_MAX], bad[POOL_MSG_MAX];
    struct pool_msg m = sample_claim(), back;
    int n = pool_msg_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    /* every truncation, a trailing byte, a wrong magic or type */
    for (int k = 0; k < n; k++)
        ck_assert_msg(pool_msg_decode(buf, (size_t)k, &back) == -EBADMSG, "prefix %d accepted", k);
    memcpy(bad, buf, (size_t)n);
    bad[n] = 'x';
    ck_assert_int_eq(pool_msg_decode(bad, (size_t)n + 1, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[0] = 'X';
    ck_assert_int_eq(pool_msg_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[4] = 9;
    ck_assert_int_eq(pool_msg_decode(bad, (size_t)n, &back), -EBADMSG);
    /* a NUL inside a field; a length beyond the field's bound (ns is 80 bytes with its NUL) */
    memcpy(bad, buf, (size_t)n);
    bad[5 + 2 + 3] = 0; /* inside the version */
    ck_assert_int_eq(pool_msg_decode(bad, (size_t)n, &back), -EBADMSG);
    uint8_t big[5 + 2 + 4 + 2 + 80];
    memcpy(big, "CVMP", 4);
    big[4] = POOL_MSG_CLAIM;
    big[5] = 4, big[6] = 0, memcpy(big + 7, "vers", 4);
    big[11] = 80, big[12] = 0, memset(big + 13, 'a', 80);
    ck_assert_int_eq(pool_msg_decode(big, sizeof(big), &back), -EBADMSG);
    /* the debug flag is "0" or "1" */
    struct pool_msg d = sample_claim();
    n = pool_msg_encode(&d, buf, sizeof(buf));
    ck_assert_int_eq(buf[n - 1], '1');
    buf[n - 1] = '2';
    ck_assert_int_eq(pool_msg_decode(buf, (size_t)n, &back), -EBADMSG);
    /* encode: a string filling its field has no room for its NUL; a small buffer */
    memset(d.ns, 'n', sizeof(d.ns));
    ck_assert_int_eq(pool_msg_encode(&d, buf, sizeof(buf)), -EINVAL);
    d = sample_claim();
    ck_assert_int_eq(pool_msg_encode(&d, buf, 20), -ENOBUFS);
    d.type = (enum pool_msg_type)0;
    ck_assert_int_eq(pool_msg_encode(&d, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static int fit_links(const struct cfg *c, const char *spec_json, int links, char *why, size_t n)
{
    json_t *spec = json_loads(spec_json, 0, NULL);
    int r;
    ck_assert_ptr_nonnull(spec);
    r = pool_fit(c, spec, links, why, n);
    json_decref(spec);
    return r;
}

static int fit(const struct cfg *c, const char *spec_json, char *why, size_t n)
{
    return fit_links(c, spec_json, -1, why, n);
}

START_TEST(test_fit)
{
    struct cfg c;
    char why[320];
    cfg_defaults(&c);
    c.pool_size = 2;
    c.vcpus = 1;
    c.memory_mib = 256;
    ck_assert_int_eq(fit(&c, "{}", why, sizeof(why)), 0);
    ck_assert_int_eq(fit(&c,
                         "{\"annotations\":{\"io.containerd.cvm.vcpus\":\"1\","
                         "\"io.containerd.cvm.memory_mib\":\"256\",\"other\":\"x\"},"
                         "\"linux\":{\"resources\":{\"memory\":{\"limit\":268435456}},"
                         "\"namespaces\":[{\"type\":\"network\"},{\"type\":\"pid\"}]}}",
                         why, sizeof(why)),
                     0);
    ck_assert_int_eq(fit(&c, "{\"annotations\":{\"io.containerd.cvm.vcpus\":\"2\"}}", why,
                         sizeof(why)),
                     -EXDEV);
    ck_assert_str_eq(why, "annotation io.containerd.cvm.vcpus=2 differs from the pool's 1");
    ck_assert_int_eq(fit(&c, "{\"annotations\":{\"io.containerd.cvm.memory_mib\":\"0256x\"}}",
                         why, sizeof(why)),
                     -EXDEV);
    ck_assert_int_eq(fit(&c, "{\"annotations\":{\"io.containerd.cvm.kernel_args\":\"quiet\"}}",
                         why, sizeof(why)),
                     -EXDEV);
    ck_assert_int_eq(fit(&c, "{\"linux\":{\"resources\":{\"memory\":{\"limit\":268435457}}}}", why,
                         sizeof(why)),
                     -EXDEV);
    ck_assert_msg(strstr(why, "257 MiB") != NULL, "%s", why);
    /* a CPU quota within the pool's vCPUs fits; one that would raise a cold VM's does not */
    ck_assert_int_eq(fit(&c,
                         "{\"linux\":{\"resources\":{\"cpu\":{\"quota\":100000,"
                         "\"period\":100000}}}}",
                         why, sizeof(why)),
                     0);
    ck_assert_int_eq(fit(&c,
                         "{\"linux\":{\"resources\":{\"cpu\":{\"quota\":150000,"
                         "\"period\":100000}}}}",
                         why, sizeof(why)),
                     -EXDEV);
    ck_assert_str_eq(why, "CPU quota asks for 2 vCPUs, the pool's VMs have 1");
    /* CRI's pod netns: as many interfaces as the pooled VM has spare NICs fit, more do not */
    static const char netns_spec[] =
        "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1\"}]}}";
    c.spare_nics = 1;
    ck_assert_int_eq(fit_links(&c, netns_spec, 1, why, sizeof(why)), 0);
    ck_assert_int_eq(fit_links(&c, netns_spec, 2, why, sizeof(why)), -EXDEV);
    ck_assert_msg(strstr(why, "2 interface(s)") != NULL, "%s", why);
    {
        json_t *j = json_loads(netns_spec, 0, NULL);
        ck_assert_str_eq(pool_spec_netns(j), "/var/run/netns/cni-1");
        json_decref(j);
        j = json_loads("{\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}", 0, NULL);
        ck_assert_ptr_null(pool_spec_netns(j));
        json_decref(j);
    }
    ck_assert_int_eq(fit(&c, "[]", why, sizeof(why)), -EINVAL);
    c.pool_size = 0;
    ck_assert_int_eq(fit(&c, "{}", why, sizeof(why)), -EXDEV);
    ck_assert_str_eq(why, "pool off (pool.size 0)");
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("shim_pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_config_pool);
    tcase_add_test(tc, test_pool_version_config);
    tcase_add_test(tc, test_wire_roundtrip);
    tcase_add_test(tc, test_wire_rejects);
    tcase_add_test(tc, test_fit);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(pool_suite)

/* shim/flags.c (Go flag rules, spec §2.3) and shim/address.c (socket address §2.4.3, grouping
 * §2.4.4, identifiers). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../shim/naming/address.h"
#include "../../shim/cli/flags.h"
#include "check_main.h"

#define ARGV(...) ((char *const[]){ "shim", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "shim", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(f, ...) shim_flags_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), f, err, sizeof(err))

static char err[256];

START_TEST(test_containerd_start_argv)
{
    struct shim_flags f;
    ck_assert_int_eq(PARSE(&f, "-namespace", "default", "-address", "/run/containerd/containerd.sock",
                           "-publish-binary", "/usr/bin/containerd", "-id", "t1", "-debug", "start"), 0);
    ck_assert_int_eq(f.action, SHIM_START);
    ck_assert_str_eq(f.namespace_, "default");
    ck_assert_str_eq(f.address, "/run/containerd/containerd.sock");
    ck_assert_str_eq(f.publish_binary, "/usr/bin/containerd");
    ck_assert_str_eq(f.id, "t1");
    ck_assert(f.debug);
}
END_TEST

START_TEST(test_delete_argv_forms)
{
    struct shim_flags f;
    ck_assert_int_eq(PARSE(&f, "--namespace=k8s.io", "-id=c1", "--bundle", "/b", "delete"), 0);
    ck_assert_int_eq(f.action, SHIM_DELETE);
    ck_assert_str_eq(f.namespace_, "k8s.io");
    ck_assert_str_eq(f.id, "c1");
    ck_assert_str_eq(f.bundle, "/b");
    ck_assert(!f.debug);
}
END_TEST

START_TEST(test_serve_and_bools)
{
    struct shim_flags f;
    ck_assert_int_eq(PARSE(&f, "-namespace", "n", "-id", "i", "-debug=false"), 0);
    ck_assert_int_eq(f.action, SHIM_SERVE);
    ck_assert(!f.debug);
    ck_assert_int_eq(PARSE(&f, "-debug=true", "-namespace", "n"), 0);
    ck_assert(f.debug);
    ck_assert_int_eq(PARSE(&f, "-v"), 0);
    ck_assert_int_eq(f.action, SHIM_VERSION);
    ck_assert_int_eq(PARSE(&f, "--info"), 0);
    ck_assert_int_eq(f.action, SHIM_INFO);
    ck_assert_int_eq(PARSE(&f, "-debug=maybe"), -EINVAL);
}
END_TEST

START_TEST(test_errors_and_unknown)
{
    struct shim_flags f;
    ck_assert_int_eq(PARSE(&f, "-namespace"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "namespace"));
    ck_assert_int_eq(PARSE(&f, "-id", "x", "frobnicate"), -EINVAL);
    ck_assert_int_eq(PARSE(&f, "---x"), -EINVAL);
    /* unknown flags are ignored (forward compatibility) */
    ck_assert_int_eq(PARSE(&f, "-socket-dir=/x", "-namespace", "n", "-id", "i", "start"), 0);
    ck_assert_int_eq(f.action, SHIM_START);
    ck_assert_str_eq(f.unknown, "-socket-dir=/x");
    /* "--" ends flags; the next word is the action */
    ck_assert_int_eq(PARSE(&f, "-id", "i", "--", "delete"), 0);
    ck_assert_int_eq(f.action, SHIM_DELETE);
}
END_TEST

START_TEST(test_socket_address_spec_example)
{
    char a[256];
    ck_assert_int_eq(shim_socket_address("/run/containerd/containerd.sock", "default", "t1", a, sizeof(a)), 0);
    ck_assert_str_eq(a, "unix:///run/containerd/s/df6a0c5cd2e9a1a16d9a3f2447365d9fc6021bc1d3d9a4caa2f5b2c4f773758f");
    ck_assert_int_eq(shim_socket_address("/a", "b", "c", a, 20), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_grouping)
{
    char g[128];
    const char *cri = "{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"pod1\","
                      "\"io.containerd.cvm.v1.group\":\"g\"}}";
    const char *own = "{\"annotations\":{\"io.containerd.cvm.v1.group\":\"g2\"}}";
    const char *none = "{\"process\":{}}";
    const char *bad = "{\"annotations\":{\"io.containerd.cvm.v1.group\":\"../x\"}}";
    ck_assert_int_eq(shim_group_from_spec(cri, strlen(cri), "c1", g, sizeof(g)), 0);
    ck_assert_str_eq(g, "pod1");
    ck_assert_int_eq(shim_group_from_spec(own, strlen(own), "c1", g, sizeof(g)), 0);
    ck_assert_str_eq(g, "g2");
    ck_assert_int_eq(shim_group_from_spec(none, strlen(none), "c1", g, sizeof(g)), 0);
    ck_assert_str_eq(g, "c1");
    ck_assert_int_eq(shim_group_from_spec(bad, strlen(bad), "c1", g, sizeof(g)), 0);
    ck_assert_str_eq(g, "c1");
    ck_assert_int_eq(shim_group_from_spec("{", 1, "c1", g, sizeof(g)), -EINVAL);
    ck_assert_int_eq(shim_group_from_bundle("/nonexistent", "c9", g, sizeof(g)), 0);
    ck_assert_str_eq(g, "c9");
}
END_TEST

START_TEST(test_identifiers)
{
    ck_assert(shim_valid_identifier("a"));
    ck_assert(shim_valid_identifier("k8s.io"));
    ck_assert(shim_valid_identifier("a-b_c.d9"));
    ck_assert(!shim_valid_identifier(""));
    ck_assert(!shim_valid_identifier("-a"));
    ck_assert(!shim_valid_identifier("a-"));
    ck_assert(!shim_valid_identifier("a..b"));
    ck_assert(!shim_valid_identifier("a/b"));
    char longid[80];
    memset(longid, 'a', 77);
    longid[77] = 0;
    ck_assert(!shim_valid_identifier(longid));
    longid[76] = 0;
    ck_assert(shim_valid_identifier(longid));
}
END_TEST

START_TEST(test_run_dir)
{
    char d[128], h[65];
    shim_group_hash("/run/containerd/containerd.sock", "default", "t1", h);
    shim_run_dir(h, d, sizeof(d));
    ck_assert_str_eq(d, "/run/cvm/df6a0c5cd2e9a1a1");
}
END_TEST

static Suite *flags_suite(void)
{
    Suite *s = suite_create("shim_flags");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_containerd_start_argv);
    tcase_add_test(tc, test_delete_argv_forms);
    tcase_add_test(tc, test_serve_and_bools);
    tcase_add_test(tc, test_errors_and_unknown);
    tcase_add_test(tc, test_socket_address_spec_example);
    tcase_add_test(tc, test_grouping);
    tcase_add_test(tc, test_identifiers);
    tcase_add_test(tc, test_run_dir);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(flags_suite)

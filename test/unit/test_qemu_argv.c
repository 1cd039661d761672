/* qemu_argv: golden command lines (test/golden/<fixture>.args, one argument per line) and
 * the validation and cpuinfo parsing around them.
 * CVM_GOLDEN_UPDATE=1 rewrites the golden files from the current output (review the diff). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "cleanup.h"
#include "hv_proc.h"
#include "qemu_argv.h"

struct fixture {
    const char *name;
    struct qemu_spec spec;
    struct qemu_host_facts host;
};

static const struct hv_nic NICS_2[] = {{"tap0_cvm", "52:54:00:12:34:56"},
                                       {"cvmtap1", "52:54:00:c7:00:01"}};
static const struct hv_nic NIC_NO_MAC[] = {{"tap0", NULL}};

static const struct fixture fixtures[] = {
    {"tcg-hybrid-virtiofs",
     {.name = "sb1", .qemu_bin = "qemu-system-x86_64", .run_dir = "/run/cvm/sb1",
      .initrd = true, .kernel_args = "agent.debug=1", .vcpus = 2,
      .mem_mib = 256, .virtiofs = true, .fs_tag = "cvmfs", .vsock_mode = HV_VSOCK_HYBRID},
     {.kvm = false, .tsc_khz = 2096005}},
    {"kvm-kernel-vsock",
     {.name = "sb2", .qemu_bin = "/usr/bin/qemu-system-x86_64", .run_dir = "/run/cvm/sb2",
      .vcpus = 4, .mem_mib = 1024, .virtiofs = true, .fs_tag = "rootfs", .vsock_mode = HV_VSOCK_KERNEL,
      .guest_cid = 1234, .nics = NICS_2, .n_nics = 2},
     {.kvm = true, .tsc_khz = 2096005, .vhost_net = true}},
    {"tcg-tap-no-mac",
     {.name = "sb3", .qemu_bin = "qemu-system-x86_64", .run_dir = "/r", .vcpus = 2,
      .mem_mib = 512, .vsock_mode = HV_VSOCK_HYBRID, .nics = NIC_NO_MAC, .n_nics = 1},
     {.kvm = false, .tsc_khz = 2500000, .vhost_net = false}},
    {"tcg-no-virtiofs-no-tsc",
     {.name = "a,b", .qemu_bin = "qemu-system-x86_64", .run_dir = "/tmp/with,comma", .initrd = true,
      .vcpus = 1, .mem_mib = 128, .vsock_mode = HV_VSOCK_HYBRID},
     {.kvm = false, .tsc_khz = 0}},
};

static char *join_lines(char **argv)
{
    size_t n = 1;
    char *s, *p;
    for (char **a = argv; *a; a++)
        n += strlen(*a) + 1;
    s = p = malloc(n);
    ck_assert_ptr_nonnull(s);
    for (char **a = argv; *a; a++)
        p += sprintf(p, "%s\n", *a);
    *p = '\0';
    return s;
}

static char *slurp(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char *s;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        return NULL;
    }
    return s;
}

START_TEST(test_golden)
{
    const struct fixture *fx = &fixtures[_i];
    const char *dir = getenv("CVM_GOLDEN_DIR") ? getenv("CVM_GOLDEN_DIR") : "test/golden";
    char path[512], **argv = NULL;
    _cleanup_free_ char *got = NULL, *want = NULL;

    ck_assert_int_eq(qemu_argv_build(&fx->spec, &fx->host, &argv), 0);
    got = join_lines(argv);
    qemu_argv_free(argv);
    snprintf(path, sizeof(path), "%s/%s.args", dir, fx->name);
    if (getenv("CVM_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(got, f);
        fclose(f);
    }
    want = slurp(path);
    ck_assert_msg(want != NULL, "missing golden file %s (run from the repo root)", path);
    ck_assert_str_eq(got, want);
}
END_TEST

static struct qemu_spec good_spec(void)
{
    return fixtures[0].spec;
}

START_TEST(test_tcg_cmdline)
{
    struct qemu_spec s = good_spec();
    struct qemu_host_facts tcg = {.kvm = false, .tsc_khz = 2100000};
    struct qemu_host_facts kvm = {.kvm = true, .tsc_khz = 2100000};
    _cleanup_free_ char *a = NULL, *b = NULL;
    ck_assert_int_eq(qemu_kernel_cmdline(&s, &tcg, &a), 0);
    ck_assert_str_eq(a, "console=ttyS0 panic=-1 reboot=t quiet loglevel=6 tsc_early_khz=2100000 "
                        "tsc=reliable no_timer_check agent.debug=1");
    ck_assert_int_eq(qemu_kernel_cmdline(&s, &kvm, &b), 0);
    ck_assert_str_eq(b, "console=ttyS0 panic=-1 reboot=t quiet loglevel=6 agent.debug=1");
}
END_TEST

/* -icount is a TCG knob: under KVM it is never passed; tb-size bounds TCG's cache, which a
 * pooled VM writes and runs through two mappings (split-wx: hypervisor/tcg_trim.c). */
START_TEST(test_icount_tb_size)
{
    struct qemu_spec s = good_spec();
    struct qemu_host_facts tcg = {.kvm = false, .tsc_khz = 2100000};
    struct qemu_host_facts kvm = {.kvm = true};
    char **a = NULL, want_tb[32];
    int seen;
    snprintf(want_tb, sizeof(want_tb), "tcg,tb-size=%u", QEMU_TCG_TB_MIB);
    s.icount = true;
    ck_assert_int_eq(qemu_argv_build(&s, &tcg, &a), 0);
    seen = 0;
    for (char **p = a; *p; p++) {
        if (!strcmp(*p, "-icount") && p[1] && !strcmp(p[1], "shift=0,sleep=off"))
            seen |= 1;
        if (!strcmp(*p, "-accel") && p[1] && !strcmp(p[1], want_tb))
            seen |= 2;
    }
    ck_assert_int_eq(seen, 3);
    qemu_argv_free(a);
    /* a warm pool's VM asks for its own size */
    s.tcg_cache_mib = 24;
    s.tcg_split_wx = true;
    ck_assert_int_eq(qemu_argv_build(&s, &tcg, &a), 0);
    seen = 0;
    for (char **p = a; *p; p++)
        if (!strcmp(*p, "-accel") && p[1] && !strcmp(p[1], "tcg,tb-size=24,split-wx=on"))
            seen = 1;
    ck_assert_int_eq(seen, 1);
    qemu_argv_free(a);
    ck_assert_int_eq(qemu_argv_build(&s, &kvm, &a), 0);
    for (char **p = a; *p; p++) {
        ck_assert_str_ne(*p, "-icount");
        ck_assert(strncmp(*p, "tcg", 3) != 0);
    }
    qemu_argv_free(a);
}
END_TEST

START_TEST(test_invalid_specs)
{
    struct qemu_host_facts h = {.tsc_khz = 1};
    char **argv = NULL;
    struct qemu_spec s;

    s = good_spec(), s.run_dir = NULL;
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.run_dir = "relative/dir";
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.run_dir = "/run/cvm/a\tb";
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.vcpus = 0;
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.mem_mib = 8;
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.kernel_args = "a\nb";
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.fs_tag = "0123456789012345678901234567890123456";
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    s = good_spec(), s.vsock_mode = HV_VSOCK_KERNEL, s.guest_cid = 2;
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    {
        static const struct hv_nic bad[][2] = {
            {{"tap,0", NULL}},
            {{"a-name-longer-than-15", NULL}},
            {{NULL, "52:54:00:12:34:56"}},         /* MAC without a tap */
            {{"tap0", "53:54:00:12:34:56"}},       /* multicast */
            {{"tap0", "52:54:00:12:34"}},
            {{"tap0", "52:54:00:12:34:5g"}},
            {{"tap0", NULL}, {"tap 1", NULL}},     /* the second one is bad */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
            s = good_spec(), s.nics = bad[i], s.n_nics = bad[i][1].tap || bad[i][1].mac ? 2 : 1;
            ck_assert_msg(qemu_argv_build(&s, &h, &argv) == -EINVAL, "bad NIC row %zu", i);
        }
        s = good_spec(), s.nics = NULL, s.n_nics = 1;
        ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
        s = good_spec(), s.nics = NICS_2, s.n_nics = HV_MAX_NICS + 1;
        ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    }
    s = good_spec(), s.vsock_mode = HV_VSOCK_AUTO;
    ck_assert_int_eq(qemu_argv_build(&s, &h, &argv), -EINVAL);
    ck_assert_ptr_null(argv);
}
END_TEST

/* Every inherited fd has its own number, above stdio, within what hv_proc can map. */
START_TEST(test_fd_layout)
{
    int fds[] = {QEMU_QMP_FD, QEMU_CON_FD, QEMU_VFS_FD, QEMU_VSOCK_FD, QEMU_KERNEL_FD,
                 QEMU_INITRD_FD, QEMU_TAP_FD(0), QEMU_TAP_FD(HV_MAX_NICS - 1),
                 QEMU_VHOST_NET_FD(0), QEMU_VHOST_NET_FD(HV_MAX_NICS - 1)};
    for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
        ck_assert_int_ge(fds[i], 3);
        for (size_t j = 0; j < i; j++)
            ck_assert_int_ne(fds[i], fds[j]);
    }
    ck_assert_int_eq(QEMU_VHOST_NET_FD(0), QEMU_TAP_FD(HV_MAX_NICS - 1) + 1);
    ck_assert_int_le(6 + 2 * HV_MAX_NICS, HV_PROC_MAX_FDS);
    ck_assert_int_eq(QEMU_MAX_FD, QEMU_VHOST_NET_FD(HV_MAX_NICS - 1));
}
END_TEST

/* No path of ours is an option any more: QEMU opens nothing in the run dir by name. */
START_TEST(test_no_paths)
{
    const struct fixture *fx = &fixtures[1];
    char **argv = NULL;
    ck_assert_int_eq(qemu_argv_build(&fx->spec, &fx->host, &argv), 0);
    for (char **a = argv; *a; a++) {
        ck_assert_msg(!strstr(*a, "path=") && !strstr(*a, "ifname="), "%s", *a);
        if (strstr(*a, "/run/cvm/sb2"))
            ck_assert_str_eq(*a, "secret,id=cvm-run-dir,data=/run/cvm/sb2");
    }
    qemu_argv_free(argv);
}
END_TEST

START_TEST(test_cpuinfo)
{
    unsigned long khz = 0;
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                                               "cpu MHz\t\t: 2096.005\ncache size\t: 512 KB\n"
                                               "cpu MHz\t\t: 1000.000\n",
                                               &khz),
                     0);
    ck_assert_uint_eq(khz, 2096005);
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("cpu MHz : 3400\n", &khz), 0);
    ck_assert_uint_eq(khz, 3400000);
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("processor : 0\n", &khz), -ENOENT);
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("cpu MHz : fast\n", &khz), -EINVAL);
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("cpu MHz\n: 3\n", &khz), -EINVAL);
    ck_assert_int_eq(qemu_tsc_khz_from_cpuinfo("", &khz), -ENOENT);
}
END_TEST

START_TEST(test_host_probe)
{
    struct qemu_host_facts h = {.kvm = true, .tsc_khz = 7};
    ck_assert_int_eq(qemu_host_facts_probe(&h), 0);
    ck_assert(!h.kvm); /* never from /dev/kvm alone: accel_decide() sets it */
    ck_assert_int_eq(h.vhost_net, access("/dev/vhost-net", R_OK | W_OK) == 0);
    ck_assert_uint_ne(h.tsc_khz, 7);
}
END_TEST

static Suite *qemu_argv_suite(void)
{
    Suite *s = suite_create("qemu_argv");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_golden, 0, (int)ELEMENTSOF(fixtures));
    tcase_add_test(tc, test_tcg_cmdline);
    tcase_add_test(tc, test_invalid_specs);
    tcase_add_test(tc, test_icount_tb_size);
    tcase_add_test(tc, test_fd_layout);
    tcase_add_test(tc, test_no_paths);
    tcase_add_test(tc, test_cpuinfo);
    tcase_add_test(tc, test_host_probe);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(qemu_argv_suite)

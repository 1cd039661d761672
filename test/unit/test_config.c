/* config/config.c: defaults, parse+validate, unknown keys, annotations and their policy
 * (allowed_annotations, max_vcpus, max_memory_mib). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "config.h"

static int parse(struct cfg *c, const char *s, struct cvm_err *e)
{
    memset(e, 0, sizeof(*e));
    return cfg_parse(c, s, strlen(s), e);
}

START_TEST(test_defaults)
{
    struct cfg c;
    cfg_defaults(&c);
    ck_assert(!c.host_namespaces_vm); /* refuse: a node namespace is never silently the VM's */
    ck_assert_uint_eq(c.vcpus, CFG_DEFAULT_VCPUS);
    ck_assert_uint_eq(c.memory_mib, CFG_DEFAULT_MEMORY_MIB);
    ck_assert_uint_eq(c.tcg_idle_reset_s, 10); /* CFG_TCG_IDLE_RESET_S_DEFAULT */
    ck_assert_uint_eq(c.boot_deadline_ms, CFG_DEFAULT_BOOT_DEADLINE_MS);
    ck_assert_int_eq(c.vsock_mode, HV_VSOCK_AUTO);
    ck_assert_str_eq(c.qemu, CFG_DEFAULT_QEMU);
    ck_assert_str_eq(c.kernel, "");
    ck_assert(!c.debug);
    ck_assert_uint_eq(c.spare_nics, CFG_DEFAULT_SPARE_NICS);
    ck_assert_int_eq(c.accel, HV_ACCEL_AUTO);
    ck_assert_uint_eq(c.host_overhead_mib, CFG_DEFAULT_HOST_OVERHEAD_MIB);
    ck_assert_uint_eq(c.host_overhead_tasks, CFG_DEFAULT_HOST_OVERHEAD_TASKS);
    ck_assert_uint_eq(c.allowed_annotations, 0); /* no pod steers the VM unless allowed */
    ck_assert_uint_eq(c.max_vcpus, 0);           /* the host's CPUs */
    ck_assert_uint_eq(c.max_memory_mib, 0);      /* the host's memory */
}
END_TEST

START_TEST(test_full)
{
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_int_eq(parse(&c, "{\"kernel\":\"/k\",\"initrd\":\"/i\",\"qemu\":\"/q\",\"vcpus\":2,"
                               "\"memory_mib\":512,\"vsock_mode\":\"hybrid\",\"boot_deadline_ms\":5000,"
                               "\"kernel_args\":\"loglevel=7 foo=bar\",\"debug\":true,"
                               "\"virtiofsd\":\"/v\",\"vsockd\":\"/s\",\"accel\":\"tcg\","
                               "\"console_deadline_ms\":2500,\"spare_nics\":3,"
                               "\"guest_timeout_ms\":4000,\"tcg_idle_reset_s\":0,\"kill_grace_ms\":500,\"tcg_icount\":true,"
                               "\"host_namespaces\":\"vm\"}", &e), 0);
    ck_assert_str_eq(c.kernel, "/k");
    ck_assert_str_eq(c.initrd, "/i");
    ck_assert_str_eq(c.qemu, "/q");
    ck_assert_str_eq(c.virtiofsd, "/v");
    ck_assert_str_eq(c.vsockd, "/s");
    ck_assert_uint_eq(c.vcpus, 2);
    ck_assert_uint_eq(c.memory_mib, 512);
    ck_assert_int_eq(c.vsock_mode, HV_VSOCK_HYBRID);
    ck_assert_uint_eq(c.boot_deadline_ms, 5000);
    ck_assert_str_eq(c.kernel_args, "loglevel=7 foo=bar");
    ck_assert(c.debug);
    ck_assert(c.tcg_icount);
    ck_assert(c.host_namespaces_vm);
    ck_assert_int_eq(c.accel, HV_ACCEL_TCG);
    ck_assert_uint_eq(c.console_deadline_ms, 2500);
    ck_assert_uint_eq(c.spare_nics, 3);
    ck_assert_uint_eq(c.guest_timeout_ms, 4000);
    ck_assert_uint_eq(c.tcg_idle_reset_s, 0);
    ck_assert_uint_eq(c.kill_grace_ms, 500);
    ck_assert_int_eq(parse(&c, "{\"accel\":\"kvm\"}", &e), 0);
    ck_assert_int_eq(c.accel, HV_ACCEL_KVM);
    ck_assert_int_eq(parse(&c, "{\"accel\":\"auto\",\"console_deadline_ms\":0}", &e), 0);
    ck_assert_int_eq(c.accel, HV_ACCEL_AUTO);
    ck_assert_uint_eq(c.console_deadline_ms, 0);
}
END_TEST

START_TEST(test_uid_range)
{
    static const char *const bad[] = {
        "{\"uid_range\":\"0-10\"}", "{\"uid_range\":\"10-9\"}", "{\"uid_range\":\"10\"}",
        "{\"uid_range\":\"1-4294967295\"}", "{\"uid_range\":\" 1-2\"}", "{\"uid_range\":1}",
"{\"uid_range\":\"-1-2\"}", "{\"uid_range\":\"\"}",
        "{\"uid_range\":null}", "{\"qemu_user\":\"\"}", "{\"qemu_user\":\"cvm\"}"};
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_uint_eq(c.uid_first, 1000000000u);
    ck_assert_uint_eq(c.uid_last, 1000065535u);
    ck_assert_int_eq(parse(&c, "{\"uid_range\":\"100000-165535\"}", &e), 0);
    ck_assert_uint_eq(c.uid_first, 100000);
    ck_assert_uint_eq(c.uid_last, 165535);
    ck_assert_int_eq(parse(&c, "{\"uid_range\":\"7-7\"}", &e), 0);
    ck_assert_uint_eq(c.uid_first, 7);
    ck_assert_uint_eq(c.uid_last, 7);
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        ck_assert_msg(parse(&c, bad[i], &e) == -EINVAL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(e.msg, "\"uid_range\""), "%s", e.msg);
        ck_assert_uint_eq(c.uid_first, 7); /* unchanged */
    }
    /* qemu_user (one uid for every sandbox) is gone, with a pointer to its replacement */
    ck_assert_int_eq(parse(&c, "{\"qemu_user\":\"cvm\"}", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "\"qemu_user\" is gone"), "%s", e.msg);
}
END_TEST

START_TEST(test_shipped_file_is_defaults)
{
    struct cfg c, d;
    struct cvm_err e = { 0 };
    cfg_defaults(&c);
    cfg_defaults(&d);
    ck_assert_int_eq(cfg_load_file(&c, "config/cvm.json", &e), 0);
    ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
}
END_TEST

START_TEST(test_unknown_key)
{
    struct cfg c, before;
    struct cvm_err e;
    cfg_defaults(&c);
    before = c;
    ck_assert_int_eq(parse(&c, "{\"vcpus\":4,\"cpus\":2}", &e), -EINVAL);
    ck_assert_int_eq(e.code, RPC_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown key \"cpus\""));
    ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0); /* unchanged on failure */
}
END_TEST

static const char *const bad_docs[] = {
    "", "[]", "1", "{", "{\"vcpus\":0}", "{\"vcpus\":65}", "{\"vcpus\":\"2\"}", "{\"vcpus\":1.5}",
    "{\"memory_mib\":63}", "{\"memory_mib\":-1}", "{\"boot_deadline_ms\":999}",
    "{\"vsock_mode\":\"vhost\"}", "{\"vsock_mode\":1}", "{\"kernel\":\"relative/path\"}",
    "{\"kernel\":5}", "{\"debug\":1}", "{\"tcg_icount\":\"yes\"}", "{\"host_namespaces\":\"node\"}", "{\"host_namespaces\":true}", "{\"kernel_args\":\"a\\\"b\"}", "{\"kernel_args\":\"a\\nb\"}",
    "{\"vcpus\":1,\"vcpus\":2}", "{\"qemu\":\"/a\\u0000b\"}", "{\"_comment\":1}",
    "{\"accel\":\"hvf\"}", "{\"accel\":1}", "{\"accel\":\"KVM\"}", "{\"console_deadline_ms\":-1}",
    "{\"console_deadline_ms\":600001}", "{\"spare_nics\":8}", "{\"spare_nics\":-1}",
    "{\"guest_timeout_ms\":999}", "{\"kill_grace_ms\":0}", "{\"tcg_idle_reset_s\":86401}",
    "{\"tcg_idle_reset_s\":-1}", "{\"tcg_idle_reset_s\":true}",
    "{\"host_overhead_mib\":65537}", "{\"host_overhead_mib\":-1}", "{\"host_overhead_tasks\":65537}",
    "{\"max_vcpus\":-1}", "{\"max_vcpus\":\"2\"}", "{\"max_memory_mib\":1048577}",
    "{\"allowed_annotations\":null}", "{\"allowed_annotations\":{}}",
};

START_TEST(test_bad)
{
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_msg(parse(&c, bad_docs[_i], &e) < 0, "accepted: %s", bad_docs[_i]);
    ck_assert_int_ne(e.code, RPC_OK);
    ck_assert(strlen(e.msg) > 0);
}
END_TEST

START_TEST(test_too_big)
{
    struct cfg c;
    struct cvm_err e = { 0 };
    static char big[CFG_FILE_MAX + 10];
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 1] = '}';
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_parse(&c, big, sizeof(big), &e), -EFBIG);
}
END_TEST

START_TEST(test_annotations)
{
    struct cfg c;
    struct cvm_err e = { 0 };
    const char *k[] = { "io.kubernetes.cri.sandbox-id", CFG_ANN_VCPUS, CFG_ANN_MEMORY, CFG_ANN_KARGS,
                        CFG_ANN_GROUP };
    const char *v[] = { "abc", "2", "1024", "quiet", "g1" };
    cfg_defaults(&c);
    c.allowed_annotations = CFG_ALLOW_VCPUS | CFG_ALLOW_MEMORY | CFG_ALLOW_KARGS;
    snprintf(c.kernel_args, sizeof(c.kernel_args), "loglevel=3");
    ck_assert_int_eq(cfg_apply_annotations(&c, k, v, 5, &e), 0);
    ck_assert_uint_eq(c.vcpus, 2);
    ck_assert_uint_eq(c.memory_mib, 1024);
    ck_assert_str_eq(c.kernel_args, "loglevel=3 quiet");
}
END_TEST

START_TEST(test_annotations_bad)
{
    struct cfg c, before;
    struct cvm_err e = { 0 };
    const char *k1[] = { CFG_ANN_VCPUS, "io.containerd.cvm.cpus" };
    const char *v1[] = { "2", "3" };
    const char *k2[] = { CFG_ANN_MEMORY };
    const char *bad_mem[] = { "12", "lots", "", "99999999999", "256k" };
    const char *k3[] = { CFG_ANN_KARGS };
    const char *v3[] = { "init=/bin/sh\"" };
    cfg_defaults(&c);
    c.allowed_annotations = CFG_ALLOW_VCPUS | CFG_ALLOW_MEMORY | CFG_ALLOW_KARGS;
    before = c;
    ck_assert_int_eq(cfg_apply_annotations(&c, k1, v1, 2, &e), -EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "io.containerd.cvm.cpus"));
    ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
    for (size_t i = 0; i < ELEMENTSOF(bad_mem); i++) {
        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(cfg_apply_annotations(&c, k2, &bad_mem[i], 1, &e), -EINVAL);
    }
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(cfg_apply_annotations(&c, k3, v3, 1, &e), -EINVAL);
    ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
}
END_TEST

START_TEST(test_load_missing)
{
    struct cfg c;
    struct cvm_err e = { 0 };
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, "/nonexistent/cvm.json", &e), -ENOENT);
    ck_assert_int_eq(cfg_load_file(&c, "/", &e), -EINVAL);
}
END_TEST

START_TEST(test_host_memory)
{
    struct cvm_err e = {0};
    ck_assert_int_eq(cfg_check_host_memory(256, 24ull * 1024 * 1024, &e), 0);
    ck_assert_int_eq(cfg_check_host_memory(1024 * 1024, 24ull * 1024 * 1024, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "1048576 MiB is more than this host has (24576 MiB)"), "%s", e.msg);
    ck_assert_int_eq(cfg_check_host_memory(1024 * 1024, 0, &e), 0); /* unknown host: no check */
}
END_TEST

/* Annotation sets of any size: a bad key after many good ones is still found. */
START_TEST(test_annotations_no_cap)
{
    struct cfg c;
    struct cvm_err e = {0};
    static const char *keys[201], *vals[201];
    static char names[200][32];
    cfg_defaults(&c);
    c.allowed_annotations = CFG_ALLOW_MEMORY;
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "example.com/k%d", i);
        keys[i] = names[i], vals[i] = "v";
    }
    keys[200] = CFG_ANN_MEMORY, vals[200] = "-1";
    ck_assert_int_eq(cfg_apply_annotations(&c, keys, vals, 201, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, CFG_ANN_MEMORY), "%s", e.msg);
    keys[200] = "io.containerd.cvm.nope";
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(cfg_apply_annotations(&c, keys, vals, 201, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "unknown annotation \"io.containerd.cvm.nope\""), "%s", e.msg);
}
END_TEST


static int apply1(struct cfg *c, const char *k, const char *v, struct cvm_err *e)
{
    memset(e, 0, sizeof(*e));
    return cfg_apply_annotations(c, &k, &v, 1, e);
}

/* "allowed_annotations": parsed into bits; unknown keys and wrong types refused by name. */
START_TEST(test_allowed_parse)
{
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_int_eq(parse(&c, "{\"allowed_annotations\":[\"io.containerd.cvm.vcpus\","
                               "\"io.containerd.cvm.kernel_args\",\"io.containerd.cvm.v1.group\"]}", &e), 0);
    ck_assert_uint_eq(c.allowed_annotations, CFG_ALLOW_VCPUS | CFG_ALLOW_KARGS);
    ck_assert_int_eq(parse(&c, "{\"allowed_annotations\":[]}", &e), 0);
    ck_assert_uint_eq(c.allowed_annotations, 0);
    ck_assert_int_eq(parse(&c, "{\"allowed_annotations\":[\"io.containerd.cvm.memory_mib\"]}", &e), 0);
    ck_assert_uint_eq(c.allowed_annotations, CFG_ALLOW_MEMORY);
    static const char *const bad[] = {
        "{\"allowed_annotations\":[\"io.containerd.cvm.cpus\"]}",
        "{\"allowed_annotations\":[\"io.containerd.cvm.*\"]}",
        "{\"allowed_annotations\":\"io.containerd.cvm.vcpus\"}",
        "{\"allowed_annotations\":[1]}",
        "{\"allowed_annotations\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
        "\"a\",\"a\",\"a\",\"a\",\"a\"]}",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        ck_assert_msg(parse(&c, bad[i], &e) == -EINVAL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(e.msg, "\"allowed_annotations\""), "%s", e.msg);
        ck_assert_uint_eq(c.allowed_annotations, CFG_ALLOW_MEMORY); /* unchanged */
    }
    ck_assert_int_eq(parse(&c, "{\"allowed_annotations\":[\"io.containerd.cvm.cpus\"]}", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "unknown annotation \"io.containerd.cvm.cpus\""), "%s", e.msg);
}
END_TEST

/* The default config allows no annotation that changes the VM: each is refused by name, the
 * group annotation passes, unknown keys are still "unknown". */
START_TEST(test_policy_default_refuses)
{
    struct cfg c, before;
    struct cvm_err e;
    static const char *const vm_keys[] = { CFG_ANN_VCPUS, CFG_ANN_MEMORY, CFG_ANN_KARGS };
    static const char *const vm_vals[] = { "2", "512", "init=/bin/sh" };
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_resolve_bounds(&c, 8, 8ull << 20, &e), 0);
    before = c;
    for (size_t i = 0; i < ELEMENTSOF(vm_keys); i++) {
        ck_assert_int_eq(apply1(&c, vm_keys[i], vm_vals[i], &e), -EINVAL);
        char want[160];
        snprintf(want, sizeof(want), "annotation %s is not allowed by the runtime config "
                 "(allowed_annotations)", vm_keys[i]);
        ck_assert_msg(strcmp(e.msg, want) == 0, "%s", e.msg);
        ck_assert_int_eq(e.code, RPC_INVALID_ARGUMENT);
        ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
    }
    ck_assert_int_eq(apply1(&c, CFG_ANN_GROUP, "g1", &e), 0);
    ck_assert_int_eq(apply1(&c, "io.containerd.cvm.cpus", "2", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "unknown annotation"), "%s", e.msg);
    /* one allowed key does not allow the others */
    c.allowed_annotations = CFG_ALLOW_VCPUS;
    ck_assert_int_eq(apply1(&c, CFG_ANN_VCPUS, "2", &e), 0);
    ck_assert_uint_eq(c.vcpus, 2);
    ck_assert_int_eq(apply1(&c, CFG_ANN_KARGS, "quiet", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, CFG_ANN_KARGS " is not allowed"), "%s", e.msg);
    ck_assert_str_eq(c.kernel_args, "");
}
END_TEST

/* max_vcpus / max_memory_mib bound annotations; 0 resolves to the host's. */
START_TEST(test_policy_bounds)
{
    struct cfg c;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_int_eq(parse(&c, "{\"allowed_annotations\":[\"io.containerd.cvm.vcpus\","
                               "\"io.containerd.cvm.memory_mib\"],\"max_vcpus\":4,"
                               "\"max_memory_mib\":2048}", &e), 0);
    ck_assert_int_eq(cfg_resolve_bounds(&c, 2, 1ull << 20, &e), 0); /* explicit bounds stay */
    ck_assert_uint_eq(c.max_vcpus, 4);
    ck_assert_uint_eq(c.max_memory_mib, 2048);
    ck_assert_int_eq(apply1(&c, CFG_ANN_VCPUS, "4", &e), 0);
    ck_assert_int_eq(apply1(&c, CFG_ANN_VCPUS, "5", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "annotation io.containerd.cvm.vcpus=5 is above the runtime config's "
                            "max_vcpus (4)"), "%s", e.msg);
    ck_assert_uint_eq(c.vcpus, 4);
    ck_assert_int_eq(apply1(&c, CFG_ANN_MEMORY, "2048", &e), 0);
    ck_assert_int_eq(apply1(&c, CFG_ANN_MEMORY, "2049", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "io.containerd.cvm.memory_mib=2049 is above the runtime config's "
                            "max_memory_mib (2048)"), "%s", e.msg);
    ck_assert_uint_eq(c.memory_mib, 2048);
    /* the host's bounds: 2 CPUs, 1 GiB */
    cfg_defaults(&c);
    c.allowed_annotations = CFG_ALLOW_VCPUS | CFG_ALLOW_MEMORY;
    ck_assert_int_eq(cfg_resolve_bounds(&c, 2, 1ull << 20, &e), 0);
    ck_assert_uint_eq(c.max_vcpus, 2);
    ck_assert_uint_eq(c.max_memory_mib, 1024);
    ck_assert_int_eq(apply1(&c, CFG_ANN_VCPUS, "3", &e), -EINVAL);
    ck_assert_int_eq(apply1(&c, CFG_ANN_MEMORY, "1025", &e), -EINVAL);
    /* unknown host: the largest guest we make */
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_resolve_bounds(&c, 0, 0, &e), 0);
    ck_assert_uint_eq(c.max_vcpus, CFG_VCPUS_MAX);
    ck_assert_uint_eq(c.max_memory_mib, CFG_MEMORY_MAX);
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_resolve_bounds(&c, 1000, 1ull << 40, &e), 0);
    ck_assert_uint_eq(c.max_vcpus, CFG_VCPUS_MAX);
    ck_assert_uint_eq(c.max_memory_mib, CFG_MEMORY_MAX);
    cfg_defaults(&c);
    c.memory_mib = CFG_MEMORY_MIN;
    ck_assert_int_eq(cfg_resolve_bounds(&c, 1, 1024, &e), 0); /* a 1 MiB host: never below the minimum */
    ck_assert_uint_eq(c.max_memory_mib, CFG_MEMORY_MIN);
}
END_TEST

/* The bounds hold for the operator's own sizes too: in the file, and against the host. */
START_TEST(test_policy_bounds_config)
{
    struct cfg c, before;
    struct cvm_err e;
    cfg_defaults(&c);
    ck_assert_int_eq(parse(&c, "{\"vcpus\":4,\"max_vcpus\":2}", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "\"vcpus\" = 4 is above \"max_vcpus\" = 2"), "%s", e.msg);
    ck_assert_int_eq(parse(&c, "{\"memory_mib\":1024,\"max_memory_mib\":512}", &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "\"memory_mib\" = 1024 is above \"max_memory_mib\" = 512"), "%s", e.msg);
    ck_assert_int_eq(parse(&c, "{\"max_memory_mib\":63}", &e), -EINVAL);
    ck_assert_int_eq(parse(&c, "{\"max_vcpus\":65}", &e), -EINVAL);
    ck_assert_int_eq(parse(&c, "{\"vcpus\":2,\"max_vcpus\":2,\"max_memory_mib\":256}", &e), 0);
    /* against the host's bounds */
    cfg_defaults(&c);
    c.vcpus = 4;
    before = c;
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(cfg_resolve_bounds(&c, 2, 8ull << 20, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "\"vcpus\" = 4 is above max_vcpus 2 (the host's CPUs"), "%s", e.msg);
    ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
    c.max_vcpus = 4; /* the operator allows overcommit */
    ck_assert_int_eq(cfg_resolve_bounds(&c, 2, 8ull << 20, &e), 0);
    cfg_defaults(&c);
    c.memory_mib = 2048;
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(cfg_resolve_bounds(&c, 2, 1ull << 20, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "\"memory_mib\" = 2048 is above max_memory_mib 1024 (the host's memory)"),
                  "%s", e.msg);
}
END_TEST

/* A container memory limit raises the guest RAM only up to max_memory_mib. */
START_TEST(test_memory_raise)
{
    struct cfg c;
    struct cvm_err e = {0};
    cfg_defaults(&c);
    c.max_memory_mib = 1024;
    ck_assert_int_eq(cfg_check_memory_raise(&c, 1024, &e), 0);
    ck_assert_int_eq(cfg_check_memory_raise(&c, 1025, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "(1025 MiB) would raise the guest RAM above the runtime config's "
                            "max_memory_mib (1024 MiB)"), "%s", e.msg);
    c.max_memory_mib = 0; /* unresolved: only the largest guest */
    ck_assert_int_eq(cfg_check_memory_raise(&c, CFG_MEMORY_MAX, &e), 0);
    ck_assert_int_eq(cfg_check_memory_raise(&c, CFG_MEMORY_MAX + 1ull, &e), -EINVAL);
}
END_TEST

/* A container CPU quota raises the vCPUs (ceil of quota/period) only up to max_vcpus. */
START_TEST(test_vcpus_raise)
{
    struct cfg c;
    struct cvm_err e = {0};
    ck_assert_uint_eq(cfg_vcpus_for_quota(-1, 100000), 0);
    ck_assert_uint_eq(cfg_vcpus_for_quota(0, 100000), 0);
    ck_assert_uint_eq(cfg_vcpus_for_quota(100000, 100000), 1);
    ck_assert_uint_eq(cfg_vcpus_for_quota(150000, 100000), 2); /* --cpus 1.5: 2 vCPUs */
    ck_assert_uint_eq(cfg_vcpus_for_quota(200000, 0), 2);      /* runc's default period */
    ck_assert_uint_eq(cfg_vcpus_for_quota(1000, 100000), 1);
    cfg_defaults(&c);
    c.max_vcpus = 2;
    ck_assert_int_eq(cfg_check_vcpus_raise(&c, 2, &e), 0);
    ck_assert_int_eq(cfg_check_vcpus_raise(&c, 3, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "(3 CPUs) would raise the guest's vCPUs above the runtime "
                            "config's max_vcpus (2)"), "%s", e.msg);
    c.max_vcpus = 0; /* unresolved: only the most a guest may have */
    ck_assert_int_eq(cfg_check_vcpus_raise(&c, CFG_VCPUS_MAX, &e), 0);
    ck_assert_int_eq(cfg_check_vcpus_raise(&c, CFG_VCPUS_MAX + 1ull, &e), -EINVAL);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_host_memory);
    tcase_add_test(tc, test_annotations_no_cap);
    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_uid_range);
    tcase_add_test(tc, test_shipped_file_is_defaults);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_loop_test(tc, test_bad, 0, ELEMENTSOF(bad_docs));
    tcase_add_test(tc, test_too_big);
    tcase_add_test(tc, test_annotations);
    tcase_add_test(tc, test_annotations_bad);
    tcase_add_test(tc, test_load_missing);
    tcase_add_test(tc, test_allowed_parse);
    tcase_add_test(tc, test_policy_default_refuses);
    tcase_add_test(tc, test_policy_bounds);
    tcase_add_test(tc, test_policy_bounds_config);
    tcase_add_test(tc, test_memory_raise);
    tcase_add_test(tc, test_vcpus_raise);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(config_suite)

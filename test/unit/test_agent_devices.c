/* agent/oci_devices.c and agent/devices.c: linux.devices and linux.resources.devices parsing,
 * the guest-availability check, and the cgroup device program (run here by a small
 * evaluator of the instructions it emits, against the rules' reference decision). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "../../agent/devices.h"
#include "../../common/cleanup.h"
#include "../../agent/oci_spec.h"

#define SPEC_PRE "{\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"linux\":"

static struct oci_spec *parse(const char *linux_json, struct cvm_err *err, int *r)
{
    char buf[4096];
    struct oci_spec *s = NULL;
    snprintf(buf, sizeof(buf), SPEC_PRE "%s}", linux_json);
    *r = oci_spec_parse(buf, strlen(buf), &s, err);
    return s;
}

START_TEST(parse_devices)
{
    struct cvm_err err = {0};
    int r;
    struct oci_spec *s = parse("{\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
                               "\"fileMode\":8630,\"uid\":5,\"gid\":6},{\"path\":\"/dev/x/y\",\"type\":\"u\",\"major\":1,"
                               "\"minor\":3},{\"path\":\"/p\",\"type\":\"p\"}],"
                               "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
                               "{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"},"
                               "{\"allow\":true,\"type\":\"b\",\"major\":8}]}}",
                               &err, &r);
    ck_assert_msg(r == 0, "%s", err.msg);
    ck_assert_uint_eq(s->n_devices, 3);
    ck_assert_str_eq(s->devices[0].path, "/dev/fuse");
    ck_assert_int_eq(s->devices[0].type, 'c');
    ck_assert_uint_eq(s->devices[0].major, 10);
    ck_assert_uint_eq(s->devices[0].minor, 229);
    ck_assert_uint_eq(s->devices[0].mode, 0666); /* 8630 = S_IFCHR|0666: the type bits go */
    ck_assert_uint_eq(s->devices[0].uid, 5);
    ck_assert_uint_eq(s->devices[0].gid, 6);
    ck_assert_int_eq(s->devices[1].type, 'c'); /* 'u' is made as 'c' */
    ck_assert_uint_eq(s->devices[1].mode, 0666); /* no fileMode: runc's 0666 */
    ck_assert_int_eq(s->devices[2].type, 'p');
    ck_assert_uint_eq(s->n_device_rules, 3);
    ck_assert(!s->device_rules[0].allow);
    ck_assert_int_eq(s->device_rules[0].type, 'a');
    ck_assert_int_eq(s->device_rules[0].major, -1);
    ck_assert_uint_eq(s->device_rules[1].access, OCI_DEV_ACC_R | OCI_DEV_ACC_W);
    ck_assert_int_eq(s->device_rules[2].minor, -1);
    ck_assert_uint_eq(s->device_rules[2].access, 7); /* no access: rwm */
    oci_spec_free(s);
}
END_TEST

static const struct {
    const char *json, *want;
} bad[] = {
    {"{\"devices\":[{\"type\":\"c\",\"major\":1,\"minor\":3}]}", "linux.devices[0].path"},
    {"{\"devices\":[{\"path\":\"dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3}]}", "not an absolute path"},
    {"{\"devices\":[{\"path\":\"/dev/../x\",\"type\":\"c\",\"major\":1,\"minor\":3}]}", "\"..\""},
    {"{\"devices\":[{\"path\":\"/dev/\",\"type\":\"c\",\"major\":1,\"minor\":3}]}", "names no file"},
    {"{\"devices\":[{\"path\":\"/dev/q\",\"type\":\"x\",\"major\":1,\"minor\":3}]}", "linux.devices[0].type"},
    {"{\"devices\":[{\"path\":\"/dev/q\",\"type\":\"c\",\"minor\":3}]}", "linux.devices[0].major"},
    {"{\"devices\":[{\"path\":\"/dev/q\",\"type\":\"b\",\"major\":-1,\"minor\":3}]}", "linux.devices[0].major"},
    {"{\"resources\":{\"devices\":[{\"access\":\"rwm\"}]}}", "linux.resources.devices[0].allow"},
    {"{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}}", "subset of \"rwm\""},
    {"{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"p\"}]}}", "linux.resources.devices[0].type"},
};

START_TEST(rejects)
{
    struct cvm_err err = {0};
    int r;
    struct oci_spec *s = parse(bad[_i].json, &err, &r);
    ck_assert_msg(r < 0, "accepted %s", bad[_i].json);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, bad[_i].want), "%s: message \"%s\" lacks \"%s\"", bad[_i].json, err.msg, bad[_i].want);
}
END_TEST

START_TEST(too_many)
{
    size_t cap = 64 + 40 * (OCI_MAX_DEVICES + 1);
    char *j = malloc(cap), *p = j;
    p += sprintf(p, "{\"devices\":[");
    for (unsigned i = 0; i <= OCI_MAX_DEVICES; i++)
        p += sprintf(p, "%s{\"path\":\"/d%u\",\"type\":\"p\"}", i ? "," : "", i);
    sprintf(p, "]}");
    char *full = malloc(cap + 128);
    sprintf(full, SPEC_PRE "%s}", j);
    struct oci_spec *s = NULL;
    struct cvm_err err = {0};
    ck_assert_int_eq(oci_spec_parse(full, strlen(full), &s, &err), -E2BIG);
    free(j);
    free(full);
}
END_TEST

/* What the guest has, as sysfs says: a fake /sys/dev with char/10:229 only. */
START_TEST(availability)
{
    char dir[] = "/tmp/devs.XXXXXX", p[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/char", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/block", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/char/10:229", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    struct cvm_err err = {0};
    int r;
    struct oci_spec *s = parse("{\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"
                               "{\"path\":\"/dev/fifo\",\"type\":\"p\"}]}", &err, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(devices_check_available(s, dir, &err), 0);
    oci_spec_free(s);
    s = parse("{\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"
              "{\"path\":\"/dev/nvidia0\",\"type\":\"c\",\"major\":195,\"minor\":0}]}", &err, &r);
    ck_assert_int_eq(r, 0);
    r = devices_check_available(s, dir, &err);
    ck_assert_int_eq(r, -ENODEV);
    ck_assert_int_eq(err.code, RPC_FAILED_PRECONDITION);
    ck_assert_msg(strstr(err.msg, "/dev/nvidia0 (c 195:0)") && strstr(err.msg, "guest kernel has no such device"),
                  "%s", err.msg);
    oci_spec_free(s);
    /* same numbers as a block device: not there */
    s = parse("{\"devices\":[{\"path\":\"/dev/b\",\"type\":\"b\",\"major\":10,\"minor\":229}]}", &err, &r);
    ck_assert_int_eq(devices_check_available(s, dir, &err), -ENODEV);
    oci_spec_free(s);
    snprintf(p, sizeof(p), "rm -rf %s", dir);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

/* Runs the subset of eBPF the builder emits; fails the test on anything else. */
static int run_prog(const struct bpf_insn *in, int n, uint32_t access_type, uint32_t major, uint32_t minor)
{
    uint64_t reg[11] = {0};
    uint32_t ctx[3] = {access_type, major, minor};
    for (int pc = 0, steps = 0; pc >= 0 && pc < n && steps < 100000; pc++, steps++) {
        const struct bpf_insn *i = &in[pc];
        uint8_t cls = BPF_CLASS(i->code);
        if (cls == BPF_LDX) {
            ck_assert_int_eq(i->code, BPF_LDX | BPF_MEM | BPF_W);
            ck_assert_int_eq(i->src_reg, BPF_REG_1);
            ck_assert(i->off >= 0 && i->off <= 8 && i->off % 4 == 0);
            reg[i->dst_reg] = ctx[i->off / 4];
        } else if (cls == BPF_ALU64) {
            uint64_t v = BPF_SRC(i->code) == BPF_X ? reg[i->src_reg] : (uint64_t)(int64_t)i->imm;
            switch (BPF_OP(i->code)) {
            case BPF_MOV: reg[i->dst_reg] = v; break;
            case BPF_AND: reg[i->dst_reg] &= v; break;
            case BPF_RSH: reg[i->dst_reg] >>= v; break;
            default: ck_abort_msg("alu op %x", BPF_OP(i->code));
            }
        } else if (cls == BPF_JMP) {
            ck_assert_int_eq(BPF_SRC(i->code), BPF_K);
            uint64_t k = (uint64_t)(int64_t)i->imm;
            switch (BPF_OP(i->code)) {
            case BPF_EXIT: return (int)reg[0];
            case BPF_JNE: if (reg[i->dst_reg] != k) pc += i->off; break;
            case BPF_JEQ: if (reg[i->dst_reg] == k) pc += i->off; break;
            default: ck_abort_msg("jmp op %x", BPF_OP(i->code));
            }
        } else {
            ck_abort_msg("class %x", cls);
        }
    }
    ck_abort_msg("fell off the program");
    return -1;
}

static void check_against_reference(const struct oci_device_rule *rules, size_t n)
{
    struct bpf_insn prog[DEVCG_MAX_INSNS(8)];
    ck_assert(n <= 8);
    int len = devcg_program_build(rules, n, prog, ELEMENTSOF(prog));
    ck_assert_int_gt(len, 0);
    static const uint32_t nums[] = {0, 1, 3, 5, 8, 10, 136, 229};
    for (int t = 0; t < 2; t++)
        for (unsigned acc = 1; acc < 8; acc++)
            for (size_t a = 0; a < ELEMENTSOF(nums); a++)
                for (size_t b = 0; b < ELEMENTSOF(nums); b++) {
                    char type = t ? 'b' : 'c';
                    uint32_t at = acc << 16 | (t ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
                    bool want = devcg_decide(rules, n, type, nums[a], nums[b], acc);
                    int got = run_prog(prog, len, at, nums[a], nums[b]);
                    ck_assert_msg(got == (want ? 1 : 0), "%c %u:%u acc %u: program %d, rules %d", type, nums[a],
                                  nums[b], acc, got, want);
                }
}

#define R(al, ty, ma, mi, ac) {.allow = (al), .type = (ty), .major = (ma), .minor = (mi), .access = (ac)}

START_TEST(program_matches_rules)
{
    /* containerd's default: deny all, then the usual nodes, a wildcard minor, mknod-only */
    const struct oci_device_rule dflt[] = {
        R(false, 'a', -1, -1, 7), R(true, 'c', 1, 3, 7), R(true, 'c', 1, 5, 7), R(true, 'c', 136, -1, 7),
        R(true, 'c', -1, -1, OCI_DEV_ACC_M), R(true, 'b', -1, -1, OCI_DEV_ACC_M), R(true, 'c', 10, 229, 6),
    };
    check_against_reference(dflt, ELEMENTSOF(dflt));
    /* privileged: allow all, then a deny of one device read */
    const struct oci_device_rule priv[] = {R(true, 'a', -1, -1, 7), R(false, 'b', 8, 0, OCI_DEV_ACC_R)};
    check_against_reference(priv, ELEMENTSOF(priv));
    /* a rule naming a number no device can have is dropped, not mis-compiled */
    const struct oci_device_rule big[] = {R(false, 'a', -1, -1, 7), R(true, 'c', 1, 0x100000, 7), R(true, 'c', 1, 3, 2)};
    check_against_reference(big, ELEMENTSOF(big));
    /* runc's defaults after containerd's deny-all: any mknod, tun and the standard nodes */
    ck_assert(devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'c', 10, 229, OCI_DEV_ACC_M));
    ck_assert(!devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'c', 10, 229, OCI_DEV_ACC_R));
    ck_assert(devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'c', 10, 200, OCI_DEV_ACC_R | OCI_DEV_ACC_W));
    ck_assert(devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'c', 136, 4, OCI_DEV_ACC_W));
    ck_assert(devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'b', 8, 0, OCI_DEV_ACC_M));
    ck_assert(!devcg_decide(devcg_runc_defaults, DEVCG_N_RUNC_DEFAULTS, 'b', 8, 0, OCI_DEV_ACC_R));
    /* no rule matches: denied */
    ck_assert(!devcg_decide(big, 0, 'c', 1, 3, 2));
}
END_TEST

START_TEST(reference_semantics)
{
    const struct oci_device_rule r[] = {R(false, 'a', -1, -1, 7), R(true, 'c', 1, 3, OCI_DEV_ACC_R | OCI_DEV_ACC_W)};
    ck_assert(devcg_decide(r, 2, 'c', 1, 3, OCI_DEV_ACC_R));
    ck_assert(devcg_decide(r, 2, 'c', 1, 3, OCI_DEV_ACC_R | OCI_DEV_ACC_W));
    ck_assert(!devcg_decide(r, 2, 'c', 1, 3, OCI_DEV_ACC_M)); /* the allow lacks m */
    ck_assert(!devcg_decide(r, 2, 'b', 1, 3, OCI_DEV_ACC_R));
    ck_assert(!devcg_decide(r, 2, 'c', 1, 5, OCI_DEV_ACC_R));
}
END_TEST

START_TEST(program_bounded)
{
    const struct oci_device_rule r[] = {R(true, 'c', 1, 3, 7)};
    struct bpf_insn prog[4];
    ck_assert_int_eq(devcg_program_build(r, 1, prog, ELEMENTSOF(prog)), -E2BIG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_devices");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parse_devices);
    tcase_add_loop_test(tc, rejects, 0, (int)ELEMENTSOF(bad));
    tcase_add_test(tc, too_many);
    tcase_add_test(tc, availability);
    tcase_add_test(tc, program_matches_rules);
    tcase_add_test(tc, reference_semantics);
    tcase_add_test(tc, program_bounded);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)

/* accel: the accelerator decision over a table of hosts, and the cpuinfo flag reader.
 * The hardware-KVM rows cannot be run for real on these (PVM) machines: this table is where
 * that code path is covered. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "accel.h"
#include "check_main.h"

struct host_row {
    const char *name;
    enum hv_accel want;
    struct accel_facts f;
    bool kvm;
    int err;
    bool warn;
    const char *provider;
    const char *reason_has;
};

static const struct accel_facts HW_INTEL = {.cpu_vmx = true, .mod_kvm_intel = true,
                                            .kvm_api_version = 12};
static const struct accel_facts HW_AMD = {.cpu_svm = true, .mod_kvm_amd = true,
                                          .kvm_api_version = 12};
/* This workplace's kind: /dev/kvm opens and KVM_CREATE_VM works, served by kvm_pvm. */
static const struct accel_facts PVM = {.cpu_hypervisor = true, .mod_kvm_pvm = true,
                                       .kvm_api_version = 12};
static const struct accel_facts NO_KVM = {.kvm_open_err = -ENOENT, .cpu_hypervisor = true};
static const struct accel_facts NO_PERM = {.kvm_open_err = -EACCES, .cpu_vmx = true,
                                           .mod_kvm_intel = true};
static const struct accel_facts NESTED = {.cpu_vmx = true, .cpu_hypervisor = true,
                                          .mod_kvm_intel = true, .kvm_api_version = 12};
static const struct accel_facts NO_VM = {.cpu_vmx = true, .mod_kvm_intel = true,
                                         .kvm_create_vm_err = -ENOMEM};
/* /dev/kvm opens but nothing says hardware virtualization is behind it (unknown provider). */
static const struct accel_facts BARE = {.cpu_hypervisor = true, .kvm_api_version = 12};

static const struct host_row rows[] = {
    {"hw intel, auto", HV_ACCEL_AUTO, HW_INTEL, true, 0, false, "kvm_intel", "vmx, kvm_intel"},
    {"hw amd, auto", HV_ACCEL_AUTO, HW_AMD, true, 0, false, "kvm_amd", "svm, kvm_amd"},
    {"nested, auto", HV_ACCEL_AUTO, NESTED, true, 0, false, "kvm_intel", "nested"},
    {"pvm, auto", HV_ACCEL_AUTO, PVM, false, 0, true, "kvm_pvm",
     "/dev/kvm is served by kvm_pvm, which needs a PVM guest kernel"},
    {"no /dev/kvm, auto", HV_ACCEL_AUTO, NO_KVM, false, 0, true, "none", "no /dev/kvm"},
    {"no permission, auto", HV_ACCEL_AUTO, NO_PERM, false, 0, true, "kvm_intel",
     "/dev/kvm: Permission denied"},
    {"create vm fails, auto", HV_ACCEL_AUTO, NO_VM, false, 0, true, "kvm_intel",
     "KVM_CREATE_VM fails: Cannot allocate memory"},
    {"unknown provider, auto", HV_ACCEL_AUTO, BARE, false, 0, true, "unknown",
     "no hardware virtualization"},
    {"hw intel, tcg forced", HV_ACCEL_TCG, HW_INTEL, false, 0, true, "kvm_intel",
     "forced by \"accel\": \"tcg\""},
    {"pvm, tcg forced", HV_ACCEL_TCG, PVM, false, 0, true, "kvm_pvm", "kvm_pvm"},
    {"hw intel, kvm forced", HV_ACCEL_KVM, HW_INTEL, true, 0, false, "kvm_intel",
     "forced by \"accel\": \"kvm\""},
    /* forced on PVM: tried (the user asked), flagged; the boot watchdog names the silence */
    {"pvm, kvm forced", HV_ACCEL_KVM, PVM, true, 0, true, "kvm_pvm", "served by kvm_pvm"},
    {"no /dev/kvm, kvm forced", HV_ACCEL_KVM, NO_KVM, false, -ENOENT, false, "none",
     "\"accel\": \"kvm\" but no /dev/kvm"},
    {"no permission, kvm forced", HV_ACCEL_KVM, NO_PERM, false, -EACCES, false, "kvm_intel",
     "Permission denied"},
    /* a PVM host whose /dev/kvm is not ours: the open error is what stops forced KVM */
    {"pvm without permission, kvm forced", HV_ACCEL_KVM,
     {.kvm_open_err = -EACCES, .mod_kvm_pvm = true}, false, -EACCES, false, "kvm_pvm",
     "\"accel\": \"kvm\" but /dev/kvm: Permission denied"},
    {"create vm fails, kvm forced", HV_ACCEL_KVM, NO_VM, false, -ENOMEM, false, "kvm_intel",
     "KVM_CREATE_VM"},
};

START_TEST(test_decision_table)
{
    const struct host_row *r = &rows[_i];
    struct accel_choice c;
    int ret = accel_decide(r->want, &r->f, &c);
    ck_assert_msg(ret == r->err && c.err == r->err, "%s: err %d", r->name, ret);
    ck_assert_msg(c.kvm == r->kvm, "%s: kvm %d", r->name, c.kvm);
    ck_assert_msg(c.warn == r->warn, "%s: warn %d", r->name, c.warn);
    ck_assert_msg(strcmp(c.provider, r->provider) == 0, "%s: provider %s", r->name, c.provider);
    ck_assert_msg(strstr(c.reason, r->reason_has), "%s: reason '%s'", r->name, c.reason);
}
END_TEST

START_TEST(test_cpuinfo_flags)
{
    bool vmx, svm, hyp;
    accel_cpuinfo_flags("processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor lahf_lm\n"
                        "processor\t: 1\nflags\t\t: vmx svm\n", &vmx, &svm, &hyp);
    ck_assert(!vmx && !svm && hyp); /* the first CPU speaks */
    accel_cpuinfo_flags("flags : fpu vmx\n", &vmx, &svm, &hyp);
    ck_assert(vmx && !svm && !hyp);
    accel_cpuinfo_flags("flags : svm", &vmx, &svm, &hyp);
    ck_assert(!vmx && svm);
    accel_cpuinfo_flags("flags : vmxe svmx xhypervisor\n", &vmx, &svm, &hyp); /* whole words */
    ck_assert(!vmx && !svm && !hyp);
    accel_cpuinfo_flags("", &vmx, &svm, &hyp);
    ck_assert(!vmx && !svm && !hyp);
    accel_cpuinfo_flags("flagsfoo\nvmx\n", &vmx, &svm, &hyp); /* no colon: not a flags line */
    ck_assert(!vmx);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_int_eq(hv_accel_from_string("auto"), HV_ACCEL_AUTO);
    ck_assert_int_eq(hv_accel_from_string("kvm"), HV_ACCEL_KVM);
    ck_assert_int_eq(hv_accel_from_string("tcg"), HV_ACCEL_TCG);
    ck_assert_int_eq(hv_accel_from_string("KVM"), -EINVAL);
    ck_assert_int_eq(hv_accel_from_string(NULL), -EINVAL);
    ck_assert_str_eq(hv_accel_name(HV_ACCEL_TCG), "tcg");
    ck_assert_str_eq(hv_accel_name(_HV_ACCEL_MAX), "invalid");
}
END_TEST

/* On the real host the probe and the decision agree with what the machine shows. */
START_TEST(test_probe_this_host)
{
    struct accel_facts f;
    struct accel_choice c;
    accel_probe(&f);
    ck_assert_int_eq(accel_decide(HV_ACCEL_AUTO, &f, &c), 0);
    /* The first thing that rules KVM out is named: a missing device before its provider (a
     * host with kvm_pvm loaded may still not hand /dev/kvm to this container). */
    if (f.kvm_open_err == -ENOENT)
        ck_assert_msg(!c.kvm && strstr(c.reason, "no /dev/kvm"), "reason: %s", c.reason);
    else if (f.mod_kvm_pvm)
        ck_assert_msg(!c.kvm && strstr(c.reason, "kvm_pvm"), "reason: %s", c.reason);
    if (f.kvm_open_err)
        ck_assert(!c.kvm);
    ck_assert_int_eq(accel_decide(HV_ACCEL_TCG, &f, &c), 0);
    ck_assert(!c.kvm);
}
END_TEST

static Suite *accel_suite(void)
{
    Suite *s = suite_create("accel");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_decision_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
    tcase_add_test(tc, test_cpuinfo_flags);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_probe_this_host);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(accel_suite)

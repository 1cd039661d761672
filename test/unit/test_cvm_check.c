/* shim/check/check_report.c: cvm-check's verdicts over faked hosts, the text and JSON
 * renderers, and the helpers that keep probed text harmless. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/check/check_report.h"
#include "check_main.h"
#include "guest_image.h"

#define KREL "6.1.0-57-cloud-amd64"

static const char machine_help[] = "Supported machines are:\n"
                                   "microvm              microvm (i386)\n"
                                   "pc                   Standard PC (alias of pc-i440fx-7.2)\n";
static const char device_help[] = "Storage devices:\n"
                                  "name \"vhost-user-fs-pci\", bus PCI\n"
                                  "name \"virtio-net-pci\", bus PCI, alias \"virtio-net\"\n"
                                  "name \"vhost-user-vsock-pci\", bus PCI\n"
                                  "name \"vhost-vsock-pci\", bus PCI\n";
static const char object_help[] = "List of user creatable objects:\n"
                                  "  memory-backend-file\n  memory-backend-memfd\n";

static struct check_line lines[CHECK_LINES_MAX];

/* A host where everything but the accelerator is fine: this machine's tools. */
static void healthy(struct host_facts *f)
{
    *f = (struct host_facts){0};
    f->want = HV_ACCEL_AUTO;
    f->vsock_mode = HV_VSOCK_AUTO;
    f->vhost_vsock_err = -ENOENT;
    f->vhost_net_err = -ENOENT;
    snprintf(f->cgroup_controllers, sizeof(f->cgroup_controllers), "cpuset cpu io memory pids");
    snprintf(f->qemu.path, sizeof(f->qemu.path), "/usr/bin/qemu-system-x86_64");
    snprintf(f->qemu.version, sizeof(f->qemu.version), "QEMU emulator version 7.2.22");
    f->machine_help = machine_help;
    f->device_help = device_help;
    f->object_help = object_help;
    snprintf(f->virtiofsd.path, sizeof(f->virtiofsd.path), "/usr/lib/qemu/virtiofsd");
    snprintf(f->virtiofsd.version, sizeof(f->virtiofsd.version), "virtiofsd version 7.2.22");
    snprintf(f->vsockd.path, sizeof(f->vsockd.path), "/usr/local/bin/cvm-vsockd");
    snprintf(f->kernel.path, sizeof(f->kernel.path), "/boot/vmlinuz-" KREL);
    f->kernel.kind = GK_BZIMAGE;
    snprintf(f->kernel.release, sizeof(f->kernel.release), KREL);
    snprintf(f->initrd.path, sizeof(f->initrd.path), "/usr/local/share/x/initrd.img");
    f->initrd.kind = GI_GZIP;
    snprintf(f->initrd.release, sizeof(f->initrd.release), KREL);
    snprintf(f->containerd.path, sizeof(f->containerd.path), "/usr/bin/containerd");
    snprintf(f->containerd.version, sizeof(f->containerd.version), "containerd 1.6.20");
}

/* This machine: kvm_pvm serves /dev/kvm, which opens and creates VMs; no vmx. */
static void pvm(struct accel_facts *a)
{
    *a = (struct accel_facts){.kvm_api_version = 12, .mod_kvm_pvm = true, .cpu_hypervisor = true};
}

static void hw_kvm(struct accel_facts *a)
{
    *a = (struct accel_facts){.kvm_api_version = 12, .cpu_vmx = true, .mod_kvm_intel = true};
}

static void no_kvm(struct accel_facts *a)
{
    *a = (struct accel_facts){.kvm_open_err = -ENOENT};
}

static const struct check_line *find(const struct check_line *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return &l[i];
    ck_abort_msg("no line %s", name);
    return NULL;
}

static size_t build(const struct host_facts *f)
{
    memset(lines, 0, sizeof(lines));
    return check_report_build(f, lines, CHECK_LINES_MAX);
}

START_TEST(test_order_and_all_lines)
{
    static const char *const order[] = {"accel", "vhost-vsock", "vhost-net", "cgroup",
                                        "qemu", "qemu-devices", "virtiofsd", "cvm-vsockd",
                                        "kernel", "initrd", "containerd", "config"};
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    size_t n = build(&f);
    ck_assert_uint_eq(n, sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(lines[i].name, order[i]);
    /* a short buffer is filled, never overrun */
    ck_assert_uint_eq(check_report_build(&f, lines, 3), 3);
}
END_TEST

#define OURS_V "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18, containerd-shim-cvm-v1)"
#define DEB_V "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"

START_TEST(test_qemu_source_cmp)
{
    char src[64];
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, DEB_V, src, sizeof(src)), 0);
    ck_assert_str_eq(src, "1:7.2+dfsg-7+deb12u18");
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)", src, sizeof(src)), 0);
    /* a security update of Debian's, ours not rebuilt */
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, "QEMU emulator version 7.2.23 (Debian 1:7.2+dfsg-7+deb12u19)", src, sizeof(src)), 1);
    /* "+b" without digits is part of the version, not a binNMU */
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, "QEMU (Debian 1:7.2+dfsg-7+deb12u18+b)", src, sizeof(src)), 1);
    /* not ours, no Debian version, empty, unterminated, too long for the buffer */
    ck_assert_int_eq(check_qemu_source_cmp(DEB_V, DEB_V, src, sizeof(src)), -EINVAL);
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, "QEMU emulator version 7.2.0", src, sizeof(src)), -EINVAL);
    ck_assert_int_eq(check_qemu_source_cmp("QEMU (Debian , containerd-shim-cvm-v1)", DEB_V, src, sizeof(src)), -EINVAL);
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, "QEMU (Debian 1:7.2", src, sizeof(src)), -EINVAL);
    ck_assert_int_eq(check_qemu_source_cmp(OURS_V, DEB_V, src, 8), -EINVAL);
}
END_TEST

START_TEST(test_qemu_build_line)
{
    struct host_facts f;
    const struct check_line *l;
    size_t n;
    healthy(&f);
    pvm(&f.accel);
    f.qemu_discovered = true;
    snprintf(f.qemu.path, sizeof(f.qemu.path), "/usr/local/libexec/containerd-shim-cvm-v1/qemu-system-x86_64");
    snprintf(f.qemu.version, sizeof(f.qemu.version), OURS_V);
    snprintf(f.distro_qemu.path, sizeof(f.distro_qemu.path), "/usr/bin/qemu-system-x86_64");
    snprintf(f.distro_qemu.version, sizeof(f.distro_qemu.version), DEB_V);
    n = build(&f);
    ck_assert_str_eq(lines[4].name, "qemu");
    ck_assert_str_eq(lines[5].name, "qemu-build");
    ck_assert_int_eq(lines[5].status, CHECK_OK);
    ck_assert_ptr_nonnull(strstr(lines[5].detail, "1:7.2+dfsg-7+deb12u18"));
    ck_assert(check_report_can_run(lines, n));

    snprintf(f.distro_qemu.version, sizeof(f.distro_qemu.version), "QEMU emulator version 7.2.23 (Debian 1:7.2+dfsg-7+deb12u19)");
    n = build(&f);
    l = find(lines, n, "qemu-build");
    ck_assert_int_eq(l->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(l->detail, "deb12u18"));
    ck_assert_ptr_nonnull(strstr(l->detail, "deb12u19"));
    ck_assert_ptr_nonnull(strstr(l->detail, "make install"));

    f.distro_qemu.err = -ENOENT;
    n = build(&f);
    l = find(lines, n, "qemu-build");
    ck_assert_int_eq(l->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(l->detail, "cannot be compared"));

    /* the shim fell back to Debian's: said, not silent */
    snprintf(f.qemu.version, sizeof(f.qemu.version), DEB_V);
    n = build(&f);
    l = find(lines, n, "qemu-build");
    ck_assert_int_eq(l->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(l->detail, "not ours"));

    /* a QEMU the config names is the operator's choice: no line */
    f.qemu_discovered = false;
    n = build(&f);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_ne(lines[i].name, "qemu-build");
}
END_TEST

START_TEST(test_pvm_host_warns_tcg_and_can_run)
{
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_WARN);
    ck_assert_str_eq(a->detail, "tcg: /dev/kvm is served by kvm_pvm, which needs a PVM guest "
                                "kernel (auto)");
    ck_assert(check_report_can_run(lines, n));
    ck_assert_int_eq(find(lines, n, "qemu")->status, CHECK_OK);
    ck_assert_int_eq(find(lines, n, "qemu-devices")->status, CHECK_OK);
    ck_assert_int_eq(find(lines, n, "initrd")->status, CHECK_OK);
    ck_assert_int_eq(find(lines, n, "config")->status, CHECK_OK);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "config")->detail, "built-in defaults"));
    ck_assert_int_eq(find(lines, n, "vhost-vsock")->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "vhost-vsock")->detail,
                                 "hybrid vsock through cvm-vsockd will be used"));
    ck_assert_ptr_nonnull(strstr(find(lines, n, "vhost-net")->detail, "virtio-net in userspace"));
}
END_TEST

START_TEST(test_pvm_forced_kvm_is_a_warn_naming_kvm_pvm)
{
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    f.want = HV_ACCEL_KVM;
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_WARN);
    ck_assert_msg(strncmp(a->detail, "kvm: ", 5) == 0, "%s", a->detail);
    ck_assert_ptr_nonnull(strstr(a->detail, "kvm_pvm"));
    ck_assert(check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_hardware_kvm_ok)
{
    struct host_facts f;
    healthy(&f);
    hw_kvm(&f.accel);
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_OK);
    ck_assert_msg(strncmp(a->detail, "kvm: ", 5) == 0, "%s", a->detail);
    ck_assert_ptr_nonnull(strstr(a->detail, "kvm_intel"));
    ck_assert_ptr_nonnull(strstr(a->detail, "vmx"));
    ck_assert(check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_no_dev_kvm_warns_tcg)
{
    struct host_facts f;
    healthy(&f);
    no_kvm(&f.accel);
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_WARN);
    ck_assert_str_eq(a->detail, "tcg: no /dev/kvm (auto)");
    ck_assert(check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_eacces_names_the_provider)
{
    struct host_facts f;
    healthy(&f);
    hw_kvm(&f.accel);
    f.accel.kvm_open_err = -EACCES;
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(a->detail, "Permission denied"));
    ck_assert_ptr_nonnull(strstr(a->detail, "/dev/kvm: kvm_intel)"));
}
END_TEST

START_TEST(test_forced_kvm_without_dev_kvm_fails)
{
    struct host_facts f;
    healthy(&f);
    no_kvm(&f.accel);
    f.want = HV_ACCEL_KVM;
    size_t n = build(&f);
    const struct check_line *a = find(lines, n, "accel");
    ck_assert_int_eq(a->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(a->detail, "no /dev/kvm"));
    ck_assert(!check_report_can_run(lines, n));
    json_t *doc = check_report_json(&f, lines, n, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_false(json_object_get(doc, "can_run")));
    ck_assert(json_is_null(json_object_get(doc, "accel")));
    json_decref(doc);
}
END_TEST

START_TEST(test_qemu_without_vhost_user_fs_fails)
{
    static const char dev[] = "name \"virtio-net-pci\", bus PCI\n"
                              "name \"vhost-user-fs-pci-extra\", bus PCI\n" /* not a match */
                              "name \"vhost-user-vsock-pci\", bus PCI\n"
                              "name \"vhost-vsock-pci\", bus PCI\n";
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    f.device_help = dev;
    size_t n = build(&f);
    const struct check_line *d = find(lines, n, "qemu-devices");
    ck_assert_int_eq(d->status, CHECK_FAIL);
    ck_assert_str_eq(d->detail, "qemu lacks device vhost-user-fs-pci");
    ck_assert(!check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_vhost_vsock_pci_missing_is_only_a_warn_without_dev)
{
    static const char dev[] = "name \"vhost-user-fs-pci\", bus PCI\n"
                              "name \"virtio-net-pci\", bus PCI\n"
                              "name \"vhost-user-vsock-pci\", bus PCI\n";
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    f.device_help = dev;
    size_t n = build(&f);
    ck_assert_int_eq(find(lines, n, "qemu-devices")->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "qemu-devices")->detail, "vhost-vsock-pci"));
    ck_assert(check_report_can_run(lines, n));
    /* with /dev/vhost-vsock usable the kernel device is the one used: a fail */
    f.vhost_vsock_err = 0;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "qemu-devices")->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "qemu-devices")->detail, "device vhost-vsock-pci"));
}
END_TEST

START_TEST(test_qemu_missing_and_no_microvm)
{
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    f.machine_help = "pc   Standard PC\nmicrovm-ish   not it\n";
    f.object_help = NULL;
    size_t n = build(&f);
    const struct check_line *d = find(lines, n, "qemu-devices");
    ck_assert_int_eq(d->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(d->detail, "machine microvm"));
    ck_assert_ptr_nonnull(strstr(d->detail, "-object help failed"));

    healthy(&f);
    f.qemu.err = -ENOENT;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "qemu")->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "qemu")->detail, "No such file"));
    ck_assert_int_eq(find(lines, n, "qemu-devices")->status, CHECK_FAIL);
}
END_TEST

START_TEST(test_initrd_modules_mismatch_fails)
{
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    snprintf(f.initrd.release, sizeof(f.initrd.release), "6.1.0-42-cloud-amd64");
    size_t n = build(&f);
    const struct check_line *i = find(lines, n, "initrd");
    ck_assert_int_eq(i->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(i->detail, "initrd modules are for 6.1.0-42-cloud-amd64, "
                                            "kernel is " KREL));
    ck_assert(!check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_initrd_variants)
{
    struct host_facts f;
    healthy(&f);
    f.initrd.release_err = -ENOENT;
    f.initrd.release[0] = '\0';
    size_t n = build(&f);
    /* a distro bzImage with a module-less initrd: likely no vsock in the guest */
    ck_assert_int_eq(find(lines, n, "initrd")->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "initrd")->detail, "no modules, but the kernel is a bzImage " KREL));

    /* our kernel: an ELF vmlinux with the PVH note, its release, a module-less initrd */
    healthy(&f);
    f.kernel.kind = GK_ELF;
    f.kernel.pvh = true;
    snprintf(f.kernel.release, sizeof(f.kernel.release), "6.1.192-cvm");
    f.initrd.release_err = -ENOENT;
    f.initrd.release[0] = '\0';
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "kernel")->status, CHECK_OK);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "kernel")->detail, "ELF vmlinux (PVH), release 6.1.192-cvm"));
    ck_assert_int_eq(find(lines, n, "initrd")->status, CHECK_OK);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "initrd")->detail, "no modules: kernel 6.1.192-cvm has everything built in"));
    /* ... and that kernel with an initrd of distro modules: a mismatch */
    snprintf(f.initrd.release, sizeof(f.initrd.release), KREL);
    f.initrd.release_err = 0;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "initrd")->status, CHECK_FAIL);
    /* an ELF QEMU cannot boot */
    f.kernel.pvh = false;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "kernel")->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "kernel")->detail, "PVH"));

    healthy(&f);
    f.initrd.kind = GI_UNKNOWN;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "initrd")->status, CHECK_FAIL);

    healthy(&f);
    f.kernel.kind = GK_UNKNOWN;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "kernel")->status, CHECK_FAIL);
    ck_assert_ptr_nonnull(strstr(find(lines, n, "kernel")->detail, "neither a bzImage"));

    healthy(&f);
    f.kernel.err = -ENOENT;
    snprintf(f.kernel.err_msg, sizeof(f.kernel.err_msg), "no guest kernel: set \"kernel\"");
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "kernel")->status, CHECK_FAIL);
    ck_assert_str_eq(find(lines, n, "kernel")->detail, "no guest kernel: set \"kernel\"");
}
END_TEST

START_TEST(test_config_parse_error_fails)
{
    struct host_facts f;
    healthy(&f);
    pvm(&f.accel);
    snprintf(f.config_path, sizeof(f.config_path), "/etc/cvm.json");
    f.config_err = -EINVAL;
    snprintf(f.config_msg, sizeof(f.config_msg), "/etc/cvm.json: config: invalid JSON at line 1");
    size_t n = build(&f);
    const struct check_line *c = find(lines, n, "config");
    ck_assert_int_eq(c->status, CHECK_FAIL);
    ck_assert_str_eq(c->detail, "/etc/cvm.json: config: invalid JSON at line 1");
    ck_assert(!check_report_can_run(lines, n));

    /* an explicit file that is not there */
    f.config_err = -ENOENT;
    f.config_msg[0] = '\0';
    n = build(&f);
    ck_assert_str_eq(find(lines, n, "config")->detail, "/etc/cvm.json: No such file or directory");
}
END_TEST

START_TEST(test_vsock_modes_and_vsockd)
{
    struct host_facts f;
    healthy(&f);
    f.vsock_mode = HV_VSOCK_KERNEL;
    size_t n = build(&f);
    ck_assert_int_eq(find(lines, n, "vhost-vsock")->status, CHECK_FAIL);

    healthy(&f);
    f.vsockd.path[0] = '\0';
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "cvm-vsockd")->status, CHECK_FAIL); /* hybrid needs it */
    f.vhost_vsock_err = 0;
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "cvm-vsockd")->status, CHECK_WARN);
    ck_assert_int_eq(find(lines, n, "vhost-vsock")->status, CHECK_OK);
    ck_assert_str_eq(find(lines, n, "vhost-vsock")->detail, "kernel vsock possible");
}
END_TEST

START_TEST(test_cgroup_and_containerd)
{
    struct host_facts f;
    healthy(&f);
    snprintf(f.cgroup_controllers, sizeof(f.cgroup_controllers), "cpuset io cpuacct");
    size_t n = build(&f);
    const struct check_line *c = find(lines, n, "cgroup");
    ck_assert_int_eq(c->status, CHECK_WARN);
    ck_assert_ptr_nonnull(strstr(c->detail, "missing: cpu, memory, pids"));

    healthy(&f);
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "cgroup")->status, CHECK_OK);

    healthy(&f);
    f.cgroup_err = -ENOENT;
    f.containerd.path[0] = '\0';
    n = build(&f);
    ck_assert_int_eq(find(lines, n, "cgroup")->status, CHECK_WARN);
    ck_assert_int_eq(find(lines, n, "containerd")->status, CHECK_WARN);
    ck_assert(check_report_can_run(lines, n));
}
END_TEST

START_TEST(test_untrusted_text_is_sanitized)
{
    struct host_facts f;
    char buf[64];
    healthy(&f);
    snprintf(f.qemu.version, sizeof(f.qemu.version), "QEMU \x1b[31mred\x07\n2nd line");
    size_t n = build(&f);
    const char *d = find(lines, n, "qemu")->detail;
    for (const char *p = d; *p; p++)
        ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "byte %02x", *p);
    ck_assert_ptr_nonnull(strstr(d, "QEMU ?[31mred??2nd line"));

    check_first_line(buf, sizeof(buf), "\n\n  virtiofsd\tversion 7\xff\r\nCopyright", 44);
    ck_assert_str_eq(buf, "virtiofsd version 7?");
    check_first_line(buf, 5, "abcdefgh", 8);
    ck_assert_str_eq(buf, "abcd");
    check_first_line(buf, sizeof(buf), NULL, 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_help_tokens)
{
    ck_assert(check_help_has(device_help, "vhost-vsock-pci"));
    ck_assert(!check_help_has("name \"vhost-vsock-pci-non-transitional\"", "vhost-vsock-pci"));
    ck_assert(!check_help_has("name \"xvhost-vsock-pci\"", "vhost-vsock-pci"));
    ck_assert(check_help_has(machine_help, "microvm"));
    ck_assert(!check_help_has(NULL, "microvm"));
    ck_assert(check_help_has(object_help, "memory-backend-memfd"));
}
END_TEST

START_TEST(test_text_render)
{
    struct host_facts f;
    char *out = NULL;
    size_t len = 0;
    healthy(&f);
    pvm(&f.accel);
    size_t n = build(&f);
    FILE *m = open_memstream(&out, &len);
    ck_assert_ptr_nonnull(m);
    check_report_text(m, &f, lines, n);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(out, "warn  accel: tcg: /dev/kvm is served by kvm_pvm, which "
                                      "needs a PVM guest kernel (auto)\n"));
    ck_assert_ptr_nonnull(strstr(out, "ok    qemu: QEMU emulator version 7.2.22 "
                                      "(/usr/bin/qemu-system-x86_64)\n"));
    ck_assert_ptr_nonnull(strstr(out, "=> sandboxes can run here (accel tcg"));
    free(out);
}
END_TEST

static void fake_boot(struct boot_result *b)
{
    const uint64_t ms = 1000000u, t0 = 1000 * ms;
    *b = (struct boot_result){0};
    boot_phases_init(&b->phases, t0);
    boot_phases_mark(&b->phases, BOOT_QEMU_SPAWNED, t0 + 5 * ms);
    boot_phases_mark(&b->phases, BOOT_QMP_READY, t0 + 40 * ms);
    boot_phases_mark(&b->phases, BOOT_CONSOLE, t0 + 400 * ms);
    /* guest: init at 1000 ms uptime, serving at 1200, answered at 1300 */
    boot_phases_agent(&b->phases, t0 + 2000 * ms, 1000 * ms, 1200 * ms, 1300 * ms);
    b->up = true;
}

START_TEST(test_boot_line)
{
    struct boot_result b;
    struct check_line l;
    fake_boot(&b);
    check_report_boot_line(&b, &l);
    ck_assert_str_eq(l.name, "boot");
    ck_assert_int_eq(l.status, CHECK_OK);
    ck_assert_ptr_nonnull(strstr(l.detail, "qemu +5 ms, qmp +40 ms, console +400 ms, init +1700 ms"));
    ck_assert_ptr_nonnull(strstr(l.detail, "agent +2000 ms"));

    b.up = false;
    snprintf(b.detail, sizeof(b.detail), "stalled before the guest kernel's first output");
    check_report_boot_line(&b, &l);
    ck_assert_int_eq(l.status, CHECK_FAIL);
    ck_assert_str_eq(l.detail, "stalled before the guest kernel's first output");
}
END_TEST

START_TEST(test_json_parses_and_has_fields)
{
    struct host_facts f;
    struct boot_result b;
    json_error_t jerr;
    healthy(&f);
    pvm(&f.accel);
    snprintf(f.config_path, sizeof(f.config_path), "/etc/x\x01.json");
    size_t n = build(&f);
    fake_boot(&b);
    check_report_boot_line(&b, &lines[n++]);

    json_t *doc = check_report_json(&f, lines, n, &b);
    ck_assert_ptr_nonnull(doc);
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    ck_assert_ptr_nonnull(text);
    json_t *back = json_loads(text, 0, &jerr);
    free(text);
    ck_assert_msg(back != NULL, "%s", jerr.text);

    json_t *checks = json_object_get(back, "checks");
    ck_assert(json_is_array(checks));
    ck_assert_uint_eq(json_array_size(checks), n);
    json_t *first = json_array_get(checks, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "name")), "accel");
    ck_assert_str_eq(json_string_value(json_object_get(first, "status")), "warn");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(first, "detail")), "kvm_pvm"));
    ck_assert(json_is_true(json_object_get(back, "can_run")));
    ck_assert_str_eq(json_string_value(json_object_get(back, "accel")), "tcg");
    ck_assert_str_eq(json_string_value(json_object_get(back, "accel_provider")), "kvm_pvm");
    ck_assert_str_eq(json_string_value(json_object_get(back, "config")), "/etc/x?.json");

    json_t *boot = json_object_get(back, "boot");
    ck_assert(json_is_object(boot));
    ck_assert_str_eq(json_string_value(json_object_get(boot, "status")), "ok");
    json_t *ph = json_object_get(boot, "phases_ms");
    ck_assert_int_eq(json_integer_value(json_object_get(ph, "qemu")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(ph, "console")), 400);
    ck_assert_int_eq(json_integer_value(json_object_get(ph, "init")), 1700);
    ck_assert_int_eq(json_integer_value(json_object_get(ph, "agent")), 2000);
    ck_assert_ptr_null(json_object_get(ph, "container"));
    ck_assert_int_eq(json_integer_value(json_object_get(boot, "guest_init_ms")), 1000);
    json_decref(back);

    /* without --boot: "boot" is null */
    doc = check_report_json(&f, lines, n - 1, NULL);
    ck_assert(json_is_null(json_object_get(doc, "boot")));
    json_decref(doc);
}
END_TEST

static Suite *cvm_check_suite(void)
{
    Suite *s = suite_create("cvm_check");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, test_order_and_all_lines);
    tcase_add_test(tc, test_qemu_source_cmp);
    tcase_add_test(tc, test_qemu_build_line);
    tcase_add_test(tc, test_pvm_host_warns_tcg_and_can_run);
    tcase_add_test(tc, test_pvm_forced_kvm_is_a_warn_naming_kvm_pvm);
    tcase_add_test(tc, test_hardware_kvm_ok);
    tcase_add_test(tc, test_no_dev_kvm_warns_tcg);
    tcase_add_test(tc, test_eacces_names_the_provider);
    tcase_add_test(tc, test_forced_kvm_without_dev_kvm_fails);
    tcase_add_test(tc, test_qemu_without_vhost_user_fs_fails);
    tcase_add_test(tc, test_vhost_vsock_pci_missing_is_only_a_warn_without_dev);
    tcase_add_test(tc, test_qemu_missing_and_no_microvm);
    tcase_add_test(tc, test_initrd_modules_mismatch_fails);
    tcase_add_test(tc, test_initrd_variants);
    tcase_add_test(tc, test_config_parse_error_fails);
    tcase_add_test(tc, test_vsock_modes_and_vsockd);
    tcase_add_test(tc, test_cgroup_and_containerd);
    tcase_add_test(tc, test_untrusted_text_is_sanitized);
    tcase_add_test(tc, test_help_tokens);
    tcase_add_test(tc, test_text_render);
    tcase_add_test(tc, test_boot_line);
    tcase_add_test(tc, test_json_parses_and_has_fields);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(cvm_check_suite)

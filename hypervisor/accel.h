/* Which accelerator QEMU gets: KVM only when it can run our (stock, non-PVM) guest kernel.
 *
 * "/dev/kvm opens" is not enough. On a PVM host (kvm_pvm: KVM for hosts without hardware
 * virtualization) /dev/kvm opens and KVM_CREATE_VM works, but a stock guest kernel hangs right
 * after the boot stub, silently and forever; cloud VMs without nested virtualization and hosts
 * whose /dev/kvm is not ours to use look similar. So the decision is made from what serves
 * /dev/kvm: a pure function of probed facts (accel_decide), unit-tested over a table of hosts,
 * and one effectful probe (accel_probe). */
#ifndef CVM_ACCEL_H
#define CVM_ACCEL_H

#include <stdbool.h>
#include <stddef.h>

enum hv_accel {
    HV_ACCEL_AUTO, /* KVM when it can run our guest (see accel_decide), else TCG */
    HV_ACCEL_KVM,  /* KVM, or fail when /dev/kvm cannot be used at all */
    HV_ACCEL_TCG,  /* software emulation */
    _HV_ACCEL_MAX,
};

/* What the host says, as accel_probe() reads it. Errors are negative errnos, 0 = success. */
struct accel_facts {
    int kvm_open_err;      /* open("/dev/kvm", O_RDWR): 0, -ENOENT (no device), -EACCES, ... */
    int kvm_api_version;   /* KVM_GET_API_VERSION (12 on every supported kernel); 0: not read */
    int kvm_create_vm_err; /* KVM_CREATE_VM: 0 or -errno; only meaningful when the open worked */
    bool cpu_vmx, cpu_svm; /* hardware virtualization flags in /proc/cpuinfo */
    bool cpu_hypervisor;   /* "hypervisor" flag: this host is itself a guest (nested KVM) */
    bool mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm; /* /sys/module/<name> exists */
};

struct accel_choice {
    bool kvm;             /* true: -accel kvm -cpu host; false: -accel tcg */
    int err;              /* 0, or -errno when the requested accelerator cannot work at all
                           (accel=kvm without a usable /dev/kvm): Create must fail */
    bool warn;            /* the choice works but is slow or suspicious (TCG; forced KVM on PVM) */
    const char *provider; /* what serves /dev/kvm: kvm_intel, kvm_amd, kvm_pvm, unknown, none */
    char
        reason[256]; /* one line: "/dev/kvm is served by kvm_pvm, which needs a PVM guest kernel" */
};

/* PURE: the accelerator for `want` on a host with facts f. Always fills out; returns out->err. */
int accel_decide(enum hv_accel want, const struct accel_facts *f, struct accel_choice *out);

/* PURE: the flags line of the first CPU in a /proc/cpuinfo text -> vmx/svm/hypervisor. */
void accel_cpuinfo_flags(const char *cpuinfo, bool *vmx, bool *svm, bool *hypervisor);

/* Effectful: open /dev/kvm, KVM_GET_API_VERSION, KVM_CREATE_VM (the VM fd is closed at once),
 * /proc/cpuinfo flags, /sys/module/kvm_{intel,amd,pvm}. Never fails: what cannot be read is
 * recorded as absent. */
void accel_probe(struct accel_facts *f);

const char *hv_accel_name(enum hv_accel a); /* "auto" | "kvm" | "tcg" */
int hv_accel_from_string(const char *s);    /* enum value or -EINVAL */

#endif

/* Accelerator choice: the pure decision and the host probe. See accel.h. */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

static const char *const accel_names[_HV_ACCEL_MAX] = {"auto", "kvm", "tcg"};

const char *hv_accel_name(enum hv_accel a)
{
    return (unsigned)a < _HV_ACCEL_MAX ? accel_names[a] : "invalid";
}

int hv_accel_from_string(const char *s)
{
    for (int i = 0; s && i < _HV_ACCEL_MAX; i++)
        if (strcmp(s, accel_names[i]) == 0)
            return i;
    return -EINVAL;
}

static const char *provider_of(const struct accel_facts *f)
{
    if (f->kvm_open_err == -ENOENT)
        return "none";
    /* x86 KVM has one vendor module at a time: the one loaded is the one serving /dev/kvm. */
    if (f->mod_kvm_pvm)
        return "kvm_pvm";
    if (f->mod_kvm_intel)
        return "kvm_intel";
    if (f->mod_kvm_amd)
        return "kvm_amd";
    return "unknown";
}

static bool has_hw_virt(const struct accel_facts *f)
{
    return f->cpu_vmx || f->cpu_svm || f->mod_kvm_intel || f->mod_kvm_amd;
}

/* Why auto must not use KVM here, or NULL when it can. */
static const char *kvm_unfit(const struct accel_facts *f, char *buf, size_t n)
{
    if (f->kvm_open_err == -ENOENT)
        return "no /dev/kvm";
    if (f->mod_kvm_pvm)
        return "/dev/kvm is served by kvm_pvm, which needs a PVM guest kernel";
    if (f->kvm_open_err) {
        snprintf(buf, n, "/dev/kvm: %s (the shim needs read-write access to it)",
                 strerror(-f->kvm_open_err));
        return buf;
    }
    if (f->kvm_create_vm_err) {
        snprintf(buf, n, "/dev/kvm opens but KVM_CREATE_VM fails: %s",
                 strerror(-f->kvm_create_vm_err));
        return buf;
    }
    if (!has_hw_virt(f))
        return "/dev/kvm has no hardware virtualization behind it (no vmx/svm in /proc/cpuinfo, "
               "no kvm_intel/kvm_amd module)";
    return NULL;
}

static void kvm_basis(const struct accel_facts *f, char *buf, size_t n)
{
    const char *flag = f->cpu_vmx ? "vmx" : f->cpu_svm ? "svm" : "no vmx/svm flag";
    snprintf(buf, n, "hardware virtualization (%s, %s)%s", flag, provider_of(f),
             f->cpu_hypervisor ? ", nested: this host is itself a guest" : "");
}

int accel_decide(enum hv_accel want, const struct accel_facts *f, struct accel_choice *out)
{
    char why[200], basis[160];
    const char *unfit = kvm_unfit(f, why, sizeof(why));

    *out = (struct accel_choice){.provider = provider_of(f)};
    switch (want) {
    case HV_ACCEL_TCG:
        out->warn = true;
        snprintf(out->reason, sizeof(out->reason), "forced by \"accel\": \"tcg\"%s%s",
                 unfit ? "; KVM would not be used anyway: " : "", unfit ? unfit : "");
        return 0;
    case HV_ACCEL_KVM:
        if (f->kvm_open_err || f->kvm_create_vm_err) {
            /* say what stops KVM itself, not what makes it unfit for auto */
            out->err = f->kvm_open_err ? f->kvm_open_err : f->kvm_create_vm_err;
            if (f->kvm_open_err == -ENOENT)
                snprintf(out->reason, sizeof(out->reason), "\"accel\": \"kvm\" but no /dev/kvm");
            else if (f->kvm_open_err)
                snprintf(out->reason, sizeof(out->reason), "\"accel\": \"kvm\" but /dev/kvm: %s",
                         strerror(-f->kvm_open_err));
            else
                snprintf(out->reason, sizeof(out->reason),
                         "\"accel\": \"kvm\" but KVM_CREATE_VM fails: %s",
                         strerror(-f->kvm_create_vm_err));
            return out->err;
        }
        out->kvm = true;
        if (unfit) {
            /* The user asked for it: try, and let the boot watchdog name the silent console. */
            out->warn = true;
            snprintf(out->reason, sizeof(out->reason),
                     "forced by \"accel\": \"kvm\" although %s (a stock guest kernel may hang)",
                     unfit);
        } else {
            kvm_basis(f, basis, sizeof(basis));
            snprintf(out->reason, sizeof(out->reason), "forced by \"accel\": \"kvm\"; %s", basis);
        }
        return 0;
    case HV_ACCEL_AUTO:
    default:
        if (unfit) {
            out->warn = true;
            snprintf(out->reason, sizeof(out->reason), "%s", unfit);
            return 0;
        }
        out->kvm = true;
        kvm_basis(f, out->reason, sizeof(out->reason));
        return 0;
    }
}

/* Whole-word match in a space-separated flag list ending at '\n' or '\0'. */
static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p && *p != '\n';) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n')
            e++;
        if ((size_t)(e - p) == wl && memcmp(p, word, wl) == 0)
            return true;
        p = e;
    }
    return false;
}

void accel_cpuinfo_flags(const char *cpuinfo, bool *vmx, bool *svm, bool *hypervisor)
{
    *vmx = *svm = *hypervisor = false;
    for (const char *line = cpuinfo; line && *line;) {
        if (strncmp(line, "flags", 5) == 0) {
            const char *colon = strchr(line, ':');
            const char *nl = strchr(line, '\n');
            if (colon && (!nl || colon < nl)) {
                *vmx = has_word(colon + 1, "vmx");
                *svm = has_word(colon + 1, "svm");
                *hypervisor = has_word(colon + 1, "hypervisor");
                return; /* the first CPU speaks for all */
            }
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
}

static bool module_loaded(const char *name)
{
    char p[64];
    struct stat st;
    snprintf(p, sizeof(p), "/sys/module/%s", name);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void accel_probe(struct accel_facts *f)
{
    _cleanup_close_ int kvm = -EBADF, cpu = -EBADF;
    char text[16384];
    ssize_t n;

    *f = (struct accel_facts){0};
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        f->kvm_open_err = -errno;
    } else {
        int v = ioctl(kvm, KVM_GET_API_VERSION, 0);
        f->kvm_api_version = v > 0 ? v : 0;
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0)
            f->kvm_create_vm_err = -errno;
        else
            close(vm);
    }
    cpu = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    if (cpu >= 0 && (n = read_all(cpu, text, sizeof(text) - 1)) > 0) {
        text[n] = '\0';
        accel_cpuinfo_flags(text, &f->cpu_vmx, &f->cpu_svm, &f->cpu_hypervisor);
    }
    f->mod_kvm_intel = module_loaded("kvm_intel");
    f->mod_kvm_amd = module_loaded("kvm_amd");
    f->mod_kvm_pvm = module_loaded("kvm_pvm");
}

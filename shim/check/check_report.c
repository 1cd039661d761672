/* cvm-check's verdicts: facts in, lines out. See check_report.h. */
#include "check_report.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cleanup.h"
#include "guest_image.h"

struct out {
    struct check_line *lines;
    size_t max, n;
};

const char *check_status_name(enum check_status s)
{
    switch (s) {
    case CHECK_OK: return "ok";
    case CHECK_WARN: return "warn";
    default: return "fail";
    }
}

void check_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = *s == '\t' ? ' ' : '?';
}

void check_first_line(char *dst, size_t n, const char *src, size_t len)
{
    size_t i = 0, o = 0;
    if (!n)
        return;
    dst[0] = '\0';
    if (!src)
        return;
    /* skip blank lines and leading blanks */
    while (i < len && (src[i] == '\n' || src[i] == '\r' || src[i] == ' ' || src[i] == '\t'))
        i++;
    for (; i < len && src[i] != '\n' && src[i] != '\r' && src[i] != '\0' && o + 1 < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = c == '\t' ? ' ' : (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

static bool token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

bool check_help_has(const char *text, const char *name)
{
    size_t nl = strlen(name);
    if (!text || !nl)
        return false;
    for (const char *p = text; (p = strstr(p, name)); p++)
        if ((p == text || !token_char(p[-1])) && !token_char(p[nl]))
            return true;
    return false;
}

/* Whole word in a space-separated list. */
static bool has_word(const char *list, const char *word)
{
    return check_help_has(list, word);
}

static void __attribute__((format(printf, 4, 5)))
add(struct out *o, const char *name, enum check_status st, const char *fmt, ...)
{
    struct check_line *l;
    va_list ap;
    if (o->n >= o->max)
        return;
    l = &o->lines[o->n++];
    l->name = name;
    l->status = st;
    va_start(ap, fmt);
    vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
    va_end(ap);
    check_sanitize(l->detail);
}

static const char *errstr(int r)
{
    return strerror(r < 0 ? -r : r);
}

static void accel_line(struct out *o, const struct host_facts *f)
{
    struct accel_choice ch;
    char prov[64] = "";
    int r = accel_decide(f->want, &f->accel, &ch);

    /* Name what serves /dev/kvm when the reason does not already. */
    if (strcmp(ch.provider, "none") != 0 && !strstr(ch.reason, ch.provider))
        snprintf(prov, sizeof(prov), "; /dev/kvm: %s", ch.provider);
    if (r < 0)
        add(o, "accel", CHECK_FAIL, "kvm unusable: %s (%s%s)", ch.reason, hv_accel_name(f->want),
            prov);
    else
        add(o, "accel", ch.warn ? CHECK_WARN : CHECK_OK, "%s: %s (%s%s)", ch.kvm ? "kvm" : "tcg",
            ch.reason, hv_accel_name(f->want), prov);
}

/* Whether the VM's vsock will go through cvm-vsockd (hv's auto rule). */
static bool uses_hybrid(const struct host_facts *f)
{
    return f->vsock_mode == HV_VSOCK_HYBRID ||
           (f->vsock_mode == HV_VSOCK_AUTO && f->vhost_vsock_err != 0);
}

static void vhost_lines(struct out *o, const struct host_facts *f)
{
    if (f->vhost_vsock_err == 0)
        add(o, "vhost-vsock", CHECK_OK, "kernel vsock possible%s",
            f->vsock_mode == HV_VSOCK_HYBRID
                ? " (but \"vsock_mode\": \"hybrid\": cvm-vsockd is used)"
                : "");
    else if (f->vsock_mode == HV_VSOCK_KERNEL)
        add(o, "vhost-vsock", CHECK_FAIL,
            "/dev/vhost-vsock: %s, but \"vsock_mode\": \"kernel\" needs it (use \"auto\" for "
            "hybrid vsock through cvm-vsockd)",
            errstr(f->vhost_vsock_err));
    else
        add(o, "vhost-vsock", CHECK_WARN,
            "/dev/vhost-vsock: %s: hybrid vsock through cvm-vsockd "
            "will be used",
            errstr(f->vhost_vsock_err));

    if (f->vhost_net_err == 0)
        add(o, "vhost-net", CHECK_OK, "/dev/vhost-net opens: in-kernel virtio-net possible");
    else
        add(o, "vhost-net", CHECK_WARN, "/dev/vhost-net: %s: virtio-net in userspace",
            errstr(f->vhost_net_err));
}

static void cgroup_line(struct out *o, const struct host_facts *f)
{
    static const char *const want[] = {"cpu", "memory", "pids"};
    char missing[64] = "";
    if (f->cgroup_err) {
        add(o, "cgroup", CHECK_WARN,
            "/sys/fs/cgroup is not cgroup v2 (cgroup.controllers: %s): "
            "a cgroup v1 or hybrid hierarchy",
            errstr(f->cgroup_err));
        return;
    }
    for (size_t i = 0; i < ELEMENTSOF(want); i++)
        if (!has_word(f->cgroup_controllers, want[i]))
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
                     missing[0] ? ", " : "", want[i]);
    if (missing[0])
        add(o, "cgroup", CHECK_WARN, "cgroup v2, controllers: %s; missing: %s",
            f->cgroup_controllers[0] ? f->cgroup_controllers : "(none)", missing);
    else
        add(o, "cgroup", CHECK_OK, "cgroup v2, controllers: %s", f->cgroup_controllers);
}

/* A program that must run: fail unless it did and said something. Returns true when usable. */
static bool tool_line(struct out *o, const char *name, const struct tool_facts *t,
                      const char *version_flag, enum check_status missing_status,
                      const char *missing_hint)
{
    if (!t->path[0]) {
        add(o, name, missing_status, "not found%s", missing_hint);
        return false;
    }
    if (t->err) {
        add(o, name, missing_status, "%s: %s%s", t->path,
            t->err == -ETIMEDOUT ? "timed out" : errstr(t->err), missing_hint);
        return false;
    }
    if (t->status != 0) {
        add(o, name, missing_status, "%s %s %s %d: %s", t->path, version_flag,
            t->status < 0 ? "was killed" : "exited", t->status,
            t->version[0] ? t->version : "(no output)");
        return false;
    }
    add(o, name, CHECK_OK, "%s (%s)", t->version[0] ? t->version : "(no version output)", t->path);
    return true;
}

static void cat(char *buf, size_t n, const char *what)
{
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "%s%s", l ? ", " : "", what);
}

#define QEMU_OURS_TAG ", containerd-shim-cvm-v1)"

/* "(Debian <v>" up to ',' or ')' of a -version line into v; a trailing "+b<digits>" (a binNMU:
 * the same source rebuilt) dropped when strip_binnmu. */
static int debian_version(const char *line, bool strip_binnmu, char *v, size_t n)
{
    const char *s = strstr(line, "(Debian ");
    size_t l;
    if (!s)
        return -EINVAL;
    s += strlen("(Debian ");
    l = strcspn(s, ",)");
    if (l == 0 || s[l] == '\0' || l >= n)
        return -EINVAL;
    memcpy(v, s, l);
    v[l] = '\0';
    if (strip_binnmu) {
        char *b = strrchr(v, '+');
        if (b && b[1] == 'b' && b[2] && strspn(b + 2, "0123456789") == strlen(b + 2))
            *b = '\0';
    }
    return 0;
}

int check_qemu_source_cmp(const char *ours, const char *debian, char *ours_src, size_t n)
{
    char d[CHECK_TEXT_MAX];
    if (!strstr(ours, QEMU_OURS_TAG) || debian_version(ours, false, ours_src, n) < 0 ||
        debian_version(debian, true, d, sizeof(d)) < 0)
        return -EINVAL;
    return strcmp(ours_src, d) != 0;
}

/* Which QEMU the shim runs, when the config left it to the shim: ours (the memory figures of
 * README "Memory" assume it) built from the source of the qemu-system-x86 installed (Debian's
 * security fixes reach ours only through a rebuild), or Debian's because ours is missing. */
static void qemu_build_line(struct out *o, const struct host_facts *f, bool qemu_ok)
{
    char src[CHECK_TEXT_MAX];
    int r;
    if (!qemu_ok || !f->qemu_discovered)
        return;
    if (!strstr(f->qemu.version, QEMU_OURS_TAG)) {
        add(o, "qemu-build", CHECK_WARN,
            "Debian's, not ours (hypervisor/qemu/build.sh; make install puts it in "
            "<prefix>/libexec/containerd-shim-cvm-v1): ~8 MiB more host memory per sandbox");
        return;
    }
    if (f->distro_qemu.err || f->distro_qemu.status != 0) {
        add(o, "qemu-build", CHECK_WARN,
            "ours; Debian's %s does not run, so its version cannot be compared", CFG_DISTRO_QEMU);
        return;
    }
    r = check_qemu_source_cmp(f->qemu.version, f->distro_qemu.version, src, sizeof(src));
    if (r < 0)
        add(o, "qemu-build", CHECK_WARN, "ours; no Debian version to compare in %s",
            f->distro_qemu.version);
    else if (r > 0)
        add(o, "qemu-build", CHECK_WARN,
            "ours is built from Debian's qemu %s, the installed qemu-system-x86 is %s: "
            "`make install` rebuilds ours from it (security fixes reach ours only so)",
            src, f->distro_qemu.version);
    else
        add(o, "qemu-build", CHECK_OK,
            "ours, built from Debian's qemu %s, the source of the qemu-system-x86 installed", src);
}

static void qemu_devices_line(struct out *o, const struct host_facts *f, bool qemu_ok)
{
    static const char *const devices[] = {"vhost-user-fs-pci", "vhost-user-vsock-pci",
                                          "vhost-vsock-pci", "virtio-net-pci"};
    char missing[384] = "", optional[256] = "", what[96];
    bool hybrid = uses_hybrid(f);

    if (!qemu_ok) {
        add(o, "qemu-devices", CHECK_FAIL, "not checked: qemu does not run");
        return;
    }
    if (!f->machine_help)
        cat(missing, sizeof(missing), "(-machine help failed)");
    else if (!check_help_has(f->machine_help, "microvm"))
        cat(missing, sizeof(missing), "machine microvm");
    if (!f->device_help)
        cat(missing, sizeof(missing), "(-device help failed)");
    for (size_t i = 0; f->device_help && i < ELEMENTSOF(devices); i++) {
        if (check_help_has(f->device_help, devices[i]))
            continue;
        snprintf(what, sizeof(what), "device %s", devices[i]);
        /* Only one of the two vsock devices is used: the other is a nicety. */
        bool spare = (strcmp(devices[i], "vhost-vsock-pci") == 0 && hybrid) ||
                     (strcmp(devices[i], "vhost-user-vsock-pci") == 0 && !hybrid);
        cat(spare ? optional : missing, spare ? sizeof(optional) : sizeof(missing), what);
    }
    if (!f->object_help)
        cat(missing, sizeof(missing), "(-object help failed)");
    else if (!check_help_has(f->object_help, "memory-backend-memfd"))
        cat(missing, sizeof(missing), "object memory-backend-memfd");

    if (missing[0])
        add(o, "qemu-devices", CHECK_FAIL, "qemu lacks %s%s%s", missing,
            optional[0] ? "; also " : "", optional);
    else if (optional[0])
        add(o, "qemu-devices", CHECK_WARN,
            "microvm and the devices we use are there; lacks %s "
            "(not needed: %s vsock is used)",
            optional, hybrid ? "hybrid" : "kernel");
    else
        add(o, "qemu-devices", CHECK_OK,
            "microvm, vhost-user-fs-pci, vhost-user-vsock-pci, "
            "vhost-vsock-pci, virtio-net-pci, memory-backend-memfd");
}

static void vsockd_line(struct out *o, const struct host_facts *f)
{
    const struct tool_facts *t = &f->vsockd;
    bool hybrid = uses_hybrid(f);
    if (!t->path[0] || t->err) {
        char why[CFG_PATH_MAX + 64];
        if (t->path[0])
            snprintf(why, sizeof(why), "%s: %s", t->path, errstr(t->err));
        else
            snprintf(why, sizeof(why), "not found next to this binary nor on PATH");
        add(o, "cvm-vsockd", hybrid ? CHECK_FAIL : CHECK_WARN, "%s (%s)", why,
            hybrid ? "needed for hybrid vsock" : "not needed while kernel vsock is used");
        return;
    }
    add(o, "cvm-vsockd", CHECK_OK, "%s%s", t->path, hybrid ? "" : " (not used: kernel vsock)");
}

static void kernel_line(struct out *o, const struct image_facts *k)
{
    if (k->err) {
        add(o, "kernel", CHECK_FAIL, "%s", k->err_msg[0] ? k->err_msg : errstr(k->err));
        return;
    }
    switch (k->kind) {
    case GK_BZIMAGE:
        if (k->release_err == 0)
            add(o, "kernel", CHECK_OK, "bzImage, release %s (%s)", k->release, k->path);
        else
            add(o, "kernel", CHECK_OK, "bzImage, release unknown (%s)", k->path);
        break;
    case GK_ELF:
        if (!k->pvh)
            add(o, "kernel", CHECK_FAIL,
                "ELF vmlinux without a PVH entry note (CONFIG_PVH): "
                "QEMU cannot boot it (%s)",
                k->path);
        else if (k->release_err == 0)
            add(o, "kernel", CHECK_OK, "ELF vmlinux (PVH), release %s (%s)", k->release, k->path);
        else
            add(o, "kernel", CHECK_OK, "ELF vmlinux (PVH), release unknown (%s)", k->path);
        break;
    default:
        add(o, "kernel", CHECK_FAIL, "%s is neither a bzImage nor an ELF vmlinux", k->path);
        break;
    }
}

static void initrd_line(struct out *o, const struct image_facts *k, const struct image_facts *i)
{
    const char *kind = guest_initrd_kind_name((enum guest_initrd_kind)i->kind);
    const char *note = i->note[0] ? i->note : errstr(i->release_err);
    bool krel = !k->err && k->release_err == 0 && k->release[0];

    if (i->err) {
        add(o, "initrd", CHECK_FAIL, "%s", i->err_msg[0] ? i->err_msg : errstr(i->err));
        return;
    }
    if (i->kind == GI_UNKNOWN) {
        add(o, "initrd", CHECK_FAIL,
            "%s is not an initrd (neither a newc cpio nor a compressed "
            "one)",
            i->path);
        return;
    }
    switch (i->release_err) {
    case 0:
        if (krel && strcmp(i->release, k->release) != 0)
            add(o, "initrd", CHECK_FAIL,
                "initrd modules are for %s, kernel is %s (%s, %s): set "
                "\"kernel\" to the kernel the initrd was built for",
                i->release, k->release, i->path, k->path);
        else if (!krel)
            add(o, "initrd", CHECK_WARN,
                "%s, modules for %s; the kernel's release is unknown, "
                "so they could not be compared (%s)",
                kind, i->release, i->path);
        else
            add(o, "initrd", CHECK_OK, "%s, modules for %s, matching the kernel (%s)", kind,
                i->release, i->path);
        break;
    case -ENOENT:
        /* Fine for a kernel with everything built in (ours: an ELF vmlinux); a distro bzImage
         * needs its vsock/virtio-fs modules, make builds initrd-<release>.img for it. */
        if (!k->err && k->kind == GK_BZIMAGE)
            add(o, "initrd", CHECK_WARN,
                "%s, no modules, but the kernel is a bzImage%s%s, which "
                "usually needs its virtio/vsock modules: use an initrd-<release>.img with them "
                "(%s)",
                kind, krel ? " " : "", krel ? k->release : "", i->path);
        else
            add(o, "initrd", CHECK_OK, "%s, no modules%s%s%s (%s)", kind, krel ? ": kernel " : "",
                krel ? k->release : "", krel ? " has everything built in" : "", i->path);
        break;
    case -EOPNOTSUPP:
        add(o, "initrd", CHECK_OK,
            "%s (modules not checked: only gzip and plain cpio are "
            "unpacked here) (%s)",
            kind, i->path);
        break;
    default:
        add(o, "initrd", CHECK_WARN, "%s, modules release not found: %s (%s)", kind, note, i->path);
        break;
    }
}

static void config_line(struct out *o, const struct host_facts *f)
{
    if (!f->config_path[0])
        add(o, "config", CHECK_OK, "no config file (%s absent): built-in defaults",
            CFG_DEFAULT_PATH);
    else if (f->config_err && f->config_msg[0]) /* cfg_load_file's messages name the file */
        add(o, "config", CHECK_FAIL, "%s%s%s",
            strstr(f->config_msg, f->config_path) ? "" : f->config_path,
            strstr(f->config_msg, f->config_path) ? "" : ": ", f->config_msg);
    else if (f->config_err)
        add(o, "config", CHECK_FAIL, "%s: %s", f->config_path, errstr(f->config_err));
    else
        add(o, "config", CHECK_OK, "%s%s parses", f->config_path,
            f->config_explicit ? " (--config)" : "");
}

size_t check_report_build(const struct host_facts *f, struct check_line *lines, size_t max)
{
    struct out o = {.lines = lines, .max = max};
    bool qemu_ok;

    accel_line(&o, f);
    vhost_lines(&o, f);
    cgroup_line(&o, f);
    qemu_ok = tool_line(&o, "qemu", &f->qemu, "-version", CHECK_FAIL, "");
    qemu_build_line(&o, f, qemu_ok);
    qemu_devices_line(&o, f, qemu_ok);
    tool_line(&o, "virtiofsd", &f->virtiofsd, "--version", CHECK_FAIL, "");
    vsockd_line(&o, f);
    kernel_line(&o, &f->kernel);
    initrd_line(&o, &f->kernel, &f->initrd);
    tool_line(&o, "containerd", &f->containerd, "--version", CHECK_WARN,
              " (not on PATH: this runtime is meant for containerd; other shim v2 clients "
              "can still drive it)");
    config_line(&o, f);
    return o.n;
}

void check_report_boot_line(const struct boot_result *b, struct check_line *line)
{
    struct out o = {.lines = line, .max = 1};
    char phases[CHECK_DETAIL_MAX];
    if (b->up) {
        boot_phases_format(&b->phases, phases, sizeof(phases));
        add(&o, "boot", CHECK_OK, "%s", phases);
    } else {
        add(&o, "boot", CHECK_FAIL, "%s", b->detail[0] ? b->detail : "the VM did not boot");
    }
}

bool check_report_can_run(const struct check_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lines[i].status == CHECK_FAIL)
            return false;
    return true;
}

void check_report_text(FILE *out, const struct host_facts *f, const struct check_line *lines,
                       size_t n)
{
    struct accel_choice ch;
    size_t fails = 0;
    int r = accel_decide(f->want, &f->accel, &ch);

    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%-6s%s: %s\n", check_status_name(lines[i].status), lines[i].name,
                lines[i].detail);
        fails += lines[i].status == CHECK_FAIL;
    }
    if (fails)
        fprintf(out, "=> sandboxes cannot run here: %zu check%s failed\n", fails,
                fails == 1 ? "" : "s");
    else
        fprintf(out, "=> sandboxes can run here (accel %s%s)\n",
                r < 0    ? "?"
                : ch.kvm ? "kvm"
                         : "tcg",
                r == 0 && !ch.kvm ? ": software emulation, slow" : "");
}

static json_t *boot_json(const struct boot_result *b, const struct check_line *line)
{
    json_t *o = json_object(), *ph = json_object();
    const struct boot_phases *p = &b->phases;
    if (!o || !ph) {
        json_decref(o);
        json_decref(ph);
        return NULL;
    }
    for (int i = 0; i < _BOOT_PHASE_MAX; i++)
        if (p->at_ns[i])
            json_object_set_new(
                ph, boot_phase_name((enum boot_phase)i),
                json_integer(p->at_ns[i] > p->start_ns
                                 ? (json_int_t)((p->at_ns[i] - p->start_ns) / 1000000u)
                                 : 0));
    json_object_set_new(o, "status", json_string(check_status_name(line->status)));
    json_object_set_new(o, "detail", json_string(line->detail));
    json_object_set_new(o, "accel", json_string(b->kvm ? "kvm" : "tcg"));
    json_object_set_new(o, "phases_ms", ph);
    json_object_set_new(o, "guest_init_ms",
                        json_integer((json_int_t)(p->guest_init_ns / 1000000u)));
    json_object_set_new(o, "guest_ready_ms",
                        json_integer((json_int_t)(p->guest_ready_ns / 1000000u)));
    return o;
}

json_t *check_report_json(const struct host_facts *f, const struct check_line *lines, size_t n,
                          const struct boot_result *boot)
{
    struct accel_choice ch;
    json_t *doc = json_object(), *arr = json_array();
    int r = accel_decide(f->want, &f->accel, &ch);

    if (!doc || !arr) {
        json_decref(doc);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_pack("{s:s, s:s, s:s}", "name", lines[i].name, "status",
                              check_status_name(lines[i].status), "detail", lines[i].detail);
        if (!c || json_array_append_new(arr, c) < 0)
            goto oom;
    }
    if (json_object_set_new(doc, "checks", arr) < 0) {
        arr = NULL;
        goto oom;
    }
    arr = NULL;
    json_object_set_new(doc, "can_run", json_boolean(check_report_can_run(lines, n)));
    json_object_set_new(doc, "accel", r < 0 ? json_null() : json_string(ch.kvm ? "kvm" : "tcg"));
    json_object_set_new(doc, "accel_provider", json_string(ch.provider));
    json_object_set_new(doc, "accel_wanted", json_string(hv_accel_name(f->want)));
    if (f->config_path[0]) {
        char path[CFG_PATH_MAX];
        snprintf(path, sizeof(path), "%s", f->config_path);
        check_sanitize(path); /* json_string wants UTF-8 */
        json_object_set_new(doc, "config", json_string(path));
    } else {
        json_object_set_new(doc, "config", json_null());
    }
    if (boot) {
        struct check_line bl;
        check_report_boot_line(boot, &bl);
        json_t *b = boot_json(boot, &bl);
        if (!b)
            goto oom;
        json_object_set_new(doc, "boot", b);
    } else {
        json_object_set_new(doc, "boot", json_null());
    }
    return doc;
oom:
    json_decref(arr);
    json_decref(doc);
    return NULL;
}

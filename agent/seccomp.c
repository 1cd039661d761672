/* OCI seccomp section -> libseccomp filter, loaded in the child. Syscall names unknown to
 * this architecture are skipped (runc does the same: profiles list syscalls of every arch). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "child.h"

static uint32_t to_action(enum oci_seccomp_action a, int errno_ret)
{
    switch (a) {
    case OCI_SCMP_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
    case OCI_SCMP_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
    case OCI_SCMP_TRAP: return SCMP_ACT_TRAP;
    case OCI_SCMP_ERRNO: return SCMP_ACT_ERRNO((uint32_t)errno_ret);
    case OCI_SCMP_TRACE: return SCMP_ACT_TRACE((uint32_t)errno_ret);
    case OCI_SCMP_LOG: return SCMP_ACT_LOG;
    case OCI_SCMP_ALLOW: break;
    }
    return SCMP_ACT_ALLOW;
}

static enum scmp_compare to_op(enum oci_seccomp_op op)
{
    switch (op) {
    case OCI_CMP_NE: return SCMP_CMP_NE;
    case OCI_CMP_LT: return SCMP_CMP_LT;
    case OCI_CMP_LE: return SCMP_CMP_LE;
    case OCI_CMP_GE: return SCMP_CMP_GE;
    case OCI_CMP_GT: return SCMP_CMP_GT;
    case OCI_CMP_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
    case OCI_CMP_EQ: break;
    }
    return SCMP_CMP_EQ;
}

int seccomp_load_spec(const struct oci_seccomp *sc, char *msg, size_t msgsz)
{
    uint32_t def = to_action(sc->default_action, sc->default_errno);
    scmp_filter_ctx ctx = seccomp_init(def);
    int r = 0;
    if (!ctx) {
        snprintf(msg, msgsz, "seccomp_init failed");
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->n_arches && r >= 0; i++) {
        uint32_t arch = seccomp_arch_resolve_name(sc->arches[i]);
        if (arch == 0)
            continue; /* an arch libseccomp does not know cannot run here either */
        r = seccomp_arch_add(ctx, arch);
        if (r == -EEXIST)
            r = 0;
        if (r < 0)
            snprintf(msg, msgsz, "adding architecture %s: %s", sc->arches[i], strerror(-r));
    }
    for (size_t i = 0; i < sc->n_rules && r >= 0; i++) {
        const struct oci_seccomp_rule *rule = &sc->rules[i];
        uint32_t act = to_action(rule->action, rule->errno_ret);
        struct scmp_arg_cmp cmp[OCI_MAX_SECCOMP_ARGS];
        if (act == def)
            continue; /* libseccomp refuses rules equal to the default action */
        for (size_t k = 0; k < rule->n_args; k++) {
            const struct oci_seccomp_arg *x = &rule->args[k];
            cmp[k] = (struct scmp_arg_cmp){x->index, to_op(x->op), x->value, x->value_two};
        }
        for (size_t n = 0; n < rule->n_names && r >= 0; n++) {
            int nr = seccomp_syscall_resolve_name(rule->names[n]);
            if (nr == __NR_SCMP_ERROR)
                continue;
            r = seccomp_rule_add_array(ctx, act, nr, (unsigned)rule->n_args, cmp);
            if (r < 0)
                snprintf(msg, msgsz, "rule for %s: %s", rule->names[n], strerror(-r));
        }
    }
    if (r >= 0 && (r = seccomp_load(ctx)) < 0)
        snprintf(msg, msgsz, "loading the filter: %s", strerror(-r));
    seccomp_release(ctx);
    return r;
}

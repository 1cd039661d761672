/* Fuzz agent/oci_spec.c: the input is a config.json (first byte 'P' = a bare process object
 * for exec, 'R' = a LinuxResources object for update; anything else = a whole spec). On
 * success the result must hold the parser's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/oci_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_process(const struct oci_process *p)
{
    if (!p->args || !p->args[0] || p->n_args == 0 || p->args[p->n_args] || !p->env || p->env[p->n_env] ||
        !p->cwd || p->cwd[0] != '/' || p->n_rlimits > OCI_MAX_RLIMITS || p->user.n_gids > OCI_MAX_GIDS ||
        p->user.umask > 0777)
        abort();
    for (size_t i = 0; i < p->n_rlimits; i++)
        if (p->rlimits[i].soft > p->rlimits[i].hard)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cvm_err err = {0};
    if (size > 0 && data[0] == 'P') {
        struct oci_process p;
        if (oci_process_parse((const char *)data + 1, size - 1, &p, &err) == 0) {
            check_process(&p);
            oci_process_done(&p);
        }
        return 0;
    }
    if (size > 0 && data[0] == 'R') {
        struct oci_resources r;
        if (oci_resources_parse((const char *)data + 1, size - 1, &r, &err) == 0)
            oci_resources_done(&r);
        return 0;
    }
    struct oci_spec *s = NULL;
    int r = oci_spec_parse((const char *)data, size, &s, &err);
    if (r < 0) {
        if (s || !memchr(err.msg, '\0', sizeof(err.msg)))
            abort();
        return 0;
    }
    if (s->has_process)
        check_process(&s->process);
    if (!s->root_path || s->n_mounts > OCI_MAX_MOUNTS || s->n_namespaces > OCI_MAX_NAMESPACES)
        abort();
    for (size_t i = 0; i < s->n_mounts; i++)
        if (!s->mounts[i].destination || s->mounts[i].destination[0] != '/' || (s->mounts[i].bind && !s->mounts[i].source))
            abort();
    if (s->seccomp)
        for (size_t i = 0; i < s->seccomp->n_rules; i++)
            for (size_t k = 0; k < s->seccomp->rules[i].n_args; k++)
                if (s->seccomp->rules[i].args[k].index > 5)
                    abort();
    if (s->n_devices > OCI_MAX_DEVICES || s->n_device_rules > OCI_MAX_DEVICE_RULES)
        abort();
    for (size_t i = 0; i < s->n_devices; i++)
        if (!s->devices[i].path || s->devices[i].path[0] != '/' || !strchr("cbp", s->devices[i].type) ||
            s->devices[i].mode > 07777)
            abort();
    for (size_t i = 0; i < s->n_device_rules; i++)
        if (!strchr("acb", s->device_rules[i].type) || s->device_rules[i].access == 0 ||
            s->device_rules[i].access > 7 || s->device_rules[i].major < -1 || s->device_rules[i].minor < -1)
            abort();
    oci_spec_free(s);
    return 0;
}

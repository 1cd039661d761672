/* See host_ns.h. */
#include "task/host_ns.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"

static bool has_ns(const json_t *nss, const char *type)
{
    size_t i;
    json_t *ns;
    json_array_foreach(nss, i, ns)
    {
        const char *t = json_string_value(json_object_get(ns, "type"));
        if (t && strcmp(t, type) == 0)
            return true;
    }
    return false;
}

int host_ns_check(const json_t *spec, bool vm_local, struct cvm_err *err)
{
    static const struct {
        const char *type, *field;
    } kinds[] = {{"network", "hostNetwork"}, {"ipc", "hostIPC"}};
    const json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces");
    if (vm_local)
        return 0;
    for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
        if (!has_ns(nss, kinds[k].type))
            return cvm_err_setc(
                err, RPC_INVALID_ARGUMENT, -EINVAL,
                "linux.namespaces has no %s namespace: the container would share the "
                "node's (%s), which a VM cannot; refused (runtime config "
                "\"host_namespaces\": \"vm\" runs it in the VM's own): invalid argument",
                kinds[k].type, kinds[k].field);
    return 0;
}

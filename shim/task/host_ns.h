/* Host namespaces (Kubernetes hostNetwork, hostIPC; ctr --net-host): a spec without a network
 * or ipc namespace asks to share the node's, which a VM cannot. By default Create refuses it
 * naming the field; with "host_namespaces": "vm" in the runtime config the container gets the
 * VM's own (shared by the pod's containers, not the node's), as an operator chose. A spec
 * without a pid namespace is not refused: it shares the guest's PID namespace, what
 * containerd's own clients expect of a runtime (TestContainerKillInitPidHost), and the agent
 * then treats the init's death as runc's shim does (agent/process.c). */
#ifndef CVM_SHIM_TASK_HOST_NS_H
#define CVM_SHIM_TASK_HOST_NS_H

#include <jansson.h>
#include <stdbool.h>

#include "errmap.h"

/* PURE: 0 when the spec has network and ipc namespace entries (own or joined by path),
 * or when vm_local; else -EINVAL (INVALID_ARGUMENT) naming the first missing one and its
 * Kubernetes field. A spec without linux.namespaces has none of them. */
int host_ns_check(const json_t *spec, bool vm_local, struct cvm_err *err);

#endif

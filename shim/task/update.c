/* containerd.task.v2.Task/Update: new resources for a container, the host cgroup first (when the
 * container's cgroupsPath holds the VM), then the guest's. */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "cgroup/host_cgroup_sandbox.h"
#include "log.h"
#include "task/rpc.h"

#define RESOURCES_MAX (64u * 1024u)

void task_update(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__UpdateTaskRequest, containerd__task__v2__update_task_request,
                 req, call, pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    if (!req->resources || req->resources->value.len == 0) {
        ttrpc_call_reply(call, NULL);
        return;
    }
    if (req->resources->value.len > RESOURCES_MAX)
        return (void)ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT,
                                            "resources too large: invalid argument");
    /* The container whose cgroupsPath holds the VM: its host cgroup first (cgroupfs writes,
     * nothing waits), then the guest's. */
    if (c->sb->host_cg && strcmp(c->sb->host_cg_owner, c->id) == 0) {
        struct cvm_err err = {0};
        int r = host_cgroup_update(c->sb->host_cg, &c->sb->host_ov, req->resources->value.data,
                                   req->resources->value.len, &err);
        if (r < 0) {
            log_error("update %s: %s", c->id, err.msg);
            return (void)ttrpc_call_reply_errno(call, r, &err);
        }
    }
    Cvm__Agent__V1__UpdateContainerRequest ar = CVM__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    ar.resources_json.data = req->resources->value.data;
    ar.resources_json.len = req->resources->value.len;
    task_forward(s, call, c, NULL, "UpdateContainer", &ar, NULL);
}

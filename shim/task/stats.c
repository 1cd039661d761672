/* containerd.task.v2.Task/Stats: the guest cgroup's metrics (io.containerd.cgroups.v2.Metrics). */
#define LOG_MODULE "task"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "task/rpc.h"

static void stats_done(const struct ttrpc_result *res, void *data)
{
    struct agent_op *op = data;
    Cvm__Agent__V1__StatsResponse *sr = NULL;
    if (res->code == 0)
        sr = cvm__agent__v1__stats_response__unpack(NULL, res->len, res->payload);
    if (!sr || !sr->metrics) {
        op_reply_error(op, RPC_NOT_FOUND, "stats: not found");
    } else {
        size_t len = protobuf_c_message_get_packed_size(&sr->metrics->base);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            op_reply_error(op, RPC_RESOURCE_EXHAUSTED, "out of memory");
        else {
            Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
            Containerd__Task__V2__StatsResponse r = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
            any.type_url = "io.containerd.cgroups.v2.Metrics";
            any.value.data = buf;
            any.value.len = protobuf_c_message_pack(&sr->metrics->base, buf);
            r.stats = &any;
            op_reply(op, &r.base);
            free(buf);
        }
    }
    if (sr)
        cvm__agent__v1__stats_response__free_unpacked(sr, NULL);
    op_free(op);
}

void task_stats(struct ttrpc_call *call, const uint8_t *pl, size_t n, void *ud)
{
    struct shim *s = ud;
    TTRPC_DECODE(Containerd__Task__V2__StatsRequest, containerd__task__v2__stats_request, req, call,
                 pl, n);
    struct container *c = task_lookup_container(s, call, req->id);
    if (!c)
        return;
    if (c->init->status == PROC_STOPPED || !c->agent_created)
        return (void)ttrpc_call_reply_error(call, RPC_NOT_FOUND,
                                            "container %s has no stats: not found", c->id);
    Cvm__Agent__V1__ContainerRequest ar = CVM__AGENT__V1__CONTAINER_REQUEST__INIT;
    ar.container_id = c->id;
    task_forward(s, call, c, NULL, "StatsContainer", &ar, stats_done);
}

/* containerd.task.v2.Task (served under containerd.task.v3.Task too, same messages): the method
 * table. Each RPC's handler lives in the file named after it (shim/README.md). */
#include "task/rpc.h"

const struct ttrpc_method task_methods[] = {
    {"State", task_state},
    {"Create", task_create},
    {"Start", task_start},
    {"Delete", task_delete},
    {"Pids", task_pids},
    {"Pause", task_pause},
    {"Resume", task_resume},
    {"Checkpoint", task_checkpoint},
    {"Kill", task_kill},
    {"Exec", task_exec},
    {"ResizePty", task_resize_pty},
    {"CloseIO", task_close_io},
    {"Update", task_update},
    {"Wait", task_wait},
    {"Stats", task_stats},
    {"Connect", task_connect},
    {"Shutdown", task_shutdown},
};
const unsigned task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);

/* containerd 2.x calls a shim whose bootstrap says version 3 as containerd.task.v3.Task: the
 * same methods and messages as v2 (api/runtime/task/v3/shim.proto). */
const char *const task_service_names[TASK_N_SERVICE_NAMES] = {"containerd.task.v2.Task",
                                                              "containerd.task.v3.Task"};

int task_service_register(struct ttrpc_server *srv, void *ud)
{
    for (unsigned i = 0; i < TASK_N_SERVICE_NAMES; i++) {
        int r = ttrpc_server_register(srv, task_service_names[i], task_methods, task_n_methods, ud);
        if (r < 0)
            return r;
    }
    return 0;
}

/* containerd.task.v2.Task (served under containerd.task.v3.Task too, same messages): the method
 * table. Each RPC's handler lives in the file named after it (shim/README.md). */
#include "task/rpc.h"

const struct ttrpc_method task_methods[] = {
    { "State", task_state },         { "Create", task_create },     { "Start", task_start },
    { "Delete", task_delete },       { "Pids", task_pids },         { "Pause", task_pause },
    { "Resume", task_resume },       { "Checkpoint", task_checkpoint }, { "Kill", task_kill },
    { "Exec", task_exec },           { "ResizePty", task_resize_pty }, { "CloseIO", task_close_io },
    { "Update", task_update },       { "Wait", task_wait },         { "Stats", task_stats },
    { "Connect", task_connect },     { "Shutdown", task_shutdown },
};
const unsigned task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);

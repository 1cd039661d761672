/* The cvm.agent.v1.Agent method table: each RPC's handler is in rpc_container.c, rpc_process.c,
 * rpc_net.c or rpc_fresh_code.c (shim/README.md, "Agent RPCs"). */
#include "rpc.h"

#include "cleanup.h"
#include "ttrpc.h"

static const struct ttrpc_method methods[] = {
    {"CreateContainer", rpc_create_container},
    {"StartProcess", rpc_start_process},
    {"ExecProcess", rpc_exec_process},
    {"SignalProcess", rpc_signal_process},
    {"WaitProcess", rpc_wait_process},
    {"ResizeTty", rpc_resize_tty},
    {"CloseStdin", rpc_close_stdin},
    {"PauseContainer", rpc_pause_container},
    {"ResumeContainer", rpc_resume_container},
    {"StatsContainer", rpc_stats_container},
    {"UpdateContainer", rpc_update_container},
    {"ListProcesses", rpc_list_processes},
    {"RemoveContainer", rpc_remove_container},
    {"Health", rpc_health},
    {"Version", rpc_version},
    {"Shutdown", rpc_shutdown},
    {"DeleteProcess", rpc_delete_process},
    {"ConfigureNetwork", rpc_configure_network},
    {"ListNetwork", rpc_list_network},
    {"WaitOOM", rpc_wait_oom},
    {"RunFreshCode", rpc_run_fresh_code},
};

int rpc_register(struct agent *a, struct ttrpc_server *srv)
{
    return ttrpc_server_register(srv, AGENT_SERVICE, methods, ELEMENTSOF(methods), a);
}

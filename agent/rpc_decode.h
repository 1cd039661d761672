/* Request decoding for the rpc_*.c handlers: unpack or answer INVALID_ARGUMENT, freed at
 * scope exit. */
#ifndef CVM_AGENT_RPC_DECODE_H
#define CVM_AGENT_RPC_DECODE_H

#include "agent.pb-c.h"
#include "cleanup.h"
#include "ttrpc.h"

#define RPC_DECODE(Type, prefix, var)                                                             \
    __attribute__((cleanup(prefix##__cleanup))) Type *var = prefix##__unpack(NULL, len, payload); \
    if (!var) {                                                                                   \
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "malformed %s", #Type);                \
        return;                                                                                   \
    }

#define RPC_DEFINE_CLEANUP(Type, prefix)                                                          \
    static inline void prefix##__cleanup(Type **p)                                                \
    {                                                                                             \
        if (*p)                                                                                   \
            prefix##__free_unpacked(*p, NULL);                                                    \
    }

RPC_DEFINE_CLEANUP(Cvm__Agent__V1__CreateContainerRequest, cvm__agent__v1__create_container_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__StartProcessRequest, cvm__agent__v1__start_process_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__ExecProcessRequest, cvm__agent__v1__exec_process_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__SignalProcessRequest, cvm__agent__v1__signal_process_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__WaitProcessRequest, cvm__agent__v1__wait_process_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__ResizeTtyRequest, cvm__agent__v1__resize_tty_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__CloseStdinRequest, cvm__agent__v1__close_stdin_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__HealthRequest, cvm__agent__v1__health_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__ContainerRequest, cvm__agent__v1__container_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__UpdateContainerRequest, cvm__agent__v1__update_container_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__RemoveContainerRequest, cvm__agent__v1__remove_container_request)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__Empty, cvm__agent__v1__empty)
RPC_DEFINE_CLEANUP(Cvm__Agent__V1__DeleteProcessRequest, cvm__agent__v1__delete_process_request)

#endif

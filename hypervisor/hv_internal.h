/* Internal to hypervisor/: shared between hv.c and its helpers. */
#ifndef CVM_HV_INTERNAL_H
#define CVM_HV_INTERNAL_H

#include <stdbool.h>

bool hv_host_vhost_vsock_usable(void);

#endif

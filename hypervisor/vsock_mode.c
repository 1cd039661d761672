/* vsock_mode.h: names of the vsock modes. */
#include "vsock_mode.h"

#include <errno.h>
#include <string.h>

static const char *const mode_names[_HV_VSOCK_MODE_MAX] = {"auto", "kernel", "hybrid"};

const char *hv_vsock_mode_name(enum hv_vsock_mode m)
{
    return (unsigned)m < _HV_VSOCK_MODE_MAX ? mode_names[m] : "invalid";
}

int hv_vsock_mode_from_string(const char *s)
{
    for (int i = 0; s && i < _HV_VSOCK_MODE_MAX; i++)
        if (strcmp(s, mode_names[i]) == 0)
            return i;
    return -EINVAL;
}

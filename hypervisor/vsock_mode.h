/* How the host reaches the guest's vsock: the one type for it, named by the runtime config
 * ("vsock_mode") and resolved by hv_start (hv.h). */
#ifndef CVM_HV_VSOCK_MODE_H
#define CVM_HV_VSOCK_MODE_H

enum hv_vsock_mode {
    HV_VSOCK_AUTO,   /* kernel when /dev/vhost-vsock is usable, else hybrid */
    HV_VSOCK_KERNEL, /* vhost-vsock-pci + AF_VSOCK from the host */
    HV_VSOCK_HYBRID, /* vhost-user-vsock-pci served by cvm-vsockd, unix sockets on the host */
    _HV_VSOCK_MODE_MAX,
};

const char *hv_vsock_mode_name(enum hv_vsock_mode m); /* "auto" | "kernel" | "hybrid" */
int hv_vsock_mode_from_string(const char *s);         /* enum value or -EINVAL */

#endif

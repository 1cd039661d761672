/* vhost-user protocol messages (QEMU docs/interop/vhost-user.rst) and their validation. PURE:
 * vu_msg_check() decides from header, size and fd count alone whether a message is well
 * formed for its request, before any handler looks at the payload. */
#ifndef CVM_VSOCKD_VU_MSG_H
#define CVM_VSOCKD_VU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"

enum vu_request {
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_SLAVE_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_MAX_REQUEST = 41,
};

#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY (1u << 3)

#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9

#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD_MASK (1u << 8)

#define VU_HDR_SIZE 12
#define VU_MAX_PAYLOAD 512 /* largest legal message: config header + 256 bytes */
#define VU_MAX_FDS 8
#define VU_MAX_CONFIG 256
#define VU_CONFIG_HDR 12

struct vu_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
    uint32_t index;
    uint32_t num;
} __attribute__((packed));

struct vu_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
} __attribute__((packed));

struct vu_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} __attribute__((packed));

struct vu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vu_mem_region regions[VQ_MAX_REGIONS];
} __attribute__((packed));

struct vu_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VU_MAX_CONFIG];
} __attribute__((packed));

struct vu_msg {
    struct vu_hdr hdr;
    union {
        uint64_t u64;
        struct vu_vring_state state;
        struct vu_vring_addr addr;
        struct vu_mem_table mem;
        struct vu_config config;
        uint8_t raw[VU_MAX_PAYLOAD];
    } p;
} __attribute__((packed));

/* Header alone: version bits, no REPLY flag from the front end, size <= VU_MAX_PAYLOAD. */
int vu_hdr_check(const struct vu_hdr *h);
/* Whole message: the payload size each request must carry and how many fds may come with it.
 * Returns 0, -EINVAL (malformed) or -EOPNOTSUPP (a request this backend does not implement). */
int vu_msg_check(const struct vu_msg *m, unsigned nfds);
/* SET_MEM_TABLE regions: nonzero sizes, no wrap of gpa/uva/offset + size, no two regions
 * overlapping in guest-physical or QEMU-virtual space. */
int vu_mem_table_check(const struct vu_mem_table *t);
/* SET_VRING_NUM: a power of two in 1..32768. */
bool vu_vring_num_ok(uint32_t num);
/* Reply size expected for GET_CONFIG, and whether its offset/size are inside a config of
 * cfg_len bytes. */
bool vu_config_range_ok(const struct vu_config *c, size_t cfg_len);
const char *vu_request_name(uint32_t req);

#endif

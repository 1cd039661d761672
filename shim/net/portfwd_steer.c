/* Steering every TCP connection to 127.0.0.1:<any port> in a pod netns to one listener, with a
 * BPF sk_lookup program (Linux >= 5.9) attached to that netns.
 *
 * Why sk_lookup and not an iptables/nft REDIRECT: the program runs in the kernel's socket
 * lookup, so the accepted socket keeps its original local address (getsockname() is the
 * destination containerd dialled: no conntrack, no SO_ORIGINAL_DST), no rule text is written
 * into the pod's netfilter tables, no iptables child has to run, and the steering lives exactly
 * as long as the link fd: when the shim closes it (or dies) the kernel detaches the program,
 * so nothing can be left behind in the netns. The program is ten instructions, assembled here
 * (no clang/libbpf at runtime), and checked by the kernel's verifier at load.
 *
 * The program, for each listener lookup in the netns:
 *     if (ctx->protocol != IPPROTO_TCP || ctx->local_ip4 != 127.0.0.1) return SK_PASS;
 *     sk = map_lookup(sockmap, 0); if (!sk) return SK_PASS;
 *     bpf_sk_assign(ctx, sk, 0); bpf_sk_release(sk); return SK_PASS;
 * SK_PASS without an assignment falls through to the ordinary lookup. */
#define LOG_MODULE "portfwd"
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "net/portfwd.h"

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
    return r < 0 ? -errno : (int)r;
}

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int load_prog(int map_fd, char *log, size_t log_len)
{
    const int32_t lo = (int32_t)htonl(INADDR_LOOPBACK);
    const struct bpf_insn prog[] = {
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0), /* r6 = ctx */
        INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
             offsetof(struct bpf_sk_lookup, protocol), 0),
        INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, 0, 16, IPPROTO_TCP), /* -> pass */
        INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
             offsetof(struct bpf_sk_lookup, local_ip4), 0),
        INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, 0, 14, lo), /* -> pass */
        INSN(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -4, 0),    /* key = 0 */
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4), /* r2 = &key */
        INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
        INSN(0, 0, 0, 0, 0), /* (64-bit imm) */
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
        INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 7, 0),           /* -> pass */
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0), /* r7 = sk */
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_7, 0, 0),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_assign),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_release),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS), /* pass: */
        INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    static const char license[] = "Dual MIT/GPL";
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
    a.expected_attach_type = BPF_SK_LOOKUP;
    a.insns = (uintptr_t)prog;
    a.insn_cnt = ELEMENTSOF(prog);
    a.license = (uintptr_t)license;
    a.log_buf = (uintptr_t)log;
    a.log_size = (uint32_t)log_len;
    a.log_level = log_len ? 1 : 0;
    memcpy(a.prog_name, "cvm_portfwd", sizeof("cvm_portfwd"));
    int r = sys_bpf(BPF_PROG_LOAD, &a);
    if (r < 0 && log_len && a.log_level) {
        /* keep the verifier's last line for the error message */
        size_t n = strnlen(log, log_len);
        while (n && (log[n - 1] == '\n'))
            log[--n] = '\0';
        char *last = strrchr(log, '\n');
        if (last)
            memmove(log, last + 1, strlen(last + 1) + 1);
    }
    return r;
}

int portfwd_steer_attach(int netns_fd, int listen_fd, struct cvm_err *err)
{
    _cleanup_close_ int map = -EBADF, prog = -EBADF;
    char vlog[4096] = "";
    union bpf_attr a;
    uint32_t key = 0;
    uint64_t val = (uint64_t)listen_fd;
    int r;

    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_SOCKMAP;
    a.key_size = sizeof(uint32_t);
    a.value_size = sizeof(uint64_t);
    a.max_entries = 1;
    memcpy(a.map_name, "cvm_portfwd", sizeof("cvm_portfwd"));
    if ((map = sys_bpf(BPF_MAP_CREATE, &a)) < 0)
        return cvm_err_set(err, map,
                           "bpf: creating the sockmap: %s (port forwarding needs "
                           "CAP_BPF/CAP_NET_ADMIN and Linux >= 5.9)",
                           strerror(-map));
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)map;
    a.key = (uintptr_t)&key;
    a.value = (uintptr_t)&val;
    a.flags = BPF_ANY;
    if ((r = sys_bpf(BPF_MAP_UPDATE_ELEM, &a)) < 0)
        return cvm_err_set(err, r, "bpf: the listener into the sockmap: %s", strerror(-r));
    if ((prog = load_prog(map, vlog, sizeof(vlog))) < 0)
        return cvm_err_set(err, prog, "bpf: loading the sk_lookup program: %s%s%s", strerror(-prog),
                           vlog[0] ? ": verifier: " : "", vlog);
    memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = (uint32_t)prog;
    a.link_create.target_fd = (uint32_t)netns_fd;
    a.link_create.attach_type = BPF_SK_LOOKUP;
    if ((r = sys_bpf(BPF_LINK_CREATE, &a)) < 0)
        return cvm_err_set(err, r, "bpf: attaching sk_lookup to the pod netns: %s", strerror(-r));
    /* the link holds the program, the program the map, the map the listener's socket (not
     * its fd): closing the link fd undoes everything. bpf fds are O_CLOEXEC from birth. */
    return r;
}

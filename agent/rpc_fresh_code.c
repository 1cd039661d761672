/* RunFreshCode (agent.proto): run one page of code, rewritten before each round, `rounds`
 * times. Under TCG every round is code QEMU has not translated (writing the page dropped its
 * translations), so each round adds that page's translation to QEMU's cache; the warm pool,
 * and the shim of an idle sandbox, fill the cache to its flush this way
 * (shim/sandbox/code_cache_reset.h). Bounded per call
 * (RUN_FRESH_CODE_MAX_ROUNDS), a few milliseconds per round under TCG: the loop is held no
 * longer than one call. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.pb-c.h"
#include "rpc.h"
#include "ttrpc.h"

#define PAGE 4096u

#if defined(__x86_64__)
/* mov -0x8(%rsp),%rax: a load, which TCG expands into an inline TLB lookup (a few dozen bytes
 * of host code per 5 guest bytes); it reads the caller's red zone and changes nothing else. */
static const unsigned char load_insn[] = {0x48, 0x8b, 0x44, 0x24, 0xf8};

/* The page: loads, then ret; the tail is int3. */
static void write_page(unsigned char *page)
{
    size_t n = (PAGE - 1) / sizeof(load_insn), off = 0;
    for (size_t i = 0; i < n; i++, off += sizeof(load_insn))
        memcpy(page + off, load_insn, sizeof(load_insn));
    page[off++] = 0xc3;
    memset(page + off, 0xcc, PAGE - off);
}

/* 0 or -errno. The page is writable and executable only for the call. */
static int run_rounds(unsigned rounds)
{
    unsigned char *page =
        mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return -errno;
    for (unsigned i = 0; i < rounds; i++) {
        write_page(page); /* every byte written: QEMU drops every translation of the page */
        __builtin___clear_cache((char *)page, (char *)page + PAGE);
        ((void (*)(void))(void *)page)();
    }
    munmap(page, PAGE);
    return 0;
}
#else
static int run_rounds(unsigned rounds)
{
    (void)rounds;
    return -EOPNOTSUPP;
}
#endif

void rpc_run_fresh_code(struct ttrpc_call *call, const uint8_t *payload, size_t len, void *ud)
{
    (void)ud;
    TTRPC_DECODE(Cvm__Agent__V1__RunFreshCodeRequest, cvm__agent__v1__run_fresh_code_request, req,
                 call, payload, len);
    if (req->rounds < 1 || req->rounds > RUN_FRESH_CODE_MAX_ROUNDS) {
        ttrpc_call_reply_error(call, RPC_INVALID_ARGUMENT, "rounds %u: must be 1..%u", req->rounds,
                               RUN_FRESH_CODE_MAX_ROUNDS);
        return;
    }
    int r = run_rounds(req->rounds);
    if (r < 0) {
        ttrpc_call_reply_error(call, rpc_code_from_errno(r), "running fresh code: %s",
                               strerror(-r));
        return;
    }
    ttrpc_call_reply(call, NULL);
}

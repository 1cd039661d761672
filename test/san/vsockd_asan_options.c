/* Linked into cvm-vsockd of ASan builds only (test/module.mk). LeakSanitizer's scan at exit
 * stops the world with clone() and ptrace(), which cvm-vsockd's own seccomp filter
 * (hypervisor/vsockd/sandbox.c) answers with SIGSYS: every sanitized cvm-vsockd would die by
 * a signal at its exit. So no leak check for cvm-vsockd; every other ASan and UBSan check
 * stays on (ASAN_OPTIONS from the environment still applies on top of this). */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

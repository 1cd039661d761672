/* Run a probed program synchronously and collect what it prints, bounded in time and size.
 * cvm-check is a CLI, not the daemon: blocking here is fine, unbounded is not. */
#ifndef CVM_CHECK_RUN_H
#define CVM_CHECK_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define CHECK_RUN_TIMEOUT_MS 10000u
#define CHECK_RUN_OUTPUT_MAX (1u << 20) /* version and help texts */

struct check_run_result {
    char *out; /* malloc'd, NUL-terminated (also on failure: what was read); free() it */
    size_t len;
    int status;     /* exit code; -1 when killed (timeout, output cap) or not run */
    bool truncated; /* stopped at max bytes (the child was killed) */
};

/* argv[0] without '/' is looked up on PATH. stdin is /dev/null; stdout is collected, and
 * stderr too when merge_stderr (else /dev/null). Returns 0 when the program ran (whatever its
 * status), -ENOENT/-EACCES/... when it could not be executed, -ETIMEDOUT after timeout_ms
 * (killed). r->out is set in every case it returns 0 or -ETIMEDOUT. */
int check_run(char *const argv[], unsigned timeout_ms, size_t max, bool merge_stderr,
              struct check_run_result *r);

#endif

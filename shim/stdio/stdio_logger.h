/* binary:// logging (spec §3.5): exec the logger with fd 3 = stdout pipe, fd 4 = stderr pipe,
 * fd 5 = ready pipe, env CONTAINER_ID/CONTAINER_NAMESPACE; args from the URI query. */
#ifndef CVM_SHIM_STDIO_LOGGER_H
#define CVM_SHIM_STDIO_LOGGER_H

#include <stddef.h>

struct loop;
struct proc_io;
struct cvm_err;

#define LOGGER_READY_TIMEOUT_MS 5000
#define LOGGER_TERM_TIMEOUT_MS 12000

/* Split "binary:///path?k=v&k2=v2" into path and argv pairs (PURE). Returns argc written
 * after argv[0] (path), or -EINVAL. Percent-escapes are decoded. buf holds the strings. */
int logger_parse_uri(const char *uri, char *buf, size_t buflen, char **argv, size_t max_argv);
/* Spawn the logger; io->logger_ready_fd is left for the caller to wait on (never blocks). */
int logger_start(struct loop *l, const char *uri, const char *id, const char *ns,
                 struct proc_io *io, struct cvm_err *err);
/* Close our pipe ends (the logger sees EOF), SIGTERM it, SIGKILL after 12 s; reaped on the loop. */
void logger_stop(struct loop *l, struct proc_io *io);

#endif

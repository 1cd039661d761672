/* OCI hooks (runtime-spec config.md "POSIX-platform Hooks"), run on the host.
 *
 * The task pid we report is QEMU's, and QEMU lives in the sandbox's network namespace, so a
 * hook that looks at /proc/<pid>/ns/net (nerdctl's createRuntime hook runs CNI there) works
 * as under runc. prestart and createRuntime run at Create once the VM is up and before the
 * container is made in the guest (a failure fails Create); poststart runs after Start and
 * poststop at Delete (a failure is logged, the lifecycle goes on: runtime-spec). createContainer
 * and startContainer hooks run inside the container's namespaces under runc; ours are in the
 * guest, where host binaries do not exist: a spec that has them is refused at Create.
 *
 * Each hook gets the state JSON on stdin, its own args (args[0] is argv[0]) and env (empty
 * when none, as runc does), and runs to completion or its timeout (SIGKILL). Hooks of a kind
 * run one after another. Everything runs on the loop: fork + pidfd + timer, no waiting. */
#ifndef CVM_SHIM_HOOKS_H
#define CVM_SHIM_HOOKS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct loop;
struct cvm_err;
struct hook_run;

enum hook_kind {
    HOOK_PRESTART,
    HOOK_CREATE_RUNTIME,
    HOOK_POSTSTART,
    HOOK_POSTSTOP,
    _HOOK_KIND_MAX
};

#define HOOKS_MAX 32         /* per kind */
#define HOOK_ARGS_MAX 256    /* args or env entries per hook */
#define HOOK_OUTPUT_MAX 2048 /* stdout/stderr kept per hook, for the error message */

struct oci_hook {
    char *path;
    char **argv;        /* NULL-terminated; argv[0] = args[0], or path when args is empty */
    char **envp;        /* NULL-terminated, maybe empty */
    unsigned timeout_s; /* 0: none */
};

struct oci_hooks {
    struct oci_hook *h[_HOOK_KIND_MAX];
    size_t n[_HOOK_KIND_MAX];
};

/* PURE: parse spec.hooks (NULL or absent: no hooks). Paths absolute, strings bounded, no
 * NUL; timeout > 0 when given. createContainer/startContainer -> -ENOTSUP with why. */
int hooks_parse(const json_t *spec, struct oci_hooks *out, struct cvm_err *err);
void hooks_free(struct oci_hooks *h);
const char *hook_kind_name(enum hook_kind k); /* "prestart", "createRuntime", ... */

/* PURE: the OCI state JSON handed to hooks ({"ociVersion","id","status","pid","bundle",
 * "annotations"}). Caller frees; NULL on ENOMEM. */
char *hooks_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                       const json_t *annotations);

/* Done: r = 0 when every hook exited 0, else -errno of the first failure with runc's message
 * ("error running createRuntime hook #0: exit status 1, stdout: ..., stderr: ..."). */
typedef void (*hooks_done_cb)(int r, const char *msg, void *data);

/* Run hooks of one kind in order (h is copied: it may be freed at once). No hooks: cb is
 * deferred (never called from inside). cb fires exactly once unless hooks_cancel() comes
 * first. ret (optional) for cancelling. */
int hooks_run(struct loop *l, const struct oci_hooks *h, enum hook_kind kind, const char *state,
              hooks_done_cb cb, void *data, struct hook_run **ret);
/* Kill a running hook (SIGKILL) and forget the run; cb never fires. Accepts NULL. The killed
 * hook is no longer watched: the process's catch-all SIGCHLD reaper (shim/reaper.c) reaps it. */
void hooks_cancel(struct hook_run *run);

#endif

/* containerd-shim-cvm-v1: containerd shim v2 for runtime io.containerd.cvm.v1.
 *   start | delete | (no action: serve, the daemon started by `start`) | -v | -info */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/flags.h"

int main(int argc, char **argv)
{
    struct shim_flags f;
    char err[256];

    if (argc >= 2 && strcmp(argv[1], "pool-warm") == 0)
        return cmd_pool_warm(argc, argv);
    if (argc == 2 && strcmp(argv[1], "pool-drain") == 0)
        return cmd_pool_drain();

    if (shim_flags_parse(argc, argv, &f, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", SHIM_NAME, err);
        return 2;
    }
    switch (f.action) {
    case SHIM_VERSION:
        printf("%s:\n  Version: %s\n  Runtime: %s\n", SHIM_NAME, SHIM_VERSION_STR, SHIM_RUNTIME);
        return 0;
    case SHIM_INFO: return cmd_info(STDIN_FILENO, STDOUT_FILENO);
    case SHIM_START: return cmd_start(&f);
    case SHIM_DELETE: return cmd_delete(&f);
    case SHIM_SERVE: return cmd_serve(&f);
    }
    return 2;
}

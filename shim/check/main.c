/* cvm-check [--json] [--config FILE] [--boot]: can a sandbox VM run on this host?
 *
 * One line per check (ok/warn/fail and why), like `kata-runtime check`. Exit status 0 when
 * nothing failed (a sandbox can run here), 1 when something did, 2 on a usage error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_boot.h"
#include "check_probe.h"
#include "check_report.h"
#include "log.h"
#include "pool/pool_slot.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cvm-check [--json] [--config FILE] [--boot]\n"
               "  --json         one JSON document instead of the text report\n"
               "  --config FILE  the runtime config to check (default: the one the shim uses)\n"
               "  --boot         also boot one VM and wait for its agent (root)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},
        {"config", required_argument, 0, 'c'},
        {"boot", no_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static struct check_probe probe; /* large: keep it off the stack */
    static struct check_line lines[CHECK_LINES_MAX];
    static struct boot_result boot;
    static struct cfg cfg;
    const char *config = NULL;
    bool json = false, do_boot = false, can_run;
    size_t n;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': config = optarg; break;
        case 'b': do_boot = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_LVL_ERROR); /* hv's own progress lines would clutter the report */

    check_probe_config(&probe.facts, &cfg, config);
    check_probe_host(&probe, &cfg);
    n = check_report_build(&probe.facts, lines, CHECK_LINES_MAX - 1);
    if (do_boot && (probe.facts.kernel.err || probe.facts.initrd.err || probe.facts.qemu.err)) {
        snprintf(boot.detail, sizeof(boot.detail), "not attempted: no usable %s (see above)",
                 probe.facts.kernel.err   ? "guest kernel"
                 : probe.facts.initrd.err ? "initrd"
                                          : "qemu");
        check_report_boot_line(&boot, &lines[n++]);
    } else if (do_boot) {
        check_boot(&cfg, &boot);
        check_report_boot_line(&boot, &lines[n++]);
    }
    can_run = check_report_can_run(lines, n);
    /* the warm VM pool (README "Warm VM pool"): configured size beside what is there now */
    struct pool_status ps;
    pool_status_read(&ps);

    if (json) {
        json_t *doc = check_report_json(&probe.facts, lines, n, do_boot ? &boot : NULL);
        if (doc)
            json_object_set_new(
                doc, "pool",
                json_pack("{s:I,s:I,s:I,s:I,s:I}", "size", (json_int_t)cfg.pool_size, "warm",
                          (json_int_t)ps.warm, "booting", (json_int_t)ps.booting, "claimed",
                          (json_int_t)ps.claimed, "failures", (json_int_t)ps.failures));
        if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) < 0) {
            fprintf(stderr, "cvm-check: cannot write the JSON report\n");
            json_decref(doc);
            check_probe_free(&probe);
            return 1;
        }
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        check_report_text(stdout, &probe.facts, lines, n);
        printf("pool: size %u%s, warm %u, booting %u, claimed %lu, failures %lu\n", cfg.pool_size,
               cfg.pool_size ? "" : " (off)", ps.warm, ps.booting, ps.claimed, ps.failures);
    }
    check_probe_free(&probe);
    return fflush(stdout) == 0 && can_run ? 0 : 1;
}

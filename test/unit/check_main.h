/* Shared main() for Check unit-test binaries: one binary per module, one suite each.
 *   CVM_CHECK_MAIN(my_suite)   where Suite *my_suite(void);
 * Runs forked (crash/hang isolation) with Check's summary line, which test/run-tests.sh
 * counts ("Checks: N, Failures: F, Errors: E"). */
#ifndef CVM_CHECK_MAIN_H
#define CVM_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define CVM_CHECK_MAIN(suite_fn)                                                                  \
    int main(void)                                                                                \
    {                                                                                             \
        SRunner *sr = srunner_create(suite_fn());                                                 \
        int failed;                                                                               \
        srunner_run_all(sr, CK_NORMAL);                                                           \
        failed = srunner_ntests_failed(sr);                                                       \
        srunner_free(sr);                                                                         \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                              \
    }

#endif

# Sourced by the tiers that run cvm-agent as a host process (30, 32, 33): its end and its log.
#   AGENT      the static binary the initrd gets (what the tier's file checks look at)
#   AGENT_RUN  the binary run as the process (default AGENT); the sanitizer pass of
#              test/run-tests.sh points it at build/asan/drivers/cvm-agent-host
# The caller defines pass NAME / fail NAME WHY.

source test/e2e/lib-crash.sh

# agent_end_check PID LOG: SIGTERM the agent, which must exit 0 (a signal, LeakSanitizer's 23 or
# a fatal error at exit are not 0) and leave a log with no error line, no sanitizer report and
# no crash. Every tier drives its agent through error paths on purpose, but the agent answers
# those (INVALID_ARGUMENT, NOT_FOUND, ...) without logging an error: any level=error is one.
agent_end_check() {
  local pid=$1 log=$2 rc bad
  kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
  [[ $rc -eq 0 ]] && pass "agent exits 0 on SIGTERM" || fail "agent exits 0 on SIGTERM" "rc=$rc: $(tail -5 "$log" | tr '\n' '|')"
  bad=$(grep -E -m8 "level=error|$SAN_REPORT_RE|$CRASH_RE" "$log"; san_reports)
  [[ -z $bad ]] && pass "agent log: no error, no sanitizer report, no crash" ||
    fail "agent log: no error, no sanitizer report, no crash" "$(tr '\n' '|' <<< "$bad")"
}

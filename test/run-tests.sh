#!/usr/bin/env bash
# Runs every test tier that `make check` built and prints one closing "N passed, N failed".
#
# Tiers and their conventions:
#   unit        build/test/test_*          Check binaries (counted from Check's summary; a
#                                          non-zero exit after a clean summary is one failure)
#   unit-asan   build/asan/test/test_*     the same under ASan+UBSan
#   fuzz        build/fuzz/fuzz_<n>        replays test/fuzz/corpus/fuzz_<n>/ (one test each)
#   e2e         test/e2e/[0-9]*.sh         scripts printing "PASS: name" / "FAIL: name: why";
#                                          a script that exits non-zero, or prints no PASS
#                                          and no FAIL line, counts one more failure
#   e2e-asan    the e2e scripts matching   again with build/asan's shim, cvm-vsockd, drivers
#               SAN_TESTS                  and host-process agent; a sanitizer report fails
# TESTS=regex limits which e2e scripts run (e.g. TESTS=ttrpc make check); SAN_TESTS=regex
# (default /(30|50|51)-) which of them run again under the sanitizers; E2E_TIMEOUT (s,
# default 900) bounds each script.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
passed=0 failed=0
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

count_check() { # $1 = binary
  local out n f e
  out=$("$1" 2>&1); local rc=$?
  printf '%s\n' "$out" | sed 's/^/    /'
  if [[ $out =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
    n=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} e=${BASH_REMATCH[3]}
    passed=$((passed + n - f - e)); failed=$((failed + f + e))
    # a binary that crashed, or whose sanitizer fired at exit, after its summary
    if [[ $rc -ne 0 && $((f + e)) -eq 0 ]]; then
      echo "FAIL: $1 exited $rc after a clean Check summary"; failed=$((failed + 1))
    fi
  else
    echo "FAIL: $1 printed no Check summary (rc=$rc)"; failed=$((failed + 1))
  fi
}

echo "== unit"
for t in "$BUILD"/test/test_*; do [[ -x $t && ! $t == *.d ]] && count_check "$t"; done
echo "== unit under ASan+UBSan"
for t in "$BUILD"/asan/test/test_*; do [[ -x $t && ! $t == *.d ]] && count_check "$t"; done

echo "== fuzz corpus replay (gcc, and again under ASan+UBSan)"
for b in "$BUILD"/fuzz/fuzz_* "$BUILD"/asan/fuzz/fuzz_*; do
  [[ -x $b ]] || continue
  n=$(basename "$b")
  if out=$("$b" "test/fuzz/corpus/$n" 2>&1); then
    echo "PASS: $b $out"; passed=$((passed + 1))
  else
    printf '%s\n' "$out" | tail -20; echo "FAIL: $b"; failed=$((failed + 1))
  fi
done

echo "== architecture (test/arch/file_graph.py over the objects: no circles between files, floors)"
arch=$(python3 test/arch/file_graph.py "$BUILD" 2>&1); arch_rc=$?
printf '%s\n' "$arch"
arch_p=$(grep -c '^PASS: ' <<<"$arch") arch_f=$(grep -c '^FAIL: ' <<<"$arch")
passed=$((passed + arch_p)); failed=$((failed + arch_f))
if [[ $arch_rc -ne 0 && $arch_f -eq 0 ]] || [[ $arch_p -eq 0 ]]; then
  echo "FAIL: test/arch/file_graph.py exited $arch_rc with $arch_p PASS lines"; failed=$((failed + 1))
fi

echo "== guest kernel image (test/unit/test_elf_sparse.py: initrd/kernel/elf_sparse.py)"
es=$(python3 test/unit/test_elf_sparse.py 2>&1); es_rc=$?
printf '%s\n' "$es"
es_p=$(grep -c '^PASS: ' <<<"$es") es_f=$(grep -c '^FAIL: ' <<<"$es")
passed=$((passed + es_p)); failed=$((failed + es_f))
if [[ $es_rc -ne 0 && $es_f -eq 0 ]] || [[ $es_p -eq 0 ]]; then
  echo "FAIL: test/unit/test_elf_sparse.py exited $es_rc with $es_p PASS lines"; failed=$((failed + 1))
fi

echo "== format (make format-check: .clang-format over the product sources)"
if fmt=$(make -s format-check 2>&1); then
  echo "PASS: format-check ${fmt##*: }"; passed=$((passed + 1))
else
  printf '%s\n' "$fmt" | grep -m 20 'error:'; echo "FAIL: format-check (make format applies it)"; failed=$((failed + 1))
fi

# Every VM below runs on what the runtime's own decision picks here (accel "auto", the host's
# /dev/kvm as it is): say which, and why, in the header.
accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E '^[a-z]+ +accel: ' | sed -E 's/^[a-z]+ +accel: //')
echo "== integration and end-to-end (accelerator: ${accel:-unknown, cvm-check printed no accel line})"
# run_tier SCRIPT LOG [VAR=VALUE...]: one e2e script (under env), counted into passed/failed.
run_tier() {
  local s=$1 log=$2 name rc p f start
  shift 2
  name=$(basename "$log" .log)
  echo "-- $name"
  start=$(date +%s)
  # A hung script fails (timeout kills its process group) instead of hanging CI.
  env "$@" timeout -k 10 "${E2E_TIMEOUT:-900}" bash "$s" > "$log" 2>&1; rc=$?
  [[ $rc -eq 124 ]] && echo "FAIL: $name: timed out after ${E2E_TIMEOUT:-900} s" >> "$log"
  [[ -n ${SAN_DIR:-} ]] && san_after "$name" "$log"
  p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log")
  grep -E '^(PASS|FAIL|NOTE): ' "$log" | sed 's/^/    /'
  if [[ $p -eq 0 && $f -eq 0 ]]; then
    echo "    FAIL: $name printed no PASS and no FAIL line (rc=$rc, log: $log)"; tail -15 "$log" | sed 's/^/      /'
    f=1
  elif [[ $rc -ne 0 && $f -eq 0 ]]; then
    echo "    FAIL: $name exited $rc (log: $log)"; tail -15 "$log" | sed 's/^/      /'
    f=1
  elif [[ $f -gt 0 ]]; then
    tail -25 "$log" | sed 's/^/      /'
  fi
  echo "    ($(( $(date +%s) - start )) s)"
  passed=$((passed + p)); failed=$((failed + f))
}

# After a tier of the sanitizer pass: its shims exit once their last task is gone (after the
# script's teardown), and LeakSanitizer reports at that exit, where containerd no longer
# copies the shim's log: wait for them, then any report file is one FAIL line in the log.
san_after() { # $1 = tier name, $2 = its log
  local i r
  for i in $(seq 1 100); do pgrep -f "^$PWD/$SAN_BUILD/bin/" >/dev/null || break; sleep 0.2; done
  pgrep -af "^$PWD/$SAN_BUILD/bin/" | sed "s/^/FAIL: $1: still running 20 s after the tier: /" >> "$2"
  for r in "$SAN_DIR/report".*; do
    [[ -f $r ]] || continue
    { echo "FAIL: $1: sanitizer report $r:"; head -40 "$r"; } >> "$2"
  done
}

for s in test/e2e/[0-9]*.sh; do
  [[ -f $s ]] || continue
  [[ -n ${TESTS:-} && ! $s =~ ${TESTS} ]] && continue
  run_tier "$s" "$log_dir/$(basename "$s" .sh).log"
done

# The tiers through the shim's and the agent's hot paths again, with build/asan's host-side
# binaries: the shim, cvm-vsockd and the drivers (their PATH and BUILD), the agent as 30's
# host process (AGENT_RUN; the guest's agent stays the static plain one). Sanitizer reports
# go to files (CVM_SAN_LOG.<pid>): shim_log_check, agent_end_check and san_after look there.
SAN_BUILD=${SAN_BUILD:-$BUILD/asan}
SAN_TESTS=${SAN_TESTS:-/(30|50|51)-}
echo "== end-to-end under ASan+UBSan ($SAN_BUILD; tiers matching $SAN_TESTS)"
for s in test/e2e/[0-9]*.sh; do
  [[ -f $s && $s =~ $SAN_TESTS ]] || continue
  [[ -n ${TESTS:-} && ! $s =~ ${TESTS} ]] && continue
  name=$(basename "$s" .sh)-asan
  SAN_DIR=$log_dir/$name.san
  rm -rf "$SAN_DIR"; mkdir -p "$SAN_DIR"
  opts="log_path=$PWD/$SAN_DIR/report:print_stacktrace=1"
  run_tier "$s" "$log_dir/$name.log" BUILD="$SAN_BUILD" AGENT="$BUILD/bin/cvm-agent" \
    AGENT_RUN="$SAN_BUILD/drivers/cvm-agent-host" CVM_SAN_LOG="$PWD/$SAN_DIR/report" \
    ASAN_OPTIONS="$opts" UBSAN_OPTIONS="$opts:halt_on_error=1"
  SAN_DIR=
done
echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]

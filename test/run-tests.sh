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
# TESTS=regex limits which e2e scripts run (e.g. TESTS=ttrpc make check); E2E_TIMEOUT (s, default
# 900) bounds each script.
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

# Every VM below runs on what the runtime's own decision picks here (accel "auto", the host's
# /dev/kvm as it is): say which, and why, in the header.
accel=$("$BUILD/bin/cvm-check" 2>&1 | grep -m1 -E '^[a-z]+ +accel: ' | sed -E 's/^[a-z]+ +accel: //')
echo "== integration and end-to-end (accelerator: ${accel:-unknown, cvm-check printed no accel line})"
for s in test/e2e/[0-9]*.sh; do
  [[ -f $s ]] || continue
  [[ -n ${TESTS:-} && ! $s =~ ${TESTS} ]] && continue
  name=$(basename "$s" .sh)
  echo "-- $name"
  start=$(date +%s)
  # A hung script fails (timeout kills its process group) instead of hanging CI.
  timeout -k 10 "${E2E_TIMEOUT:-900}" bash "$s" > "$log_dir/$name.log" 2>&1; rc=$?
  [[ $rc -eq 124 ]] && echo "FAIL: $name: timed out after ${E2E_TIMEOUT:-900} s" >> "$log_dir/$name.log"
  p=$(grep -c '^PASS: ' "$log_dir/$name.log"); f=$(grep -c '^FAIL: ' "$log_dir/$name.log")
  grep -E '^(PASS|FAIL|NOTE): ' "$log_dir/$name.log" | sed 's/^/    /'
  if [[ $p -eq 0 && $f -eq 0 ]]; then
    echo "    FAIL: $name printed no PASS and no FAIL line (rc=$rc, log: $log_dir/$name.log)"; tail -15 "$log_dir/$name.log" | sed 's/^/      /'
    f=1
  elif [[ $rc -ne 0 && $f -eq 0 ]]; then
    echo "    FAIL: $name exited $rc (log: $log_dir/$name.log)"; tail -15 "$log_dir/$name.log" | sed 's/^/      /'
    f=1
  elif [[ $f -gt 0 ]]; then
    tail -25 "$log_dir/$name.log" | sed 's/^/      /'
  fi
  echo "    ($(( $(date +%s) - start )) s)"
  passed=$((passed + p)); failed=$((failed + f))
done

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]

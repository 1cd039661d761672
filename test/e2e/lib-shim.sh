# Sourced by 50-shim.sh: a private containerd (lib-containerd.sh) that finds our shim on PATH,
# the busybox test image, a runtime config pointing at the build's initrd, and leftover checks.
source test/e2e/lib-containerd.sh
source test/e2e/lib-crash.sh
BUILD=${BUILD:-build}
SHIM_BIN=$BUILD/bin/containerd-shim-cvm-v1
IMG=cvm.local/busybox:latest
RT=io.containerd.cvm.v1

shim_env_check() {
  local f
  for f in "$SHIM_BIN" "$BUILD/bin/cvm-vsockd" "$BUILD/initrd.img"; do
    [[ -e $f ]] || { fail shim-prereq "missing $f (run make)"; return 1; }
  done
  export PATH=$PWD/$BUILD/bin:$PATH
}

# Runtime config for the tests: our initrd, the hybrid vsock backend (no /dev/vhost-vsock here).
# CVM_POOL_SIZE=N runs a tier with the warm VM pool on ("pool": {"size": N}; README "Warm VM
# pool"); its teardown drains the pool (shim_pool_drain).
# CVM_CONFIG_EXTRA: more JSON members for every config written (A/B benchmarks, e.g.
# '"tcg_idle_reset_s": 0').
shim_write_config() { # $1 = path, $2 = boot deadline ms (default 90000), $3 = extra JSON members
  local pool=""
  [[ -n ${CVM_POOL_SIZE:-} ]] && pool=", \"pool\": {\"size\": $CVM_POOL_SIZE}"
  [[ -n ${CVM_CONFIG_EXTRA:-} ]] && pool="$pool, $CVM_CONFIG_EXTRA"
  cat > "$1" <<JSON
{"initrd": "$PWD/$BUILD/initrd.img", "vsock_mode": "hybrid", "boot_deadline_ms": ${2:-90000} ${3:+, $3}$pool}
JSON
}

# Every warm shim of the pool leaves (their VMs with them); waits until they are gone.
shim_pool_drain() {
  "$PWD/$SHIM_BIN" pool-drain >/dev/null 2>&1
  for _ in $(seq 1 100); do pgrep -f "$SHIM_BIN pool-warm" >/dev/null || return 0; sleep 0.1; done
  return 1
}

# Our part of the footprint: sandboxes of this test's containerd (their run dirs and sockets
# are named by sha256(<address>/<ns>/<group>)) and shims serving it. Other engineers' and CI
# runs on the same host are not ours to judge. $1 = address, $2 = namespace, $3.. = groups.
shim_footprint_ours() {
  local addr=$1 ns=$2 g pat
  pat="-address $addr( |\$)"
  shift 2
  for g in "$@"; do pat+="|$(printf '%s' "$addr/$ns/$g" | sha256sum | cut -c1-16)"; done
  shim_footprint | grep -E -- "$pat"
}

# ctr run under `timeout` bypasses the ctr() function: point every ctr at our containerd.
shim_use_ctd() { export CONTAINERD_ADDRESS=$CTD_SOCK; }

shim_import_image() {
  python3 test/images/mkbusybox.py "$CTD_DIR/busybox.tar" "$IMG" >/dev/null &&
    ctr images import "$CTD_DIR/busybox.tar" >/dev/null
}

# Our footprint on the host: processes, mounts, run dirs, sockets. Printed one per line.
shim_footprint() {
  ps -eo pid=,args= | awk '$2 ~ /(containerd-shim-cvm-v1|qemu-system-x86_64|virtiofsd|cvm-vsockd)$/ && ($0 ~ /\/run\/cvm\// || $2 ~ /containerd-shim-cvm-v1$/)' | sed 's/^ *//'
  grep -E ' /run/cvm' /proc/self/mountinfo | awk '{print "mount " $5}'
  [[ -d /run/cvm ]] && find /run/cvm -mindepth 1 -maxdepth 1 | sed 's/^/dir /'
  ls /run/containerd/s 2>/dev/null | sed 's/^/socket /'
}

# No shim crashed and no sanitizer fired since ctd_start: containerd's log (it copies the
# shim's stderr, which carries sanitizer reports and glibc's fatal messages, and the lines
# the shim logs for a helper killed by a signal), the kernel's log (a plain build's segfault
# or trap), core files, and the sanitizer pass's report files (CVM_SAN_LOG, run-tests.sh).
# containerd stops copying a shim's log once the shim hangs up, so a report at the shim's
# exit only shows up in the report files: run-tests.sh looks at those again after the tier.
shim_log_check() {
  local bad
  bad=$(grep -E -m5 "$SAN_REPORT_RE|$CRASH_RE" "$CTD_DIR/containerd.log"; kernel_crashes; core_files "$CTD_DIR"; san_reports)
  if [[ -n $bad ]]; then
    fail shim-log-clean "$(tr '\n' '|' <<< "$bad" | cut -c1-1500)"
  else
    pass shim-log-clean
  fi
}

# End of a test: kill and delete every task and container of our containerd (whatever a failed
# part left), keep its log when asked (SHIM_E2E_LOG), stop it.
shim_ctd_teardown() {
  local t c
  if [[ -n ${CTD_PID:-} ]]; then
    for t in $(ctr task ls -q 2>/dev/null); do ctr task kill -s SIGKILL "$t" >/dev/null 2>&1; done
    sleep 1
    for t in $(ctr task ls -q 2>/dev/null); do ctr task delete -f "$t" >/dev/null 2>&1; done
    for c in $(ctr containers ls -q 2>/dev/null); do ctr containers delete "$c" >/dev/null 2>&1; done
  fi
  [[ -n ${SHIM_E2E_LOG:-} && -n ${CTD_DIR:-} ]] && cp "$CTD_DIR/containerd.log" "$SHIM_E2E_LOG"
  ctd_stop
  [[ -z ${CVM_POOL_SIZE:-} ]] || shim_pool_drain
}

# containerd restart with the same config/root/state (the shim must keep serving).
ctd_restart() {
  kill "$CTD_PID" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$CTD_PID" 2>/dev/null
  ${CTD_NETNS:+nsenter --net=/run/netns/$CTD_NETNS} containerd --config "$CTD_DIR/config.toml" >> "$CTD_DIR/containerd.log" 2>&1 &
  CTD_PID=$!
  for _ in $(seq 1 100); do
    ctr version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

task_field() { # $1 = task id, $2 = column (2 = pid, 3 = status) of `ctr task ls`
  ctr task ls 2>/dev/null | awk -v id="$1" -v col="$2" '$1 == id {print $col}'
}

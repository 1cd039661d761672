# Sourced by e2e scripts: a private containerd 1.6.20 with its own config, root, state and
# sockets under a temp dir, torn down (with everything it started) by ctd_stop.
#   ctd_start [extra-toml]   sets CTD_DIR CTD_SOCK CTD_TTRPC CTD_PID; ctr() wraps ctr -a
#   ctd_stop
# Results: pass NAME / fail NAME WHY print the lines test/run-tests.sh counts.

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: ${2:-}"; FAILED=1; }
note() { echo "NOTE: $*"; }
FAILED=0

ctd_start() {
  local extra=${1:-}
  [[ $(id -u) -eq 0 ]] || { fail containerd-start "root is required"; return 1; }
  command -v containerd >/dev/null || { fail containerd-start "containerd is not installed (make setup)"; return 1; }
  CTD_DIR=$(mktemp -d /tmp/cvm-ctd.XXXXXX)
  # from here on, a crash counts (lib-crash.sh, when sourced)
  declare -F crash_mark >/dev/null && crash_mark "$CTD_DIR"
  CTD_SOCK=$CTD_DIR/c.sock
  CTD_TTRPC=$CTD_DIR/c.sock.ttrpc
  cat > "$CTD_DIR/config.toml" <<TOML
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_TTRPC"
[debug]
  address = "$CTD_DIR/debug.sock"
  level = "debug"
$extra
TOML
  # CTD_NETNS=<name of /run/netns/NAME>: containerd (so the shims, QEMU and OCI hooks) runs in
  # that network namespace, the test's own, never the host's network; mounts stay shared.
  ${CTD_NETNS:+nsenter --net=/run/netns/$CTD_NETNS} containerd --config "$CTD_DIR/config.toml" > "$CTD_DIR/containerd.log" 2>&1 &
  CTD_PID=$!
  for _ in $(seq 1 100); do
    [[ -S $CTD_SOCK && -S $CTD_TTRPC ]] && ctr version >/dev/null 2>&1 && return 0
    kill -0 "$CTD_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail containerd-start "containerd did not come up: $(tail -5 "$CTD_DIR/containerd.log")"
  return 1
}

ctr() { command ctr -a "$CTD_SOCK" "$@"; }

ctd_stop() {
  [[ -n ${CTD_PID:-} ]] || return 0
  # A failed run (or KEEP_CTD_LOG=1) keeps containerd's log: it carries the shim's log lines
  # and console tails.
  if [[ ( ${FAILED:-0} -ne 0 || -n ${KEEP_CTD_LOG:-} ) && -f $CTD_DIR/containerd.log ]]; then
    local keep=${BUILD:-build}/test-logs/$(basename "$0" .sh)-containerd.log
    mkdir -p "$(dirname "$keep")" && cp "$CTD_DIR/containerd.log" "$keep" && note "containerd log kept in $keep"
  fi
  kill "$CTD_PID" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$CTD_PID" 2>/dev/null
  wait "$CTD_PID" 2>/dev/null
  # Unmount anything containerd left under its root (snapshots) before removing it.
  grep -o " $CTD_DIR[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$CTD_DIR"
  CTD_PID=
}

# ctd_errors_check NAME [COUNT ERE]...: containerd's level=error lines are exactly those the
# tier provokes on purpose, each kind said with the number of lines it must give (an ERE
# matching COUNT lines); any other level=error line, or another count, fails NAME.
ctd_errors_check() {
  local name=$1 errs rest n bad=""
  errs=$(grep 'level=error' "$CTD_DIR/containerd.log")
  rest=$errs
  shift
  while [[ $# -ge 2 ]]; do
    n=$(grep -cE -- "$2" <<< "$errs")
    [[ $n -eq $1 ]] || bad+="'$2': $n lines, want $1; "
    rest=$(grep -vE -- "$2" <<< "$rest")
    shift 2
  done
  [[ -z $rest ]] || bad+="unexpected: $(tr '\n' '|' <<< "$rest" | cut -c1-1500)"
  if [[ -z $bad ]]; then pass "$name"; else fail "$name" "$bad"; fi
}

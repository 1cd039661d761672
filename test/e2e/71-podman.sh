#!/usr/bin/env bash
# podman 4.3 (through conmon) runs containers in VMs through cvm-runtime, runc beside it, with
# its own --root/--runroot and a private containers.conf (nofile/nproc at or below the host's:
# this host lacks CAP_SYS_RESOURCE for runc to raise them): run --rm (stdout, stderr, exit
# status), run -d + logs, exec, exec -t, stop of a process ignoring SIGTERM (137), rm leaving
# nothing of ours.
set -uo pipefail
cd "$(dirname "$0")/../.."
source test/e2e/lib-containerd.sh
BUILD=${BUILD:-build}
RT_BIN=${RT_BIN:-$PWD/$BUILD/bin/cvm-runtime} # RT_BIN: another build of it (a deliberately broken one)
IMG=cvm.local/busybox:latest

for f in /usr/bin/podman /usr/bin/conmon "$RT_BIN" "$BUILD/bin/containerd-shim-cvm-v1" "$BUILD/initrd.img"; do
  [[ -e $f ]] || { fail podman-prereq "missing $f (make setup; make)"; exit 1; }
done
export PATH=$PWD/$BUILD/bin:$PATH
PM_DIR=$(mktemp -d /tmp/cvm-pm.XXXXXX)
cat > "$PM_DIR/cvm.json" <<JSON
{"initrd": "$PWD/$BUILD/initrd.img", "vsock_mode": "hybrid", "boot_deadline_ms": 90000}
JSON
cat > "$PM_DIR/containers.conf" <<EOF2
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM_DIR/events.log"
static_dir = "$PM_DIR/static"
tmp_dir = "$PM_DIR/tmp"
volume_path = "$PM_DIR/volumes"
runtime = "runc"
[engine.runtimes]
cvm = ["$RT_BIN"]
EOF2
pm() { CONTAINERS_CONF=$PM_DIR/containers.conf podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" \
         --storage-driver overlay "$@"; }
# per runtime: cvm gets its VM config as a global flag, as a containers.conf user would
rtargs() { if [[ $1 == cvm ]]; then echo "--runtime cvm --runtime-flag cvm-config=$PM_DIR/cvm.json"; else echo "--runtime runc"; fi; }
cleanup() {
  local c
  for c in $(pm ps -aq 2>/dev/null); do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
  grep -o " $PM_DIR[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$PM_DIR"
}
trap cleanup EXIT

python3 test/images/mkbusybox.py "$PM_DIR/busybox.tar" "$IMG" --docker >/dev/null && pm load -i "$PM_DIR/busybox.tar" >/dev/null 2>&1 ||
  { fail podman-image "podman load of the busybox tarball failed"; exit 1; }

wait_log() { for _ in $(seq 1 "${3:-120}"); do pm logs "$1" 2>&1 | grep -q -- "$2" && return 0; sleep 0.5; done; return 1; }
declare -A got
IDS=()
read -r -a RUNTIMES <<< "${RUNTIMES:-runc cvm}"
for rt in "${RUNTIMES[@]}"; do
  # shellcheck disable=SC2046
  o=$(pm run --rm $(rtargs $rt) --network none "$IMG" sh -c 'echo out-line; echo err-line >&2; exit 3' 2>"$PM_DIR/err")
  rc=$?; e=$(cat "$PM_DIR/err")
  got[rm-$rt]="rc=$rc out=$o err=$e"
  if [[ $rc -eq 3 && $o == out-line && $e == err-line ]]; then pass "podman-run-rm-$rt"; else fail "podman-run-rm-$rt" "${got[rm-$rt]}"; fi

  # shellcheck disable=SC2046
  c=$(pm run -d $(rtargs $rt) --network none "$IMG" sh -c 'trap "" TERM; echo started; while :; do sleep 1; done')
  IDS+=("$c")
  if wait_log "$c" started; then pass "podman-run-d-logs-$rt"; else fail "podman-run-d-logs-$rt" "$(pm logs "$c" 2>&1 | tail -3)"; fi
  o=$(pm exec "$c" sh -c 'echo exec-out; echo exec-err >&2; exit 4' 2>"$PM_DIR/err"); rc=$?; e=$(cat "$PM_DIR/err")
  got[exec-$rt]="rc=$rc out=$o err=$e"
  if [[ $rc -eq 4 && $o == exec-out && $e == exec-err ]]; then pass "podman-exec-$rt"; else fail "podman-exec-$rt" "${got[exec-$rt]}"; fi
  o=$(pm exec -t "$c" sh -c '[ -t 1 ] && echo is-a-tty; exit 6' | tr -d '\r'); rc=${PIPESTATUS[0]}
  got[exect-$rt]="rc=$rc out=$o"
  if [[ $rc -eq 6 && $o == is-a-tty ]]; then pass "podman-exec-t-$rt"; else fail "podman-exec-t-$rt" "${got[exect-$rt]}"; fi
  pm stop -t 2 "$c" >/dev/null
  ec=$(pm inspect -f '{{.State.ExitCode}}' "$c")
  got[stop-$rt]=$ec
  if [[ $ec == 137 ]]; then pass "podman-stop-137-$rt"; else fail "podman-stop-137-$rt" "exit $ec"; fi
  pm rm "$c" >/dev/null
done

for k in rm exec exect stop; do
  if [[ -n ${got[$k-runc]:-} && ${got[$k-runc]} == "${got[$k-cvm]:-unset}" ]]; then pass "podman-cvm-same-as-runc-$k"
  else fail "podman-cvm-same-as-runc-$k" "runc: ${got[$k-runc]:-unset} cvm: ${got[$k-cvm]:-unset}"; fi
done

# nothing of ours left: no daemon, VM or monitor, no state dir under podman's runtime root
left=$(ps -eo pid=,args= | grep -E "containerd-shim-cvm-v1 -namespace cvm-runtime|cvm-runtime.*create" | grep -v grep)
for c in "${IDS[@]}"; do
  left+=$(find /run/cvm-runtime -maxdepth 1 -name "$c" 2>/dev/null)
done
if [[ -z $left ]]; then pass "podman-rm-leaves-nothing"; else fail "podman-rm-leaves-nothing" "$left"; fi
exit "$FAILED"

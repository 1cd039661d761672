# Sourced by 70-docker.sh: a private dockerd (Debian 12's docker.io, 20.10) with its own data
# root, exec root, socket and pid file, its own managed containerd, runc and our cvm-runtime
# as runtimes; the busybox test image loaded from our tarball. It runs in a network namespace
# of the test's own (DK_NS, which plays "the host": its docker0 bridge, iptables rules and
# docker-proxy live there; the machine's own network is never touched), mount namespace shared.
#   dockerd_start   sets DK_DIR DK_SOCK DK_PID DK_NS; dk() wraps the 20.10 client at DK_SOCK
#   dkhost CMD      a command in DK_NS ("on the host" for published ports)
#   dockerd_stop
#   wait_log C TEXT [TRIES]   until `docker logs C` shows TEXT (0.5 s a try, 120 by default)
#   cvm_footprint ID...   what is left of ours for these containers (empty: nothing)
#   cvm_vm_uid ID         the uid of the container's QEMU (its uid lease), for cvm_footprint
source test/e2e/lib-containerd.sh
BUILD=${BUILD:-build}
RT_BIN=${RT_BIN:-$PWD/$BUILD/bin/cvm-runtime} # RT_BIN: another build of it (a deliberately broken one)
DOCKER_CLI=/usr/bin/docker # Debian's 20.10 client (not a newer one earlier on PATH)
IMG=cvm.local/busybox:latest

DK_NS=cvmdk$$
DK_BIP=10.232.0.1/24 # docker0 in DK_NS

dk() { "$DOCKER_CLI" -H "unix://$DK_SOCK" "$@"; }
dkhost() { nsenter --net=/run/netns/"$DK_NS" "$@"; }

dockerd_start() {
  local f
  [[ $(id -u) -eq 0 ]] || { fail dockerd-start "root is required"; return 1; }
  for f in /usr/sbin/dockerd "$DOCKER_CLI"; do
    [[ -x $f ]] || { fail dockerd-start "$f missing: docker.io is not installed (make setup)"; return 1; }
  done
  for f in "$RT_BIN" "$BUILD/bin/containerd-shim-cvm-v1" "$BUILD/bin/cvm-vsockd" "$BUILD/initrd.img"; do
    [[ -e $f ]] || { fail dockerd-start "missing $f (run make)"; return 1; }
  done
  export PATH=$PWD/$BUILD/bin:$PATH
  DK_DIR=$(mktemp -d /tmp/cvm-dk.XXXXXX)
  DK_SOCK=$DK_DIR/docker.sock
  cat > "$DK_DIR/cvm.json" <<JSON
{"initrd": "$PWD/$BUILD/initrd.img", "vsock_mode": "hybrid", "boot_deadline_ms": 90000, "spare_nics": 2}
JSON
  cat > "$DK_DIR/daemon.json" <<JSON
{"runtimes": {"cvm": {"path": "$RT_BIN", "runtimeArgs": ["--cvm-config", "$DK_DIR/cvm.json"]}}}
JSON
  ip netns add "$DK_NS" || { fail dockerd-start "ip netns add $DK_NS"; return 1; }
  ip -n "$DK_NS" link set lo up
  # nsenter, not `ip netns exec`: that one also gives a mount namespace of its own, and the
  # test must see dockerd's (and the shim's) mounts
  nsenter --net=/run/netns/"$DK_NS" /usr/sbin/dockerd --config-file "$DK_DIR/daemon.json" --data-root "$DK_DIR/data" \
    --exec-root "$DK_DIR/exec" --host "unix://$DK_SOCK" --pidfile "$DK_DIR/docker.pid" \
    --bip "$DK_BIP" --ip-masq=false --storage-driver=overlay2 \
    ${DK_EXTRA:-} > "$DK_DIR/dockerd.log" 2>&1 &
  DK_PID=$!
  for _ in $(seq 1 150); do
    dk version >/dev/null 2>&1 && break
    kill -0 "$DK_PID" 2>/dev/null || break
    sleep 0.2
  done
  if ! dk version >/dev/null 2>&1; then
    fail dockerd-start "dockerd did not come up: $(tail -5 "$DK_DIR/dockerd.log")"
    return 1
  fi
  python3 test/images/mkbusybox.py "$DK_DIR/busybox.tar" "$IMG" --docker >/dev/null &&
    dk load -i "$DK_DIR/busybox.tar" >/dev/null ||
    { fail dockerd-image "docker load of the busybox tarball failed"; return 1; }
}

dockerd_stop() {
  [[ -n ${DK_PID:-} ]] || { ip netns del "$DK_NS" 2>/dev/null; return 0; }
  local c
  for c in $(dk ps -aq 2>/dev/null); do dk rm -f "$c" >/dev/null 2>&1; done
  if [[ ${FAILED:-0} -ne 0 && -f $DK_DIR/dockerd.log ]]; then
    local keep=$BUILD/test-logs/$(basename "$0" .sh)-dockerd.log
    mkdir -p "$(dirname "$keep")" && cp "$DK_DIR/dockerd.log" "$keep" && note "dockerd log kept in $keep"
    find "$DK_DIR/exec" -name log -path '*runtime-cvm*' 2>/dev/null | while read -r l; do
      cat "$l" >> "$BUILD/test-logs/$(basename "$0" .sh)-shim.log"; done
  fi
  kill "$DK_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DK_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$DK_PID" 2>/dev/null
  wait "$DK_PID" 2>/dev/null
  grep -o " $DK_DIR[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$DK_DIR"
  ip netns del "$DK_NS" 2>/dev/null
  DK_PID=
}

# The runtime root Docker gives its runtimes (--root), under which cvm-runtime keeps its state.
rt_root() { echo "$DK_DIR/exec/runtime-runc/moby"; }
# A container's shim run dir: /run/cvm/<16 hex of sha256(the daemon's socket dir)>.
cvm_run_hash() { printf '%s' "$(rt_root)/cvm-runtime/$1" | sha256sum | cut -c1-16; }
cvm_vm_uid() { # $1 container -> the uid its QEMU runs as (the uid lease it holds)
  local h
  h=$(cvm_run_hash "$1")
  ps -eo uid=,args= | grep -F "/run/cvm/$h" | grep qemu-system | grep -v grep | awk '{print $1; exit}'
}
# Our footprint: processes naming this dockerd's dirs or a run dir of one of these containers,
# run dirs, mounts under them or the state dirs, state dirs under the runtime root, and uid
# leases still held (CVM_UIDS: uids seen with cvm_vm_uid; a free lease can be flocked at once).
cvm_footprint() {
  local root id h u
  root=$(rt_root)
  ps -eo pid=,args= | grep -E "(containerd-shim-cvm-v1|qemu-system|virtiofsd|cvm-vsockd|cvm-runtime).*$DK_DIR" | grep -v grep
  for id in "$@"; do
    h=$(cvm_run_hash "$id")
    [[ -e /run/cvm/$h ]] && echo "dir /run/cvm/$h"
    ps -eo pid=,args= | grep -F "/run/cvm/$h" | grep -v grep
    grep -F -e " /run/cvm/$h" -e " $root/$id" -e " $root/cvm-runtime/$id" /proc/self/mounts | sed 's/^/mount /'
    [[ -e $root/$id/state.json ]] && echo "state $root/$id"
  done
  for u in ${CVM_UIDS:-}; do
    flock -n "/run/cvm/uids/$u" true || echo "uid lease $u still held"
  done
}

wait_log() {
  for _ in $(seq 1 "${3:-120}"); do dk logs "$1" 2>&1 | grep -q -- "$2" && return 0; sleep 0.5; done
  return 1
}

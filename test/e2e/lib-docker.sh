# Sourced by 70-docker.sh: a private dockerd (Debian 12's docker.io, 20.10) with its own data
# root, exec root, socket and pid file, its own managed containerd, runc and our cvm-runtime
# as runtimes, no iptables, no default bridge; the busybox test image loaded from our tarball.
#   dockerd_start   sets DK_DIR DK_SOCK DK_PID; dk() wraps the 20.10 client at DK_SOCK
#   dockerd_stop
source test/e2e/lib-containerd.sh
BUILD=${BUILD:-build}
RT_BIN=${RT_BIN:-$PWD/$BUILD/bin/cvm-runtime} # RT_BIN: another build of it (a deliberately broken one)
DOCKER_CLI=/usr/bin/docker # Debian's 20.10 client (not a newer one earlier on PATH)
IMG=cvm.local/busybox:latest

dk() { "$DOCKER_CLI" -H "unix://$DK_SOCK" "$@"; }

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
{"initrd": "$PWD/$BUILD/initrd.img", "vsock_mode": "hybrid", "boot_deadline_ms": 90000}
JSON
  cat > "$DK_DIR/daemon.json" <<JSON
{"runtimes": {"cvm": {"path": "$RT_BIN", "runtimeArgs": ["--cvm-config", "$DK_DIR/cvm.json"]}}}
JSON
  /usr/sbin/dockerd --config-file "$DK_DIR/daemon.json" --data-root "$DK_DIR/data" \
    --exec-root "$DK_DIR/exec" --host "unix://$DK_SOCK" --pidfile "$DK_DIR/docker.pid" \
    --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2 \
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
  [[ -n ${DK_PID:-} ]] || return 0
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
  DK_PID=
}

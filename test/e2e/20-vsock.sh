#!/usr/bin/env bash
# End to end: hybrid vsock through cvm-vsockd under a real QEMU microvm (TCG is fine).
# First a scripted front end plays QEMU and a hostile guest (test/guest/vsockd_fake_qemu.py),
# then one VM boot serves every real-guest case. The guest runs test/guest/vsock_test_init.c as /init; the
# host side is test/guest/vsock_host_driver.py. Prints PASS:/FAIL: lines; any failure to set
# up is a FAIL, never a skip. Cleans up processes, sockets and the temp dir on every exit.
#   BUILD=build/vsockd bash test/e2e/20-vsock.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VSOCKD=$BUILD/bin/cvm-vsockd
PY=${PYTHON:-python3}
VM_TMP=""
failed=0
source test/guest/vsock_vm_lib.sh

fail() { echo "FAIL: $1: $2"; failed=1; }
die() { fail "$1" "$2"; exit 1; }

cleanup() {
  vm_stop
  if [[ -n $VM_TMP && $failed -ne 0 ]]; then
    echo "--- vsockd log"; tail -20 "$VM_TMP/vsockd.log" 2>/dev/null
    echo "--- guest console"; tail -20 "$VM_TMP/serial.log" 2>/dev/null
  fi
  [[ -n $VM_TMP ]] && rm -rf "$VM_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[[ $(id -u) -eq 0 ]] || die vsock_setup "must run as root"
[[ -x $VSOCKD ]] || die vsock_setup "$VSOCKD not built (make BUILD=$BUILD all)"
VM_TMP=$(mktemp -d /tmp/cvm-vsock-e2e.XXXXXX)

# Without a VM: the backend against a scripted QEMU and a hostile guest.
timeout 120 "$PY" test/guest/vsockd_fake_qemu.py "$VSOCKD" "$VM_TMP" || failed=1
# The same confined as the shim runs it (hypervisor/vsock_backend.c): --root, a sandbox uid;
# the guest→host convention (<uds>_<port>) keeps working from inside.
timeout 120 "$PY" test/guest/vsockd_fake_qemu.py "$VSOCKD" "$VM_TMP" confined=1000065400 || failed=1

vm_start > "$VM_TMP/why" || die vsock_vm_boot "$(cat "$VM_TMP/why")"
echo "PASS: vsock_vm_boot (vsockd READY, guest listening)"

timeout 600 "$PY" test/guest/vsock_host_driver.py e2e "$VM_UDS" "$VSOCKD_PID" || failed=1

# The backend exits on its own once QEMU hangs up.
kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null; QEMU_PID=""
for _ in $(seq 50); do kill -0 "$VSOCKD_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$VSOCKD_PID" 2>/dev/null; then
  fail vsockd_exits_with_qemu "still running 5 s after QEMU exited"
else
  wait "$VSOCKD_PID"; rc=$?; VSOCKD_PID=""
  if [[ $rc -eq 0 ]]; then echo "PASS: vsockd_exits_with_qemu"; else fail vsockd_exits_with_qemu "exit status $rc"; fi
fi
if grep -q 'level=error' "$VM_TMP/vsockd.log"; then
  fail vsockd_log_clean "$(grep -m1 'level=error' "$VM_TMP/vsockd.log")"
else
  echo "PASS: vsockd_log_clean"
fi
exit $failed

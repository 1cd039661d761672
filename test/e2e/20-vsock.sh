#!/usr/bin/env bash
# End to end: hybrid vsock through cvm-vsockd under a real QEMU microvm (TCG is fine).
# One VM boot serves every case. The guest runs test/guest/vsock_test_init.c as /init; the
# host side is test/guest/vsock_host_driver.py. Prints PASS:/FAIL: lines; any failure to set
# up is a FAIL, never a skip. Cleans up processes, sockets and the temp dir on every exit.
#   BUILD=build/vsockd bash test/e2e/20-vsock.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VSOCKD=$BUILD/bin/cvm-vsockd
PY=${PYTHON:-python3}
tmp="" qemu_pid="" vsockd_pid=""
failed=0

fail() { echo "FAIL: $1: $2"; failed=1; }
die() { fail "$1" "$2"; exit 1; }

cleanup() {
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  [[ -n $vsockd_pid ]] && kill "$vsockd_pid" 2>/dev/null && wait "$vsockd_pid" 2>/dev/null
  if [[ -n $tmp && $failed -ne 0 ]]; then
    echo "--- vsockd log"; tail -20 "$tmp/vsockd.log" 2>/dev/null
    echo "--- guest console"; tail -20 "$tmp/serial.log" 2>/dev/null
  fi
  [[ -n $tmp ]] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[[ $(id -u) -eq 0 ]] || die vsock_setup "must run as root"
[[ -x $VSOCKD ]] || die vsock_setup "$VSOCKD not built (make BUILD=$BUILD all)"
command -v qemu-system-x86_64 >/dev/null || die vsock_setup "qemu-system-x86_64 missing"
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[[ -r $kernel ]] || die vsock_setup "no kernel $kernel"

tmp=$(mktemp -d /tmp/cvm-vsock-e2e.XXXXXX)
gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$tmp/init" \
  test/guest/vsock_test_init.c || die vsock_setup "building the guest init failed"
bash test/guest/mkinitrd-test.sh "$tmp/init" "$tmp/initrd" "$kver" || die vsock_setup "building the test initrd failed"

# The guest TSC runs at the host's rate under TCG; tell the kernel so boot never hangs.
mhz=$(awk -F: '/cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
[[ -n $mhz && $mhz -gt 0 ]] || mhz=2000

"$VSOCKD" --vhost-user-socket "$tmp/vu.sock" --uds-path "$tmp/vsock.sock" --guest-cid 3 \
  > "$tmp/ready" 2> "$tmp/vsockd.log" &
vsockd_pid=$!
for _ in $(seq 100); do grep -q '^READY$' "$tmp/ready" && break; sleep 0.05; done
grep -q '^READY$' "$tmp/ready" || die vsockd_ready "no READY line within 5 s"
echo "PASS: vsockd_ready"

qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on,memory-backend=mem \
  -accel tcg -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
  -object memory-backend-memfd,id=mem,size=256M,share=on \
  -kernel "$kernel" -initrd "$tmp/initrd" \
  -append "console=ttyS0 quiet tsc_early_khz=${mhz}000 tsc=reliable no_timer_check panic=-1 reboot=t" \
  -serial "file:$tmp/serial.log" \
  -chardev "socket,id=vsock,path=$tmp/vu.sock" -device vhost-user-vsock-pci,chardev=vsock \
  > "$tmp/qemu.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 600); do
  grep -q VSOCK_TEST_READY "$tmp/serial.log" 2>/dev/null && break
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q VSOCK_TEST_READY "$tmp/serial.log" 2>/dev/null ||
  die guest_boot "guest not ready within 60 s: $(tail -3 "$tmp/qemu.log" "$tmp/serial.log" 2>/dev/null | tr '\n' ' ')"
echo "PASS: guest_boot"

timeout 600 "$PY" test/guest/vsock_host_driver.py e2e "$tmp/vsock.sock" "$vsockd_pid" || failed=1

# The backend exits on its own once QEMU hangs up.
kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null; qemu_pid=""
for _ in $(seq 50); do kill -0 "$vsockd_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$vsockd_pid" 2>/dev/null; then
  fail vsockd_exits_with_qemu "still running 5 s after QEMU exited"
else
  wait "$vsockd_pid"; rc=$?; vsockd_pid=""
  if [[ $rc -eq 0 ]]; then echo "PASS: vsockd_exits_with_qemu"; else fail vsockd_exits_with_qemu "exit status $rc"; fi
fi
if grep -q 'level=error' "$tmp/vsockd.log"; then
  fail vsockd_log_clean "$(grep -m1 'level=error' "$tmp/vsockd.log")"
else
  echo "PASS: vsockd_log_clean"
fi
exit $failed

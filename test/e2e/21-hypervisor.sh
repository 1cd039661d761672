#!/usr/bin/env bash
# 21-hypervisor: hypervisor/ end to end under TCG, through hv.h (test/drivers/hv_driver.c).
#
# Two VM boots of the Debian cloud kernel with a tiny initrd whose /init is
# test/guest/idle_init.c (loads virtio-pci/virtiofs/vsock modules, mounts the virtio-fs tag,
# prints IDLE-READY, serves an echo on vsock port 1024):
#   boot 1: in a fresh netns with a tap NIC, hybrid vsock (cvm-vsockd), virtiofs; QMP
#           stop/cont/query-status, vsock round trip; hv_stop (QMP quit) -> no process,
#           socket or file left, and the tap QEMU created is gone from the netns.
#   boot 2: kill -9 of QEMU -> reported within 1 s with the signal and the console tail;
#           virtiofsd and cvm-vsockd stopped, run dir gone.
# Root only. Prints PASS:/FAIL: lines; exits non-zero on any failure; never skips.
# The driver's NOTE lines carry the boot-phase timings (QEMU spawned -> QMP ready -> console
# "IDLE-READY"; guest uptime at init and at ready). Measured 2026-11-23 on the 2-vCPU TCG
# workplace, 1 vCPU / 256 MiB guest, Debian 6.1 cloud bzImage, 10 modules loaded by the init,
# load average 4-8 from parallel work: QMP ready 175-820 ms after spawn; console ready line
# 3.4-8.1 s wall after spawn; guest uptime at init 1.35-4.3 s; SIGKILL -> died callback
# 14-99 ms.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
die() { fail "$1" "$2"; exit 1; }

[[ $(id -u) -eq 0 ]] || die setup "must run as root"
DRIVER=$BUILD/test/hv_driver
INIT=$BUILD/test/guest/idle_init
VSOCKD=${CVM_VSOCKD:-$BUILD/bin/cvm-vsockd}
QEMU=$BUILD/qemu-system-x86_64 # ours (hypervisor/qemu/build.sh), as the shim picks it
for f in "$DRIVER" "$INIT" "$VSOCKD" "$QEMU"; do
  [[ -x $f ]] || die setup "$f not built (make BUILD=$BUILD all)"
done
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[[ -n $KERNEL ]] || die setup "no /boot/vmlinuz-* (linux-image-cloud-amd64)"
KVER=${KERNEL#/boot/vmlinuz-}
[[ -x /usr/lib/qemu/virtiofsd ]] || die setup "/usr/lib/qemu/virtiofsd missing"

T=$(mktemp -d /tmp/cvm-hv-e2e.XXXXXX)
NETNS=cvm-hv-e2e-$$
driver_pid=
cleanup() {
  [[ -n $driver_pid ]] && kill -9 "$driver_pid" 2>/dev/null
  ip netns del "$NETNS" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# --- the test initrd: idle_init as /init + the modules it loads (deps first) ---
mkdir -p "$T/root/etc"
cp "$INIT" "$T/root/init"
: > "$T/root/etc/modules.load"
for m in virtio_pci virtiofs vmw_vsock_virtio_transport virtio_net; do
  modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  mkdir -p "$T/root$(dirname "$ko")"
  cp "$ko" "$T/root$ko"
  echo "$ko" >> "$T/root/etc/modules.load"
done
[[ -s $T/root/etc/modules.load ]] || die setup "no modules resolved for $KVER"
(cd "$T/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$T/initrd.img" \
  || die setup "cpio failed"
mkdir -p "$T/shared"
echo hello-from-host > "$T/shared/hello"
ip netns add "$NETNS" || die setup "ip netns add"

# Run the driver; relay its PASS/FAIL lines; keep NOTE lines (timings) in the log.
run_driver() { # $1 = label, rest = driver args
  local label=$1 rc
  shift
  "$DRIVER" --kernel "$KERNEL" --initrd "$T/initrd.img" --vsock-mode hybrid --vsockd "$VSOCKD" --qemu "$QEMU" \
    "$@" > "$T/$label.out" 2> "$T/$label.err" &
  driver_pid=$!
  wait "$driver_pid"; rc=$?
  driver_pid=
  sed "s/^PASS: /PASS: $label-/; s/^FAIL: /FAIL: $label-/" "$T/$label.out"
  grep -c '^FAIL: ' "$T/$label.out" > /dev/null && fails=$((fails + $(grep -c '^FAIL: ' "$T/$label.out")))
  if [[ $rc -ne 0 ]] && ! grep -q '^FAIL: ' "$T/$label.out"; then
    fail "$label-driver" "exited $rc"
  fi
  if [[ $rc -ne 0 ]]; then
    echo "--- $label driver log (tail)"; tail -30 "$T/$label.err"
  fi
}

# Nothing left behind: no process mentioning the test dir (QEMU names the run dir,
# virtiofsd the shared dir, cvm-vsockd its sockets), and no run dir.
check_clean() { # $1 = label, $2 = run dir
  local left
  left=$(pgrep -af -- "$T/" | grep -v "^$$ " || true)
  if [[ -z $left ]]; then pass "$1-no-process-left"; else fail "$1-no-process-left" "$left"; fi
  if [[ ! -e $2 ]]; then pass "$1-no-file-left"; else fail "$1-no-file-left" "$(ls -la "$2")"; fi
}

# --- boot 1: full check, ends with hv_stop (QMP quit) ---
RUN1=$T/run1
run_driver boot1 --run-dir "$RUN1" --shared-dir "$T/shared" --fs-tag e2efs \
  --console "$T/console1.log" --vsock-port 1024 --netns "/run/netns/$NETNS" \
  --tap cvmtap0 --mac 52:54:00:c0:ff:ee \
  --append "idle.fs=e2efs idle.vsock=1024" --end quit
check_clean boot1 "$RUN1"
if ip netns exec "$NETNS" ip link show cvmtap0 > /dev/null 2>&1; then
  fail "boot1-tap-gone" "cvmtap0 still in netns $NETNS"
else
  pass "boot1-tap-gone"
fi
if grep -q 'IDLE-READY' "$T/console1.log" 2>/dev/null; then
  pass "boot1-console-log-written"
else
  fail "boot1-console-log-written" "no IDLE-READY in $T/console1.log"
fi

# --- boot 2: kill -9 of QEMU ---
RUN2=$T/run2
run_driver boot2 --run-dir "$RUN2" --shared-dir "$T/shared" --fs-tag e2efs \
  --append "idle.fs=e2efs" --end kill
check_clean boot2 "$RUN2"

echo "21-hypervisor: $fails failure(s)"
[[ $fails -eq 0 ]]

# Sourced by test/e2e/20-vsock.sh and test/bench/vsock-bench.sh: boots one TCG microvm whose
# vhost-user-vsock device is served by cvm-vsockd, with vsock_test_init as the guest's /init.
# Needs: VSOCKD (binary), VM_TMP (private temp dir). Sets: VSOCKD_PID, QEMU_PID, VM_UDS.
# vm_start prints why and returns non-zero on failure; call it in the current shell (not in
# $(...)), or the pids are lost. vm_stop kills what vm_start started.

vm_start() {
  local kver kernel mhz
  VSOCKD_PID="" QEMU_PID="" VM_UDS=$VM_TMP/vsock.sock
  QEMU=${BUILD:-build}/qemu-system-x86_64 # ours (hypervisor/qemu/build.sh), as the shim picks it
  [[ -x $QEMU ]] || { echo "$QEMU not built (make qemu)"; return 1; }
  [[ -x $VSOCKD ]] || { echo "$VSOCKD not built"; return 1; }
  kver=$(ls /lib/modules | sort -V | tail -1)
  kernel=/boot/vmlinuz-$kver
  [[ -r $kernel ]] || { echo "no kernel $kernel"; return 1; }
  gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$VM_TMP/init" \
    test/guest/vsock_test_init.c || { echo "building the guest init failed"; return 1; }
  bash initrd/mkinitrd.sh --kver "$kver" --init "$VM_TMP/init" --out "$VM_TMP/initrd" \
    --modules "virtio_pci vmw_vsock_virtio_transport" > "$VM_TMP/mkinitrd.log" 2>&1 ||
    { echo "building the test initrd failed: $(tail -3 "$VM_TMP/mkinitrd.log")"; return 1; }
  # The guest TSC runs at the host's rate under TCG; telling the kernel avoids boot hangs.
  mhz=$(awk -F: '/cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
  [[ -n $mhz && $mhz -gt 0 ]] || mhz=2000

  "$VSOCKD" --vhost-user-socket "$VM_TMP/vu.sock" --uds-path "$VM_UDS" --guest-cid 3 \
    > "$VM_TMP/ready" 2> "$VM_TMP/vsockd.log" &
  VSOCKD_PID=$!
  for _ in $(seq 100); do grep -q '^READY$' "$VM_TMP/ready" && break; sleep 0.05; done
  grep -q '^READY$' "$VM_TMP/ready" || { echo "cvm-vsockd printed no READY within 5 s"; return 1; }

  "$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on,memory-backend=mem \
    -accel tcg -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
    -object memory-backend-memfd,id=mem,size=256M,share=on \
    -kernel "$kernel" -initrd "$VM_TMP/initrd" \
    -append "console=ttyS0 quiet tsc_early_khz=${mhz}000 tsc=reliable no_timer_check panic=-1 reboot=t" \
    -serial "file:$VM_TMP/serial.log" \
    -chardev "socket,id=vsock,path=$VM_TMP/vu.sock" -device vhost-user-vsock-pci,chardev=vsock \
    > "$VM_TMP/qemu.log" 2>&1 &
  QEMU_PID=$!
  for _ in $(seq 600); do
    grep -q VSOCK_TEST_READY "$VM_TMP/serial.log" 2>/dev/null && return 0
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "guest not ready within 60 s: $(tail -3 "$VM_TMP/qemu.log" "$VM_TMP/serial.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

vm_stop() {
  [[ -n ${QEMU_PID:-} ]] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
  QEMU_PID=""
  [[ -n ${VSOCKD_PID:-} ]] && kill "$VSOCKD_PID" 2>/dev/null && wait "$VSOCKD_PID" 2>/dev/null
  VSOCKD_PID=""
}

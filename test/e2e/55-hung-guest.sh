#!/usr/bin/env bash
# 55-hung-guest: a guest that stops answering, a SIGKILL it does not act on, a guest kernel
# panic, and validation that does not stop at the 64th annotation — through the real ctr and
# a private containerd 1.6.20, with real QEMU.
#   - QEMU SIGSTOPped under a running task (a livelocked guest, a deadlocked agent): the task
#     exits 255 within guest_timeout_ms with "guest not responding", QEMU is killed
#   - the same with "ctr task kill -s SIGKILL": Kill returns within kill_grace_ms, the task
#     exits 137, QEMU is killed
#   - a container with CAP_SYS_ADMIN panics the guest kernel (sysrq-trigger): the reason names
#     the panic
#   - 100 annotations with a bad io.containerd.cvm.* one last: Create names it; a guest larger
#     than the host: Create names both sizes, before any VM boots
#   - nothing left behind
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

stopped_qemu=
cleanup() {
  [[ -n $stopped_qemu ]] && kill -CONT "$stopped_qemu" 2>/dev/null
  shim_ctd_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail hung-guest "must run as root"; exit 1; }
shim_env_check || exit 1
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
ours() { shim_footprint_ours "$CTD_SOCK" default hg1 hg2 hg3 hg4 hg5; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
qemu_gone() { for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }

# ctr 1.6 has no "task wait": a foreground ctr run returns the task's exit status
run_bg() { # id config -> ctr run in the background; $RUN_PID, exit status in $CTD_DIR/<id>.rc
  (timeout 120 ctr run --rm --runtime "$RT" --runtime-config-path "$2" "$IMG" "$1" sleep 1000 >/dev/null 2>&1
   echo $? > "$CTD_DIR/$1.rc") &
  RUN_PID=$!
  for _ in $(seq 1 600); do [[ $(task_field "$1" 3) == RUNNING ]] && return 0; sleep 0.2; done
  return 1
}

# --- 1. a hung guest is declared dead by the heartbeat
shim_write_config "$CTD_DIR/hb.json" 90000 '"guest_timeout_ms": 3000'
run_bg hg1 "$CTD_DIR/hb.json" || fail hung-setup "hg1 not running"
q1=$(task_field hg1 2)
kill -STOP "$q1"; stopped_qemu=$q1
t0=$(date +%s%N)
wait "$RUN_PID"
el=$(ms_since "$t0")
status=$(cat "$CTD_DIR/hg1.rc" 2>/dev/null)
note "SIGSTOPped QEMU: ctr run returned after $el ms with exit status $status"
[[ $status == 255 && $el -lt 8000 ]] && pass hung-guest-exits-255 || fail hung-guest-exits-255 "after $el ms: status '$status'"
grep -q 'guest not responding for 3 s' "$CTD_DIR/containerd.log" && pass hung-guest-reason || fail hung-guest-reason "no reason in the shim log"
qemu_gone "$q1" && pass hung-guest-qemu-killed || fail hung-guest-qemu-killed "QEMU $q1 still there"
stopped_qemu=

# --- 2. SIGKILL of a hung guest's init returns and ends it
shim_write_config "$CTD_DIR/kill.json" 90000 '"guest_timeout_ms": 60000, "kill_grace_ms": 2000'
run_bg hg2 "$CTD_DIR/kill.json" || fail hung-setup "hg2 not running"
q2=$(task_field hg2 2)
kill -STOP "$q2"; stopped_qemu=$q2
t0=$(date +%s%N)
(timeout 40 ctr task exec --exec-id x hg2 true > "$CTD_DIR/x.out" 2>&1; echo $? > "$CTD_DIR/x.rc") &
xpid=$!
sleep 0.5
out=$(timeout 30 ctr task kill -s SIGKILL hg2 2>&1); rc=$?
el=$(ms_since "$t0")
note "ctr task kill -s SIGKILL on a stopped QEMU: rc=$rc after $el ms"
[[ $rc -eq 0 && $el -lt 6000 ]] && pass hung-guest-sigkill-returns || fail hung-guest-sigkill-returns "rc=$rc after $el ms: $out"
wait "$xpid"
xel=$(ms_since "$t0")
note "an exec started on the hung guest ended after $xel ms: rc=$(cat "$CTD_DIR/x.rc") $(head -c 200 "$CTD_DIR/x.out")"
[[ $(cat "$CTD_DIR/x.rc") -ne 0 && $xel -lt 10000 ]] && pass hung-guest-exec-ends || fail hung-guest-exec-ends "after $xel ms"
wait "$RUN_PID"
status=$(cat "$CTD_DIR/hg2.rc" 2>/dev/null)
[[ $status == 137 ]] && pass hung-guest-sigkill-137 || fail hung-guest-sigkill-137 "ctr run exit status '$status'"
qemu_gone "$q2" && pass hung-guest-sigkill-qemu-killed || fail hung-guest-sigkill-qemu-killed "QEMU $q2 still there"
stopped_qemu=

# --- 3. a guest kernel panic is named
shim_write_config "$CTD_DIR/cvm.json"
# (not --privileged: ctr's privileged adds every host device, which a VM refuses, naming one;
# CAP_SYS_ADMIN mounts a proc of its own, whose sysrq-trigger is not masked)
out=$(timeout 60 ctr run --rm --privileged --runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" hg3p true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"linux.devices: /dev/"*"the guest kernel has no such device"* ]] &&
  pass privileged-host-devices-refused-naming-one || fail privileged-host-devices-refused-naming-one "rc=$rc: ${out:0:300}"
timeout 120 ctr run --rm --cap-add CAP_SYS_ADMIN --runtime "$RT" --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" hg3 \
  sh -c 'mkdir -p /tmp/p && mount -t proc proc /tmp/p && echo c > /tmp/p/sysrq-trigger; sleep 30' >/dev/null 2>&1; rc=$?
reason=$(grep -o 'VM hg3 died: [^"]*' "$CTD_DIR/containerd.log" | head -1)
note "panic: rc=$rc; ${reason:0:240}"
[[ $rc -eq 255 && $reason == *"guest kernel panic: Kernel panic - not syncing: sysrq triggered crash"* ]] &&
  pass guest-panic-named || fail guest-panic-named "rc=$rc reason='$reason'"

# --- 4. validation with no cap, and sizes that mean something here (the operator allows the
# memory annotation and bounds it by nothing but the host: the host check is what is tested)
shim_write_config "$CTD_DIR/cvm.json" 90000 '"allowed_annotations": ["io.containerd.cvm.memory_mib"], "max_memory_mib": 1048576'
anns=()
for i in $(seq 1 100); do anns+=(--annotation "example.com/harmless-$i=v$i"); done
out=$(timeout 60 ctr run --rm "${anns[@]}" --annotation io.containerd.cvm.memory_mib=-1 --runtime "$RT" \
  --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" hg4 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"io.containerd.cvm.memory_mib"* ]] && pass annotation-101st-checked || fail annotation-101st-checked "rc=$rc $out"
ctr containers delete hg4 >/dev/null 2>&1
t0=$(date +%s%N)
out=$(timeout 60 ctr run --rm --annotation io.containerd.cvm.memory_mib=1048576 --runtime "$RT" \
  --runtime-config-path "$CTD_DIR/cvm.json" "$IMG" hg5 true 2>&1); rc=$?
el=$(ms_since "$t0")
[[ $rc -ne 0 && $el -lt 5000 && $out == *"guest memory 1048576 MiB is more than this host has"* ]] &&
  pass guest-larger-than-host-refused || fail guest-larger-than-host-refused "rc=$rc after $el ms: $out"
ctr containers delete hg5 >/dev/null 2>&1

sleep 1
new=$(ours)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
shim_log_check
exit $FAILED

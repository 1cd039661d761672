#!/usr/bin/env bash
# End-to-end: the warm VM pool (README "Warm VM pool") through ctr and a private containerd in
# a network namespace of the test's own, with "pool": {"size": 2}:
#   - the first run boots cold (empty pool, boot.log/log say why) and fills the pool;
#   - each warm VM emptied its TCG translation cache before its rehearsal, and has the pool's
#     cache size;
#   - a sandbox claims a warm VM (boot.log "pool: claimed slot N"), its QEMU runs in the
#     sandbox's run dir at normal priority, with its hostname; three in a row drain and refill;
#   - a sandbox of another shape (vcpus annotation) boots cold, says why, and works;
#   - a changed runtime config: the warm VMs of the old one are not claimed, the pool refills;
#   - ctr run --cni from a pooled VM reaches the CNI bridge (runc beside it);
#   - kill -9 of every unclaimed warm shim while a claimed sandbox runs: it keeps running and
#     deletes clean; the dead slots are swept by the next start; pool-drain empties the pool;
#     nothing leaks (processes, mounts, slot dirs, uid leases).
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh

unset CVM_POOL_SIZE # this tier sizes its own pool
SHIM=$PWD/$SHIM_BIN
POOL=/run/cvm/pool
cleanup() {
  shim_ctd_teardown
  "$SHIM" pool-drain >/dev/null 2>&1
  for _ in $(seq 1 100); do pgrep -f "$SHIM_BIN pool-warm" >/dev/null || break; sleep 0.1; done
  net_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-pool "must run as root"; exit 1; }
shim_env_check || exit 1
"$SHIM" pool-drain >/dev/null 2>&1 # a pool an aborted run left
net_setup || exit 1
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG" 90000 '"allowed_annotations": ["io.containerd.cvm.vcpus"], "pool": {"size": 2}'
RUN=(ctr run --runtime "$RT" --runtime-config-path "$CFG")
LOG=$CTD_DIR/containerd.log

# the unclaimed warm shims: the holders of the slots' locks (a claimed one gave its lock up;
# its argv still reads "pool-warm <slot>")
warm_pids() { fuser "$POOL"/[0-9]*.lock 2>/dev/null | tr ' ' '\n' | grep . | sort -u; }
warm_count() { local n=0 s; for s in "$POOL"/[0-9]*.sock; do [[ -S $s ]] && n=$((n + 1)); done; echo $n; }
wait_warm() { # $1 = how many warm (control socket bound) within 120 s
  for _ in $(seq 1 600); do [[ $(warm_count) -ge $1 ]] && return 0; sleep 0.2; done; return 1
}
run_dir_of() { echo "/run/cvm/$(printf '%s' "$CTD_SOCK/default/$1" | sha256sum | cut -c1-16)"; }
claimed_lines() { grep -c 'pool: claimed slot' "$LOG"; }
wait_running() { for _ in $(seq 1 150); do [[ $(task_field "$1" 3) == RUNNING ]] && return 0; sleep 0.2; done; return 1; }
counter() { stat -c %s "$POOL/$1" 2>/dev/null || echo 0; }

# --- 1. empty pool: cold, with the reason; the pool fills behind it
out=$(timeout 120 "${RUN[@]}" --rm "$IMG" p0 echo p0-ok 2>&1); rc=$?
[[ $rc -eq 0 && $out == *p0-ok* ]] && grep -q 'pool: cold boot: no warm VM in the pool' "$LOG" &&
  pass pool-empty-boots-cold || fail pool-empty-boots-cold "rc=$rc out=$out $(grep -m2 'pool:' "$LOG")"
wait_warm 2 && pass pool-fills-to-size || fail pool-fills-to-size "warm=$(warm_count) $(ls $POOL 2>&1 | tr '\n' ' ') $(tail -3 $POOL/*.log 2>/dev/null | tr '\n' '|')"
[[ $(warm_pids | wc -l) -eq 2 ]] || fail pool-fills-to-size "warm shims: $(warm_pids | tr '\n' ' ')"
# each warm VM rehearsed a container before it was offered (shim/daemon/warm_rehearse.h) and
# the rehearsal left nothing in the host tree of its share
reh=$(grep -l 'container path rehearsed in' "$POOL"/[01].log 2>/dev/null | wc -l)
left=$(ls -A "$POOL"/0/mounts "$POOL"/1/mounts 2>&1 | grep -vE '^$|:$')
[[ $reh -eq 2 && -z $left ]] && pass pool-warm-vm-rehearsed ||
  fail pool-warm-vm-rehearsed "rehearsed in $reh of 2 slot logs; left in the shares: '$left' $(tail -2 "$POOL"/[01].log 2>/dev/null | tr '\n' '|')"
# under TCG each warm VM emptied its translation cache before the rehearsal
# (shim/sandbox/code_cache_reset.h): the flush came, and little of the filler was left in it;
# its QEMU has the pool's cache size (pool.tcg_cache_mib, 32 by default), and after the
# rehearsal the cache's pages past the live code were given back (hypervisor/tcg_trim.c: at
# least 8 MiB of the 32); under KVM there is nothing to reset and the log says so
wq=$(pgrep -f "qemu-system-x86_64.*$POOL/0/" | head -1)
if "$BUILD/bin/cvm-check" 2>&1 | grep -qE '^[a-z]+ +accel: kvm'; then
  n=$(grep -l 'no translation cache to reset (KVM)' "$POOL"/[01].log 2>/dev/null | wc -l)
  [[ $n -eq 2 ]] && pass pool-warm-code-cache-reset || fail pool-warm-code-cache-reset "KVM: $n of 2 slot logs say so"
else
  lines=$(grep -ho 'translation cache reset in [0-9]* ms: flushed after [0-9]* calls, [0-9]* rounds of fresh code; [0-9]* of [0-9]* KiB in use' "$POOL"/[01].log 2>/dev/null)
  small=$(awk '{used = $(NF - 5); cap = $(NF - 3); if (used * 4 < cap) n++} END {print n + 0}' <<< "$lines")
  [[ $(grep -c . <<< "$lines") -eq 2 && $small -eq 2 ]] && pass pool-warm-code-cache-reset ||
    fail pool-warm-code-cache-reset "lines: '$lines' $(grep -h 'translation cache' "$POOL"/[01].log | tr '\n' '|')"
  [[ -n $wq ]] && tr '\0' ' ' < "/proc/$wq/cmdline" | grep -q -- '-accel tcg,tb-size=32,split-wx=on ' &&
    pass pool-warm-vm-cache-size || fail pool-warm-vm-cache-size "qemu=$wq: $(tr '\0' ' ' < "/proc/$wq/cmdline" 2>&1 | grep -o 'tcg[^ ]*')"
  kib=$(grep -ho 'translation cache trimmed: [0-9]* KiB given back' "$POOL"/[01].log 2>/dev/null | awk '$4 >= 8192 {n++} END {print n + 0}')
  [[ $kib -eq 2 ]] && pass pool-warm-code-cache-trimmed ||
    fail pool-warm-code-cache-trimmed "$(grep -h 'translation cache' "$POOL"/[01].log | tr '\n' '|')"
  # a warm VM keeps its cache for the claimer however long it idles (shim/sandbox/
  # idle_reclaim.h: held until the claim): past tcg_idle_reset_s (10 s), no idle reset
  sleep 14
  n=$(grep -l 'idle: translation cache' "$POOL"/[01].log 2>/dev/null | wc -l)
  [[ $n -eq 0 && $(warm_count) -eq 2 ]] && pass pool-warm-vm-no-idle-reset ||
    fail pool-warm-vm-no-idle-reset "idle resets in $n slot logs, warm=$(warm_count): $(grep -h 'idle: translation cache' "$POOL"/[01].log | tr '\n' '|')"
fi
# a warm VM boots at SCHED_IDLE (chrt: "SCHED_IDLE")
[[ -n $wq && $(chrt -p "$wq") == *SCHED_IDLE* ]] && pass pool-warm-vm-idle-priority || fail pool-warm-vm-idle-priority "qemu=$wq $(chrt -p "$wq" 2>&1)"

# --- 2. a claim: boot.log says so, QEMU is in the sandbox's run dir at normal priority
c0=$(counter claimed)
t0=$(date +%s%N)
out=$(timeout 60 "${RUN[@]}" -d "$IMG" p1 sleep 600 2>&1); rc=$?
wait_running p1; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
RD1=$(run_dir_of p1)
if [[ $rc -eq 0 ]] && grep -q '^pool: claimed slot [01]$' "$RD1/boot.log" 2>/dev/null; then pass pool-claim-boot-log
else fail pool-claim-boot-log "rc=$rc out=$out boot.log=$(cat "$RD1/boot.log" 2>&1 | tr '\n' '|') $(grep -m3 'level=error' "$LOG")"; fi
note "ctr run -d from the pool: $ms ms"
pid1=$(task_field p1 2)
# QEMU's argv names the pool slot it was started in; the sandbox's run dir has its pid file
# (what `shim delete` reads after a crash) and its QEMU runs at normal priority now
qp1=$(cut -d' ' -f1 "$RD1/qemu.pid" 2>/dev/null)
# every thread of QEMU, virtiofsd (and the worker it forks) and cvm-vsockd left SCHED_IDLE
idle=""
vfs1=$(cut -d' ' -f1 "$RD1/virtiofsd.pid" 2>/dev/null)
for p in $qp1 $vfs1 $(pgrep -P "${vfs1:-0}") $(cut -d' ' -f1 "$RD1/vsockd.pid" 2>/dev/null); do
  for t in /proc/$p/task/*; do chrt -p "${t##*/}" 2>/dev/null | grep -q SCHED_IDLE && idle+="$p/${t##*/} "; done
done
[[ -z $idle ]] && pass pool-claimed-vm-normal-priority || fail pool-claimed-vm-normal-priority "still SCHED_IDLE: $idle"
[[ -n $pid1 && $pid1 == "$qp1" && $(cat /proc/$pid1/comm) == qemu-system-x86* && $(chrt -p "$pid1") == *SCHED_OTHER* && -e $RD1/vm/console.log ]] &&
  pass pool-claimed-qemu-is-the-sandboxs || fail pool-claimed-qemu-is-the-sandboxs "task pid=$pid1 qemu.pid=$qp1 $(chrt -p "$pid1" 2>&1) $(ls "$RD1" 2>&1 | tr '\n' ' ')"
h1=$(ctr task exec --exec-id h1 p1 hostname 2>&1) # compared with a cold VM's below (ctr sets none)
[[ $(counter claimed) -eq $((c0 + 1)) ]] && pass pool-claimed-counter || fail pool-claimed-counter "claimed $c0 -> $(counter claimed)"
st=$(cvm-check --config "$CFG" 2>&1 | grep -i '^ *pool')
[[ $st == *"size 2"* && $st == *claimed* && $st == *failures* ]] && pass cvm-check-shows-pool || fail cvm-check-shows-pool "'$st'"

# the rehearsal's container is gone from the claimed guest too: a container of its id is made
# (the agent refuses an id it still has) in the claimed VM, as a second container of p1
out=$(timeout 60 "${RUN[@]}" --rm --annotation io.containerd.cvm.v1.group=p1 "$IMG" cvm-pool-rehearsal echo reh-ok 2>&1); rc=$?
[[ $rc -eq 0 && $out == *reh-ok* && $(ls -A "$RD1/mounts") =~ ^p1\.[0-9a-f]{16}$ ]] && pass pool-claimed-vm-has-no-rehearsal ||
  fail pool-claimed-vm-has-no-rehearsal "rc=$rc out=$out mounts: $(ls -A "$RD1/mounts" | tr '\n' ' ')"

# --- 3. three in a row drain and refill: each claims a warm VM
wait_warm 2 || fail pool-refill "warm=$(warm_count)"
n0=$(claimed_lines)
ok=1
for i in 2 3 4; do
  wait_warm 1 || { ok=0; break; }
  t0=$(date +%s%N)
  out=$(timeout 60 "${RUN[@]}" --rm "$IMG" "p$i" echo "p$i-ok" 2>&1); rc=$?
  note "ctr run --rm p$i: $(( ($(date +%s%N) - t0) / 1000000 )) ms (warm before: pool had $(warm_count) after)"
  [[ $rc -eq 0 && $out == *p$i-ok* ]] || { ok=0; note "p$i: rc=$rc out=$out"; }
done
n1=$(claimed_lines)
[[ $ok -eq 1 && $((n1 - n0)) -eq 3 ]] && pass pool-three-in-a-row-claimed || fail pool-three-in-a-row-claimed "ok=$ok claimed lines $n0 -> $n1"
wait_warm 2 && pass pool-refilled || fail pool-refilled "warm=$(warm_count)"

# --- 4. another shape boots cold, says why, works
out=$(timeout 120 "${RUN[@]}" --rm --annotation io.containerd.cvm.vcpus=2 "$IMG" p5 sh -c 'grep -c ^processor /proc/cpuinfo; hostname' 2>&1); rc=$?
[[ $rc -eq 0 && $(head -1 <<< "$out") == 2 && -n $h1 && $(sed -n 2p <<< "$out") == "$h1" ]] && pass pool-claimed-hostname-as-cold ||
  fail pool-claimed-hostname-as-cold "pooled '$h1' cold '$(sed -n 2p <<< "$out")'"
[[ $rc -eq 0 && $(head -1 <<< "$out") == 2 ]] && grep -q 'pool: cold boot: annotation io.containerd.cvm.vcpus=2 differs' "$LOG" &&
  pass pool-other-shape-cold || fail pool-other-shape-cold "rc=$rc out=$out $(grep 'pool: cold' "$LOG" | tail -1)"
[[ $(warm_count) -eq 2 ]] && pass pool-other-shape-leaves-pool || fail pool-other-shape-leaves-pool "warm=$(warm_count)"

# --- 4b. the operator changes the runtime config: the warm VMs booted from the old one are not
# claimed (told to exit), the start boots cold and says why, the pool refills from the new one
# (shim/pool/pool_slot.h pool_version), and the next start claims again
shim_write_config "$CFG" 90000 '"allowed_annotations": ["io.containerd.cvm.vcpus"], "pool": {"size": 2}, "debug": false'
c0=$(claimed_lines)
out=$(timeout 120 "${RUN[@]}" --rm "$IMG" p5c echo p5c-ok 2>&1); rc=$?
[[ $rc -eq 0 && $out == *p5c-ok* && $(claimed_lines) -eq $c0 ]] &&
  grep -q 'pool: cold boot: slot [01] booted from another runtime config (told to exit)' "$LOG" &&
  pass pool-config-change-boots-cold || fail pool-config-change-boots-cold "rc=$rc out=$out $(grep 'pool: cold' "$LOG" | tail -1)"
wait_warm 2 && out=$(timeout 60 "${RUN[@]}" --rm "$IMG" p5d echo p5d-ok 2>&1) && [[ $out == *p5d-ok* && $(claimed_lines) -eq $((c0 + 1)) ]] &&
  pass pool-config-change-refilled || fail pool-config-change-refilled "warm=$(warm_count) out=${out:-} $(grep 'pool: cold' "$LOG" | tail -1)"
wait_warm 2

# --- 5. ctr run --cni from a pooled VM reaches the bridge; runc beside it
wait_warm 1
n0=$(claimed_lines)
out=$(nctr run --rm --cni "$IMG" rnet ping -c1 -W5 "$NET_V4.1" 2>&1); rrc=$?
# the warm VMs' consoles, followed by descriptor (the claim renames the run dir): what the
# guest said if this fails
tail -n +1 -f "$POOL"/[0-9]*/vm/console.log > "$CTD_DIR/cni-console.txt" 2>/dev/null & tailpid=$!
out=$(nctr run --rm --cni --runtime "$RT" --runtime-config-path "$CFG" "$IMG" pnet ping -c1 -W5 "$NET_V4.1" 2>&1); rc=$?
sleep 0.5; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null
[[ $rc -eq 0 && $out == *"1 packets received"* && $(claimed_lines) -gt $n0 ]] &&
  pass pool-cni-reaches-bridge || fail pool-cni-reaches-bridge "rc=$rc (runc rc=$rrc) claimed=$(( $(claimed_lines) - n0 )) out=$(tr '\n' '|' <<< "$out") console: $(grep -E -A12 'BUG|lockup|stall|Oops|RIP|panic|WARNING' "$CTD_DIR/cni-console.txt" | head -40 | tr '\n' '|')"

# --- 6. kill -9 of every unclaimed warm shim while p1 (claimed) runs
wait_warm 2
pids=$(warm_pids | tr '\n' ' ')
vmp=$(cat "$POOL"/[0-9]*/{qemu,virtiofsd,vsockd}.pid 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ')
kill -9 $pids 2>/dev/null
sleep 2
left=$(for p in $vmp; do [[ -e /proc/$p ]] && echo "$p $(cat /proc/$p/comm)"; done)
[[ $(wc -w <<< "$vmp") -eq 6 ]] || left+=" (warm VM pids: '$vmp')"
[[ -n $pids && -z $left ]] && pass pool-kill9-warm-vms-die || fail pool-kill9-warm-vms-die "killed '$pids' left '$left'"
[[ $(task_field p1 3) == RUNNING && $(ctr task exec --exec-id h2 p1 echo alive 2>&1) == alive ]] &&
  pass pool-claimed-survives-kill9 || fail pool-claimed-survives-kill9 "p1 $(task_field p1 3)"
ctr task kill -s SIGKILL p1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field p1 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete p1 >/dev/null 2>&1; ctr containers delete p1 >/dev/null 2>&1
[[ ! -e $RD1 && -z $(shim_footprint_ours "$CTD_SOCK" default p1) ]] && pass pool-claimed-deletes-clean ||
  fail pool-claimed-deletes-clean "$(shim_footprint_ours "$CTD_SOCK" default p1 | tr '\n' '|')"
# the next start finds the dead slots (lock free), sweeps them and refills
out=$(timeout 120 "${RUN[@]}" --rm "$IMG" p6 echo p6-ok 2>&1); rc=$?
[[ $rc -eq 0 && $out == *p6-ok* ]] && wait_warm 2 && pass pool-swept-and-refilled || fail pool-swept-and-refilled "rc=$rc warm=$(warm_count) $(ls $POOL | tr '\n' ' ')"

# --- 7. pool-drain (make install) empties it; nothing leaks
out=$("$SHIM" pool-drain 2>&1)
for _ in $(seq 1 100); do [[ -z $(warm_pids) && -z $(pgrep -f "$SHIM_BIN pool-warm") ]] && break; sleep 0.1; done
leak=$( { pgrep -af "$POOL/"; grep " $POOL" /proc/self/mountinfo; find "$POOL" -mindepth 1 -maxdepth 1 \( -type d -o -name '*.sock' \); } 2>/dev/null)
[[ $out == *"told 2"* && -z $(warm_pids) && -z $(pgrep -f "$SHIM_BIN pool-warm") && -z $leak ]] && pass pool-drain-no-leaks || fail pool-drain-no-leaks "out=$out warm=$(warm_pids | tr '\n' ' ') leak=$(tr '\n' '|' <<< "$leak")"
held=""
for f in /run/cvm/uids/*; do [[ -f $f ]] && ! flock -n "$f" true && held+="$f "; done
[[ -z $held ]] && pass pool-no-uid-lease-left || fail pool-no-uid-lease-left "held: $held"
[[ -z $(shim_footprint_ours "$CTD_SOCK" default p0 p1 p2 p3 p4 p5 p6 pnet) ]] && pass pool-no-leftovers ||
  fail pool-no-leftovers "$(shim_footprint_ours "$CTD_SOCK" default p0 p1 p2 p3 p4 p5 p6 pnet | tr '\n' '|')"
shim_log_check
exit $FAILED

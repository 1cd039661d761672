#!/usr/bin/env bash
# End-to-end: a killed shim daemon never leaves its sandbox behind, and `delete` never signals
# a process its pid files name unless that process's identity (pid, starttime, exe) holds.
#   0. by hand (no containerd): forged shim.pid/qemu.pid naming unrelated sleeps in a dead
#      sandbox's run dir: the sleeps survive, the run dir goes; a pid file with a true identity
#      is acted on; a half-removed run dir (a mount left, no pid files) is finished; a live
#      daemon (identity holds) is left alone; kill -9 of the daemon then `delete` at once
#      (its socket may still accept) removes everything, 10 times; an old-format shim.pid of
#      a live daemon (an older shim): the daemon and its run dir are left alone.
#   1. under a private containerd, 20 times (KILL_LOOP_N): ctr run -d in a fresh sandbox, kill -9 of the shim
#      daemon, containerd runs `delete` itself; then no process, mount, run dir or socket of
#      that sandbox is left.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

SLEEPS=() RDS=() CLI=
cleanup() {
  local p
  for p in "${SLEEPS[@]}"; do kill -9 "$p" 2>/dev/null; done
  shim_ctd_teardown
  for d in "${RDS[@]}"; do # what a failed by-hand part may have left
    mounts_under "$d" | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf "$d"
  done
  [[ -n $CLI ]] && rm -rf "$CLI"
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-shim-kill "must run as root"; exit 1; }
shim_env_check || exit 1
SHIM=$PWD/$SHIM_BIN

starttime() { # field 22 of /proc/$1/stat: the text after the LAST ')' starts at field 3
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${20}"
}
ident() { echo "$1 $(starttime "$1") $(readlink "/proc/$1/exe")"; } # a pid file's text
alive() { [[ -e /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
start_sleep() { # $1 = 1: own process group (setsid). Echoes the pid.
  if [[ ${1:-0} -eq 1 ]]; then setsid sleep 1000 </dev/null >/dev/null 2>&1 & else sleep 1000 </dev/null >/dev/null 2>&1 & fi
  echo $!
}
hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; } # $1 = address/ns/group
rundir_of() { echo "/run/cvm/$(hash_of "$1" | cut -c1-16)"; }
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo; }

# `delete` by hand: $1 = bundle, $2 = namespace, $3 = address, $4 = id. Sets DRC, DOUT (hex), DERR, DMS.
run_delete() {
  local t0 t1
  t0=$(date +%s%N)
  (cd "$1" && "$SHIM" -namespace "$2" -address "$3" -id "$4" -bundle "$1" delete </dev/null > "$CLI/del.out" 2> "$CLI/del.err"); DRC=$?
  t1=$(date +%s%N)
  DOUT=$(od -An -tx1 "$CLI/del.out" | tr -d ' \n'); DERR=$(cat "$CLI/del.err"); DMS=$(( (t1 - t0) / 1000000 ))
}
resp_ok() { [[ $DRC -eq 0 && $DOUT == 108901* && $DMS -lt 5000 ]]; } # exit_status 137 (field 2 varint 0x89 0x01)

# --- 0. by hand, no containerd
CLI=$(mktemp -d /tmp/cvm-kill.XXXXXX)
CADDR=$CLI/fake.sock
NS=killtest
mkbundle() { # $1 = dir, $2 = group
  mkdir -p "$1"
  echo "{\"annotations\":{\"io.containerd.cvm.v1.group\":\"$2\"}}" > "$1/config.json"
  : > "$1/log"
}

# 0a. forged pid files in a dead sandbox's run dir: every named process is left alone
mkbundle "$CLI/bf" forged
RD=$(rundir_of "$CADDR/$NS/forged"); RDS+=("$RD")
mkdir -p "$RD/shared"
s1=$(start_sleep 0); s2=$(start_sleep 1); s3=$(start_sleep 1); s4=$(start_sleep 1)
SLEEPS+=("$s1" "$s2" "$s3" "$s4")
sleep 0.2
echo "$s1" > "$RD/shim.pid"                                                   # old format: the number only
echo "$s2 $(( $(starttime "$s2") + 1 )) $(readlink /proc/$s2/exe)" > "$RD/qemu.pid" # wrong starttime
echo "$s3 $(starttime "$s3") /usr/bin/qemu-system-x86_64" > "$RD/virtiofsd.pid"  # wrong exe
printf '\x01garbage %s\n' "$s4" > "$RD/vsockd.pid"
run_delete "$CLI/bf" "$NS" "$CADDR" forged
alive "$s1" && alive "$s2" && alive "$s3" && alive "$s4" && pass forged-pidfiles-processes-left-alone ||
  fail forged-pidfiles-processes-left-alone "alive: $(for p in $s1 $s2 $s3 $s4; do alive $p && echo -n "$p " || echo -n "[$p dead] "; done)"
[[ $(grep -c 'stale pid file .* left alone' <<<"$DERR") -eq 4 ]] && pass forged-pidfiles-logged ||
  fail forged-pidfiles-logged "stderr: $DERR"
resp_ok && [[ ! -e $RD ]] && pass forged-dead-sandbox-removed || fail forged-dead-sandbox-removed "rc=$DRC out=$DOUT ${DMS}ms rundir=$(ls -A "$RD" 2>&1)"

# 0b. a dead daemon, but qemu.pid with a true identity (its own group, like QEMU): killed
mkbundle "$CLI/bt" truepid
RD=$(rundir_of "$CADDR/$NS/truepid"); RDS+=("$RD")
mkdir -p "$RD"
d1=$(start_sleep 0); q1=$(start_sleep 1)
SLEEPS+=("$d1" "$q1")
sleep 0.2
ident "$d1" > "$RD/shim.pid"
kill -9 "$d1"; wait "$d1" 2>/dev/null   # the daemon is dead, its pid file stays
ident "$q1" > "$RD/qemu.pid"
run_delete "$CLI/bt" "$NS" "$CADDR" truepid
! alive "$q1" && resp_ok && [[ ! -e $RD ]] && pass true-identity-killed ||
  fail true-identity-killed "qemu-like sleep alive=$(alive $q1 && echo yes || echo no) rc=$DRC ${DMS}ms err=$DERR"

# 0c. a half-removed run dir (an interrupted delete: pid files gone, a mount left): finished
mkbundle "$CLI/bh" half
RD=$(rundir_of "$CADDR/$NS/half"); RDS+=("$RD")
mkdir -p "$RD/shared/c1/rootfs" "$CLI/src"
mount -t tmpfs none "$RD/shared" && mkdir -p "$RD/shared/c1/rootfs" && mount --bind "$CLI/src" "$RD/shared/c1/rootfs"
HSOCK=/run/containerd/s/$(hash_of "$CADDR/$NS/half")
mkdir -p /run/containerd/s && : > "$HSOCK"
run_delete "$CLI/bh" "$NS" "$CADDR" half
[[ -z $(mounts_under "$RD") && ! -e $RD && ! -e $HSOCK ]] && resp_ok && pass half-removed-sandbox-finished ||
  fail half-removed-sandbox-finished "mounts=$(mounts_under "$RD" | tr '\n' ' ') rundir=$(ls -A "$RD" 2>&1) sock=$(ls "$HSOCK" 2>&1) err=$DERR"
run_delete "$CLI/bh" "$NS" "$CADDR" half
resp_ok && [[ -z $DERR ]] && pass delete-repeatable || fail delete-repeatable "rc=$DRC ${DMS}ms err=$DERR"

# 0d. a live daemon started by hand (identity in shim.pid): left alone; then kill -9 and
# `delete` at once, while its socket may still accept: everything goes. 10 times.
start_daemon() { # $1 = bundle, $2 = group. Sets DPID, DSOCK, DRD.
  DPID=
  (cd "$1" && TTRPC_ADDRESS=$CLI/none "$SHIM" -namespace "$NS" -address "$CADDR" -publish-binary /bin/true -id "$2" start </dev/null >/dev/null 2>&1)
  DPID=$(pgrep -f "^$SHIM -namespace $NS -id $2 " | head -1)
  DSOCK=/run/containerd/s/$(hash_of "$CADDR/$NS/$2")
  DRD=$(rundir_of "$CADDR/$NS/$2"); RDS+=("$DRD")
  [[ -n $DPID ]]
}
mkbundle "$CLI/bl" live
if start_daemon "$CLI/bl" live; then
  mkdir -p "$DRD/shared" && ident "$DPID" > "$DRD/shim.pid"
  run_delete "$CLI/bl" "$NS" "$CADDR" live
  alive "$DPID" && [[ -e $DRD/shim.pid && -S $DSOCK ]] && resp_ok && [[ -z $DERR ]] && pass live-daemon-left-alone ||
    fail live-daemon-left-alone "alive=$(alive $DPID && echo yes || echo no) rc=$DRC ${DMS}ms err=$DERR"
  echo "$DPID" > "$DRD/shim.pid" # an older shim's pid file (the number only), daemon serving
  run_delete "$CLI/bl" "$NS" "$CADDR" live
  alive "$DPID" && [[ -e $DRD/shim.pid && -S $DSOCK ]] && resp_ok && pass live-daemon-old-pidfile-left-alone ||
    fail live-daemon-old-pidfile-left-alone "alive=$(alive $DPID && echo yes || echo no) rundir=$(ls -A "$DRD" 2>&1) rc=$DRC ${DMS}ms err=$DERR"
  kill -9 "$DPID"; run_delete "$CLI/bl" "$NS" "$CADDR" live
else
  fail live-daemon-left-alone "the daemon did not start"
fi
ok=0 worst=0 detail=
for i in $(seq 1 10); do
  g=kd$i
  mkbundle "$CLI/$g" "$g"
  start_daemon "$CLI/$g" "$g" || { detail+=" $g:no-daemon"; continue; }
  mkdir -p "$DRD/shared" && mount -t tmpfs none "$DRD/shared" && ident "$DPID" > "$DRD/shim.pid"
  kill -9 "$DPID"
  run_delete "$CLI/$g" "$NS" "$CADDR" "$g"
  (( DMS > worst )) && worst=$DMS
  left=$(mounts_under "$DRD"; [[ -e $DRD ]] && echo "dir $DRD"; [[ -e $DSOCK ]] && echo "socket $DSOCK"; alive "$DPID" && echo "daemon $DPID")
  if [[ -z $left ]] && resp_ok; then ok=$((ok + 1)); else detail+=" $g:[$(echo $left) rc=$DRC ${DMS}ms]"; fi
  mounts_under "$DRD" | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf "$DRD"; rm -f "$DSOCK"
done
[[ $ok -eq 10 ]] && pass "kill9-then-delete-at-once-10/10" || fail "kill9-then-delete-at-once-10/10" "$ok/10:$detail"
note "by hand: kill -9 then delete at once, slowest delete $worst ms"
[[ -z $(shim_footprint_ours "$CADDR" "$NS" forged truepid half live $(seq -f 'kd%g' 1 10)) ]] && pass cli-no-leftovers ||
  fail cli-no-leftovers "$(shim_footprint_ours "$CADDR" "$NS" forged truepid half live $(seq -f 'kd%g' 1 10))"

# --- 1. under containerd: kill -9 of the shim daemon, 20 times, nothing left
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
N=${KILL_LOOP_N:-20} ok=0 detail= total_ms=0 clean_ms_sum=0 clean_ms_max=0
for i in $(seq 1 "$N"); do
  id=sk$i
  rd=$(rundir_of "$CTD_SOCK/default/$id")
  sock=/run/containerd/s/$(hash_of "$CTD_SOCK/default/$id")
  t0=$(date +%s%N)
  timeout 120 ctr run -d --runtime "$RT" --runtime-config-path "$CFG" "$IMG" "$id" sleep 100000 >/dev/null 2>&1
  for _ in $(seq 1 300); do [[ $(task_field "$id" 3) == RUNNING ]] && break; sleep 0.1; done
  spid=$(pgrep -f -- "containerd-shim-cvm-v1 -namespace default -id $id -address $CTD_SOCK" | head -1)
  if [[ $(task_field "$id" 3) != RUNNING || -z $spid ]]; then
    detail+=" $id:not-running(status=$(task_field "$id" 3),shim=$spid)"
    ctr task delete -f "$id" >/dev/null 2>&1; ctr containers delete "$id" >/dev/null 2>&1
    continue
  fi
  procs="$spid $(pgrep -f -- "$rd/" | tr '\n' ' ')"
  tk=$(date +%s%N)
  kill -9 "$spid"
  # containerd notices the dead shim and runs `containerd-shim-cvm-v1 delete` itself
  for _ in $(seq 1 100); do [[ $(task_field "$id" 3) != RUNNING ]] && break; sleep 0.05; done
  left=
  for _ in $(seq 1 100); do
    left=$(for p in $procs; do alive "$p" && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$rd/\|-id $id " && echo "process $p"; done
           pgrep -af -- "$rd/|-id $id -address $CTD_SOCK" | sed 's/^/process /'
           mounts_under "$rd" | sed 's/^/mount /'; [[ -e $rd ]] && echo "dir $rd"; [[ -e $sock ]] && echo "socket $sock")
    [[ -z $left ]] && break
    sleep 0.05
  done
  tc=$(date +%s%N)
  ctr task delete "$id" >/dev/null 2>&1; ctr containers delete "$id" >/dev/null 2>&1
  t1=$(date +%s%N)
  cms=$(( (tc - tk) / 1000000 ))
  total_ms=$(( total_ms + (t1 - t0) / 1000000 )); clean_ms_sum=$((clean_ms_sum + cms)); (( cms > clean_ms_max )) && clean_ms_max=$cms
  if [[ -z $left ]]; then ok=$((ok + 1)); else detail+=" $id:[$(echo $left)]"; fi
done
[[ $ok -eq $N ]] && pass "shim-kill9-no-leftovers-$N/$N" || fail "shim-kill9-no-leftovers-$N/$N" "$ok/$N:$detail"
note "shim kill -9 loop: $N iterations, $(( total_ms / N )) ms per iteration (run, kill, clean, ctr delete), kill -> sandbox gone avg $(( clean_ms_sum / N )) ms, max $clean_ms_max ms"
note "delete's stderr in containerd's log: $(grep -o 'stale pid file [a-z]*\.pid ([^)]*): [a-z ]*' "$CTD_DIR/containerd.log" |
  sed 's/ (pid [0-9]*)//' | sort | uniq -c | awk '{n=$1; $1=""; printf "%s x%s; ", $0, n}')"
sleep 0.5
new=$(shim_footprint_ours "$CTD_SOCK" default $(seq -f 'sk%g' 1 "$N"))
[[ -z $new ]] && pass kill-loop-no-leftovers || fail kill-loop-no-leftovers "$new"
exit $FAILED

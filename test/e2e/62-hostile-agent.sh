#!/usr/bin/env bash
# 62-hostile-agent: issue 17 check (b). A compromised guest owns every byte the agent sends;
# the shim must stay up with bounded memory, other sandboxes must not notice, and a sandbox
# the guest made useless fails with a reason. Runc-free, through the real ctr, a private
# containerd 1.6.20, the real shim and real QEMU, with test/guest/hostile_agent.c as the
# guest's PID 1 (its initrd chosen by the runtime config's "initrd", the misbehaviour by its
# "kernel_args": cvm.hostile=<mode>; operator-side knobs, never annotations).
#
# A normal sandbox ("victim", the real initrd) starts first and runs throughout. Then one
# hostile sandbox per mode (hostile_agent.c says what each does):
#   polite       the fake agent behaves: run, exec, kill work (so FAILs below are the shim's)
#   oomflood     WaitOOM answered at once with 256 ids, for ever: the exit is still reported
#   oversize     4 MiB answers of empty repeated fields to Stats, ListProcesses, WaitOOM, a
#                4 MiB error status to Pause: every call returns, memory stays bounded
#   malformed    broken protobuf in every answer: calls return, kill ends the task
#   unknownids   OOM reports for the victim's container and unknown ids, ghost exec ids,
#                forged WaitProcess answers on dead/unused stream ids: nothing is published
#                for them, the task keeps running, a real exec works
#   stdoutflood  stdout/stderr never end (ctr reads them at full speed): after SIGKILL the
#                exit is reported within 40 s (ctr run returns 137; the shim may give a
#                stream that is still open after the exit a grace period, 30 s today)
#   hang         no answer and no reading after start: declared dead ("guest not responding")
#                within guest_timeout_ms, calls in flight return
#   garbage      junk frames, an oversized frame, a broken envelope: ps still works; then a
#                lying length and endless random bytes: declared dead with a reason
# For every mode: the shim is up until delete and nothing crashed (no sanitizer or crash line
# in its log, no segfault/trap of a shim, QEMU, virtiofsd or cvm-vsockd in dmesg), its peak
# RSS (VmHWM) stays <= 32 MB (HOSTILE_RSS_MAX_KB), the victim answers an exec during and
# after, `ctr task rm -f` + `ctr c rm` leave no shim, QEMU, virtiofsd, cvm-vsockd, mount or
# dir, and the shim exits by its own shutdown path.
# HOSTILE_MODES="a b" runs a subset. Root only. PASS:/FAIL:/NOTE: lines.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

HOSTILE_INITRD=$BUILD/test/hostile-initrd.img
RSS_MAX_KB=${HOSTILE_RSS_MAX_KB:-32768}
MODES=${HOSTILE_MODES:-polite oomflood oversize malformed unknownids stdoutflood hang garbage}
EV_PID=
BG_PIDS=()
cleanup() {
  local p
  [[ -n $EV_PID ]] && kill "$EV_PID" 2>/dev/null
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  local sock=${CTD_SOCK:-} keep=$BUILD/test-logs/$(basename "$0" .sh)-containerd.log
  shim_ctd_teardown
  # a guest that floods the shim's log (oomflood on a shim without a rate limit: ~100 MiB/s)
  # must not fill the disk with the copy kept for a failed run
  if [[ -f $keep && $(stat -c %s "$keep") -gt $((32 << 20)) ]]; then
    { head -c $((16 << 20)) "$keep"; echo; echo "[62-hostile-agent: $(stat -c %s "$keep") bytes, the middle cut]"
      tail -c $((16 << 20)) "$keep"; } > "$keep.cut" && mv "$keep.cut" "$keep"
  fi
  # a sandbox that outlived its delete outlives containerd too: its shim (SIGTERM) cleans up
  [[ -n $sock ]] || return
  for p in $(pgrep -f -- "containerd-shim-cvm-v1 .*-address $sock( |\$)"); do
    kill "$p" 2>/dev/null
    for _ in $(seq 1 100); do alive "$p" || break; sleep 0.1; done
  done
  rm -rf "$(dirname "$sock")"
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail hostile-agent "must run as root"; exit 1; }
shim_env_check || exit 1
[[ -f $HOSTILE_INITRD ]] || { fail hostile-prereq "missing $HOSTILE_INITRD (run make)"; exit 1; }
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
LOG=$CTD_DIR/containerd.log
EVLOG=$CTD_DIR/events.log
ctr events > "$EVLOG" 2>&1 &
EV_PID=$!

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
shim_pid_of() { pgrep -f -- "containerd-shim-cvm-v1 -namespace default -id $1 -address $CTD_SOCK" | head -1; }
wait_status() { # id status seconds -> 0 once `ctr task ls` shows it
  local i
  for i in $(seq 1 $(( $3 * 10 ))); do [[ $(task_field "$1" 3) == "$2" ]] && return 0; sleep 0.1; done
  return 1
}
# alive and not a zombie (a crashed shim stays a zombie until containerd or init reaps it)
alive() { [[ -n $1 && -e /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# containerd's log since byte offset $1 (the shim's lines are copied into it)
log_since() { tail -c +$(( $1 + 1 )) "$LOG"; }
# kernel reports of a crashed host-side process (segfault, trap, GPF) after line $1 of dmesg
kernel_crashes() { dmesg 2>/dev/null | tail -n +$(( $1 + 1 )) | grep -E '(containerd-shim|cvm-vsockd|qemu-system|virtiofsd).*(segfault|traps:|general protection)' | head -3; }
dmesg_lines() { dmesg 2>/dev/null | wc -l; }
# (containerd's "cleaning up dead shim" follows every shim exit, clean ones too: not a sign)
crash_lines() { grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|SEGV|segmentation|core dumped' | head -3; }

# --- the victim: a normal sandbox that must not notice any of it
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
timeout 120 ctr run -d --runtime "$RT" --runtime-config-path "$CFG" "$IMG" victim sleep 100000 >/dev/null 2>&1
wait_status victim RUNNING 60 && pass victim-running || { fail victim-running "$(tail -5 "$LOG")"; exit 1; }
victim_ok() { # $1 = tag: exec into the victim, right output within 60 s
  local out
  out=$(timeout 60 ctr task exec --exec-id "v-$1" victim sh -c "echo ok-$1" 2>&1)
  [[ $out == "ok-$1" ]] || { VICTIM_ERR="exec v-$1: '${out:0:200}'"; return 1; }
}

hostile_cfg() { # $1 = mode, $2 = guest_timeout_ms -> config path
  local f=$CTD_DIR/hostile-$1.json
  cat > "$f" <<JSON
{"initrd": "$PWD/$HOSTILE_INITRD", "vsock_mode": "hybrid", "boot_deadline_ms": 90000,
 "guest_timeout_ms": ${2:-6000}, "kernel_args": "cvm.hostile=$1 cvm.victim=victim"}
JSON
  echo "$f"
}

# Case start: the hostile sandbox h-<mode> running; sets ID SPID OFF. $1 = mode, $2 = guest
# timeout ms, $3 = "fg" for a foreground ctr run (its stdout read at full speed, to /dev/null;
# exit status in $CTD_DIR/<id>.rc).
case_start() {
  local cfg
  ID=h-$1 SPID= OFF=$(stat -c %s "$LOG") RUN_PID= DMESG_OFF=$(dmesg_lines) HWM_LAST= DELETED_BY_RUN=
  cfg=$(hostile_cfg "$1" "${2:-6000}")
  if [[ ${3:-} == fg ]]; then
    (timeout 300 ctr run --runtime "$RT" --runtime-config-path "$cfg" "$IMG" "$ID" sleep 100000 >/dev/null 2>&1
     echo $? > "$CTD_DIR/$ID.rc") &
    RUN_PID=$!; BG_PIDS+=("$RUN_PID")
  else
    timeout 120 ctr run -d --runtime "$RT" --runtime-config-path "$cfg" "$IMG" "$ID" sleep 100000 > "$CTD_DIR/$ID.run" 2>&1
  fi
  if ! wait_status "$ID" RUNNING 60; then
    fail "$1-started" "status '$(task_field "$ID" 3)': $(head -c 300 "$CTD_DIR/$ID.run" 2>/dev/null) $(log_since "$OFF" | grep -m3 -E 'level=(error|warning)')"
    return 1
  fi
  SPID=$(shim_pid_of "$ID")
  [[ -n $SPID ]] || { fail "$1-started" "no shim process for $ID"; return 1; }
  return 0
}

# Case end: the common checks, then delete and look for leftovers. $1 = mode.
case_end() {
  local m=$1 hwm crash left
  sleep 0.2
  if alive "$SPID"; then
    hwm=$(hwm_kb "$SPID")
    pass "$m-shim-up"
  elif [[ -n $DELETED_BY_RUN && -n $HWM_LAST ]]; then
    hwm=$HWM_LAST # the foreground ctr run deleted the task once it exited: the shim's work was done
    pass "$m-shim-up"
  else
    fail "$m-shim-up" "shim $SPID is gone before delete"
  fi
  crash=$(log_since "$OFF" | crash_lines; kernel_crashes "$DMESG_OFF")
  [[ -z $crash ]] && pass "$m-no-crash" || fail "$m-no-crash" "$crash"
  if [[ -n ${hwm:-} && $hwm -le $RSS_MAX_KB ]]; then
    pass "$m-rss-bounded"
  else
    fail "$m-rss-bounded" "shim VmHWM ${hwm:-?} kB > $RSS_MAX_KB kB"
  fi
  note "$m: shim peak RSS ${hwm:-?} kB; $(( ($(stat -c %s "$LOG") - OFF) / 1024 )) KiB of log"
  victim_ok "$m-during" && pass "$m-victim-works-during" || fail "$m-victim-works-during" "$VICTIM_ERR"
  timeout 15 ctr task rm -f "$ID" >/dev/null 2>&1
  timeout 10 ctr c rm "$ID" >/dev/null 2>&1
  [[ -n ${RUN_PID:-} ]] && { kill "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; }
  # a clean exit: gone after delete, having logged its shutdown, no crash report from the kernel
  for _ in $(seq 1 50); do alive "$SPID" || break; sleep 0.1; done
  crash=$(kernel_crashes "$DMESG_OFF")
  if [[ -n $SPID ]] && ! alive "$SPID" && [[ -z $crash ]] &&
     log_since "$OFF" | grep -q "msg=\"shutting down\" id=$ID "; then
    pass "$m-shim-exits-cleanly"
  else
    fail "$m-shim-exits-cleanly" "shim ${SPID:-?} $(alive "${SPID:-0}" && echo 'still running' || echo gone), $(log_since "$OFF" | grep -c "msg=\"shutting down\" id=$ID ") shutdown lines ${crash:0:200}"
  fi
  for _ in $(seq 1 50); do
    left=$(footprint_of "$ID")
    [[ -z $left ]] && break
    sleep 0.1
  done
  if [[ -z $left ]]; then
    pass "$m-no-leftovers"
  else
    fail "$m-no-leftovers" "after ctr task rm -f and ctr c rm: $(echo "$left" | cut -c1-160 | tr '\n' ';')"
    reap_sandbox "$ID" # so the cases after this one start clean
  fi
  victim_ok "$m-after" && pass "$m-victim-works-after" || fail "$m-victim-works-after" "$VICTIM_ERR"
}

# What is left of sandbox $1: its shim, its run dir's processes, mounts, dir, socket; its container.
footprint_of() {
  local h
  h=$(printf '%s' "$CTD_SOCK/default/$1" | sha256sum | cut -c1-16)
  shim_footprint | grep -E -- "-id $1 |$h"
  ctr c ls -q 2>/dev/null | grep -x -- "$1" | sed 's/^/container /'
}
# A sandbox ctr could not remove: SIGTERM its shim (it stops the VM and cleans up), SIGKILL
# after 10 s; then delete what containerd still lists.
reap_sandbox() {
  local p
  for p in $(pgrep -f -- "containerd-shim-cvm-v1 -namespace default -id $1 -address $CTD_SOCK"); do
    kill "$p" 2>/dev/null
    for _ in $(seq 1 100); do alive "$p" || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  sleep 1
  timeout 15 ctr task rm -f "$1" >/dev/null 2>&1; timeout 15 ctr c rm "$1" >/dev/null 2>&1
  [[ -z $(footprint_of "$1") ]] || note "reap $1: still left: $(footprint_of "$1" | cut -c1-120 | tr '\n' ';')"
}

exit_event() { grep -q "/tasks/exit.*\"container_id\":\"$1\".*\"exit_status\":$2" "$EVLOG"; }
wait_exit_event() { # id status seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do exit_event "$1" "$2" && return 0; sleep 0.1; done
  return 1
}
# A ctr call that must return (any status) within $1 seconds; its output in $CALL_OUT.
returns_within() { local s=$1; shift; CALL_OUT=$(timeout "$s" "$@" 2>&1); [[ $? -ne 124 ]]; }

case_polite() {
  local out t0
  out=$(timeout 60 ctr task exec --exec-id e1 "$ID" sh -c true 2>&1)
  [[ $out == hostile-exec ]] && pass polite-exec || fail polite-exec "'${out:0:200}'"
  returns_within 30 ctr task ps "$ID" && [[ $CALL_OUT == *100* ]] && pass polite-ps || fail polite-ps "${CALL_OUT:0:200}"
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  wait_status "$ID" STOPPED 15 && wait_exit_event "$ID" 137 5 && pass polite-kill-exit-137 ||
    fail polite-kill-exit-137 "status '$(task_field "$ID" 3)'; $(grep "\"$ID\"" "$EVLOG" | tail -2)"
}

case_oomflood() {
  sleep 1
  local n
  n=$(grep -c "/tasks/oom.*\"container_id\":\"$ID\"" "$EVLOG")
  note "oomflood: $n TaskOOM events reached containerd in 1 s; the shim logged $(( ($(stat -c %s "$LOG") - OFF) / 1048576 )) MiB meanwhile"
  [[ $n -gt 0 ]] && pass oomflood-provoked || fail oomflood-provoked "no TaskOOM event: the flood did not happen"
  # an exec's exit is published at once (not after the VM stopped, as the last exit of a
  # standalone sandbox is): the agent sends it right behind 256 OOM ids
  local i bad= t0
  t0=$(date +%s%N)
  for i in 1 2 3; do
    timeout 60 ctr task exec --exec-id "o$i" "$ID" true >/dev/null 2>&1 || bad+=" o$i:exec-failed"
  done
  note "oomflood: 3 execs under the flood took $(ms_since "$t0") ms"
  for i in 1 2 3; do
    for _ in $(seq 1 50); do grep -q "/tasks/exit.*\"container_id\":\"$ID\",\"id\":\"o$i\"" "$EVLOG" && break; sleep 0.1; done
    grep -q "/tasks/exit.*\"container_id\":\"$ID\",\"id\":\"o$i\"" "$EVLOG" || bad+=" o$i"
  done
  [[ -z $bad ]] && pass oomflood-exec-exit-events-delivered ||
    fail oomflood-exec-exit-events-delivered "no /tasks/exit for:$bad; shim: $(log_since "$OFF" | grep -c 'dropping /tasks/exit') 'dropping /tasks/exit' lines"
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  wait_status "$ID" STOPPED 15 && pass oomflood-task-stops || fail oomflood-task-stops "status '$(task_field "$ID" 3)'"
  wait_exit_event "$ID" 137 15 && pass oomflood-exit-event-delivered ||
    fail oomflood-exit-event-delivered "no /tasks/exit for $ID in 15 s; shim: $(log_since "$OFF" | grep -m1 -o 'event queue full, dropping /tasks/exit')"
}

case_oversize() {
  local ok=1 what steps
  sleep 1 # a few oversized WaitOOM answers have come and gone
  steps="WaitOOM:$(hwm_kb "$SPID")"
  for what in "task metrics" "task ps" "task pause"; do
    # shellcheck disable=SC2086
    returns_within 30 ctr $what "$ID" || { ok=0; fail oversize-calls-return "ctr $what did not return in 30 s"; }
    steps+=" ${what#task }:$(hwm_kb "$SPID")"
  done
  note "oversize: shim VmHWM kB after each step: $steps; pause answered: ${CALL_OUT:0:120}"
  ctr task resume "$ID" >/dev/null 2>&1
  [[ $ok -eq 1 ]] && pass oversize-calls-return
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  wait_status "$ID" STOPPED 15 && pass oversize-task-stops || fail oversize-task-stops "status '$(task_field "$ID" 3)'"
}

case_malformed() {
  local ok=1 what
  for what in "task metrics" "task ps" "task pause" "task resume"; do
    # shellcheck disable=SC2086
    returns_within 30 ctr $what "$ID" || { ok=0; fail malformed-calls-return "ctr $what did not return in 30 s"; }
  done
  returns_within 60 ctr task exec --exec-id m1 "$ID" true || { ok=0; fail malformed-calls-return "exec did not return in 60 s"; }
  [[ $ok -eq 1 ]] && pass malformed-calls-return
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  wait_status "$ID" STOPPED 15 && pass malformed-task-stops || fail malformed-task-stops "status '$(task_field "$ID" 3)'"
}

case_unknownids() {
  local out
  sleep 3
  [[ $(task_field "$ID" 3) == RUNNING ]] && ! grep -q "/tasks/exit.*\"container_id\":\"$ID\"" "$EVLOG" &&
    pass unknownids-no-forged-exit || fail unknownids-no-forged-exit "status '$(task_field "$ID" 3)'; $(grep "/tasks/exit.*$ID" "$EVLOG" | head -1)"
  out=$(timeout 60 ctr task exec --exec-id u1 "$ID" true 2>&1); local rc=$?
  [[ $rc -eq 0 && $out == hostile-exec ]] && pass unknownids-exec-ok || fail unknownids-exec-ok "rc=$rc '${out:0:200}'"
  returns_within 30 ctr task ps "$ID" && pass unknownids-ps-returns || fail unknownids-ps-returns "ps did not return"
  ! grep -q '/tasks/oom.*"container_id":"victim"' "$EVLOG" && ! grep -q '/tasks/oom.*"container_id":"nosuch"' "$EVLOG" &&
    pass unknownids-no-foreign-oom || fail unknownids-no-foreign-oom "$(grep -m1 '/tasks/oom' "$EVLOG")"
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  wait_status "$ID" STOPPED 15 && wait_exit_event "$ID" 137 10 && pass unknownids-kill-exit-137 ||
    fail unknownids-kill-exit-137 "status '$(task_field "$ID" 3)'; $(grep "/tasks/exit.*\"$ID\"" "$EVLOG" | tail -1)"
}

case_stdoutflood() {
  local t0 el rc
  sleep 4
  HWM_LAST=$(hwm_kb "$SPID")
  note "stdoutflood: shim VmHWM after 4 s of flood: ${HWM_LAST:-?} kB"
  t0=$(date +%s%N)
  ctr task kill -s SIGKILL "$ID" >/dev/null 2>&1
  local h
  while (( $(ms_since "$t0") < 40000 )); do # VmHWM is a peak: the last reading before the shim goes counts
    alive "$SPID" && h=$(hwm_kb "$SPID") && [[ -n $h ]] && HWM_LAST=$h
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
  done
  el=$(ms_since "$t0"); rc=$(cat "$CTD_DIR/$ID.rc" 2>/dev/null)
  note "stdoutflood: after SIGKILL ctr run returned after $el ms with '${rc:-nothing}' (status '$(task_field "$ID" 3)')"
  [[ $rc == 137 ]] && DELETED_BY_RUN=1
  [[ $rc == 137 ]] && pass stdoutflood-exit-reported ||
    fail stdoutflood-exit-reported "ctr run had not returned 137 $el ms after SIGKILL (rc '${rc:-none}', status '$(task_field "$ID" 3)'): an exit behind a never-ending stream"
}

case_hang() {
  local t0 el i big ok=1 pids=()
  t0=$(date +%s%N)
  big=$(head -c 100000 /dev/zero | tr '\0' a)
  for i in 1 2 3; do
    (timeout 40 ctr task exec --exec-id "hx$i" "$ID" sh -c true "$big" >/dev/null 2>&1; echo $? > "$CTD_DIR/hx$i.rc") &
    pids+=($!)
  done
  (timeout 40 ctr task metrics "$ID" >/dev/null 2>&1; echo $? > "$CTD_DIR/hx4.rc") & pids+=($!)
  wait_status "$ID" STOPPED 15 && wait_exit_event "$ID" 255 5; local st=$?
  el=$(ms_since "$t0")
  note "hang: the task ended after $el ms (guest_timeout_ms 3000)"
  [[ $st -eq 0 ]] && pass hang-declared-dead || fail hang-declared-dead "status '$(task_field "$ID" 3)' after $el ms"
  log_since "$OFF" | grep -q "guest not responding" && pass hang-reason-logged || fail hang-reason-logged "no 'guest not responding' in the shim log"
  for p in "${pids[@]}"; do wait "$p"; done
  for i in 1 2 3 4; do [[ $(cat "$CTD_DIR/hx$i.rc" 2>/dev/null) == 124 ]] && ok=0; done
  [[ $ok -eq 1 ]] && pass hang-calls-return || fail hang-calls-return "a call in flight never returned (40 s)"
}

case_garbage() {
  local t0 el st
  sleep 2 # phase 1: ~40 junk frames and one oversized frame
  returns_within 20 ctr task ps "$ID" && [[ $CALL_OUT == *100* ]] && pass garbage-ps-survives-junk ||
    fail garbage-ps-survives-junk "'${CALL_OUT:0:200}'"
  t0=$(date +%s%N) # phase 2 began with that answer
  wait_status "$ID" STOPPED 20; st=$?
  el=$(ms_since "$t0")
  note "garbage: the task ended $el ms after the endless junk began (guest_timeout_ms 3000)"
  [[ $st -eq 0 ]] && pass garbage-declared-dead || fail garbage-declared-dead "status '$(task_field "$ID" 3)' after $el ms"
  log_since "$OFF" | grep -q -E "guest not responding|agent connection lost" && pass garbage-reason-logged ||
    fail garbage-reason-logged "no reason in the shim log"
}

t_all=$(date +%s%N)
for m in $MODES; do
  t0=$(date +%s%N)
  gt=6000; fg=
  [[ $m == hang || $m == garbage ]] && gt=3000
  [[ $m == stdoutflood ]] && fg=fg
  if case_start "$m" "$gt" "$fg"; then
    "case_$m"
  fi
  case_end "$m"
  note "$m: case took $(ms_since "$t0") ms"
done
note "all cases: $(ms_since "$t_all") ms"

timeout 60 ctr task rm -f victim >/dev/null 2>&1; timeout 30 ctr c rm victim >/dev/null 2>&1
sleep 1
left=$(for m in $MODES; do footprint_of "h-$m"; done; footprint_of victim)
[[ -z $left ]] && pass no-leftovers || fail no-leftovers "$(echo "$left" | cut -c1-160 | tr '\n' ';')"
shim_log_check
exit $FAILED

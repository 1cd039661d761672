#!/usr/bin/env bash
# The agent's spawn is asynchronous: a container (or exec) whose setup hangs delays nothing
# else in the agent. The hang is real, not a test hook: a FUSE mount whose server never
# answers (not even FUSE_INIT), so a child that stat(2)s a bind-mount source on it, or
# chdir(2)s into it as its cwd, blocks in the kernel until it is killed.
# cvm-agent as a host process (unix sockets, as root) driven by test/drivers/agent_ctl.
# Prints PASS/FAIL per check and NOTE lines with the measured latencies; exits non-zero on
# any failure; never skips. AGENT=path runs it against another agent binary (to measure).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/bin/cvm-agent}
AGENT_RUN=${AGENT_RUN:-$AGENT}
CTL=$BUILD/drivers/agent_ctl
SPEC="python3 test/drivers/agent_spec.py"
FAST_MS=${FAST_MS:-1000} # "well under a second": the bound for one RPC round while a setup hangs
fails=0
source test/e2e/lib-agent.sh
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
now_ms() { date +%s%3N; }

[[ $(id -u) -eq 0 ]] || { echo "FAIL: setup: must run as root"; exit 1; }
for b in "$AGENT_RUN" "$CTL" /bin/busybox; do
  [[ -x $b ]] || { echo "FAIL: setup: $b missing (make BUILD=$BUILD all unit; busybox-static)"; exit 1; }
done
[[ -c /dev/fuse ]] || { echo "FAIL: setup: /dev/fuse missing (modprobe fuse)"; exit 1; }
cg2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
[[ -n $cg2 ]] || { echo "FAIL: setup: no cgroup2 mount"; exit 1; }

W=$(mktemp -d /tmp/agent-spawn-e2e.XXXXXX)
CG=$cg2/cvm-agent-spawn-e2e-$$
APID= FPID=
BG=()
cleanup() {
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n $APID ]] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  # Closing /dev/fuse aborts the connection: anything still blocked on it fails at once.
  [[ -n $FPID ]] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
  umount -l "$W/vol/stall" 2>/dev/null
  for d in "$CG"/*/; do [[ -d $d ]] && rmdir "$d" 2>/dev/null; done
  rmdir "$CG" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# busybox rootfs
R=$W/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root,vol}
cp /bin/busybox "$R/bin/" && chroot "$R" /bin/busybox --install -s /bin || { echo "FAIL: setup: busybox rootfs"; exit 1; }
chmod 1777 "$R/tmp"

# The FUSE server that never answers: mounts, then only holds /dev/fuse open.
mkdir -p "$W/vol/stall"
cat >"$W/stall.py" <<'PY'
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
if libc.mount(b"cvm-stall", sys.argv[1].encode(), b"fuse", 0, opts) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
print("ready", flush=True)
signal.pause()
PY
python3 "$W/stall.py" "$W/vol/stall" >"$W/stall.out" 2>&1 &
FPID=$!
for _ in $(seq 50); do grep -q ready "$W/stall.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$W/stall.out" || { echo "FAIL: setup: FUSE stall mount: $(cat "$W/stall.out")"; exit 1; }
# setup, not a check: without a mount that blocks, nothing below means anything
timeout 1 stat "$W/vol/stall/x" >/dev/null 2>&1; rc=$?
[[ $rc -eq 124 ]] || { echo "FAIL: setup: stat(2) under the FUSE mount did not block (rc=$rc)"; exit 1; }

"$AGENT_RUN" --listen-unix "$W/a.sock" --cgroup-root "$CG" >"$W/agent.log" 2>&1 &
APID=$!
for _ in $(seq 50); do [[ -S $W/a.sock.stdio ]] && break; sleep 0.1; done
ctl() { timeout 60 "$CTL" --unix "$W/a.sock" "$@"; }
ctl health >/dev/null 2>&1 || { echo "FAIL: setup: agent not answering"; cat "$W/agent.log"; exit 1; }
sleep 0.3 # the health connection above closes asynchronously: count once it has
fds_before=$(ls /proc/$APID/fd | wc -l)

# A process of cgroup $1 blocked in FUSE (waits up to 5 s); its pid on stdout.
fuse_waiter() {
  for _ in $(seq 100); do
    for pid in $(cat "$1/cgroup.procs" 2>/dev/null); do
      [[ $(cat "/proc/$pid/wchan" 2>/dev/null) == *fuse* ]] && { echo "$pid"; return 0; }
    done
    sleep 0.05
  done
  return 1
}
gone_within() { # pid, tenths of a second
  for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
# Spec with one more mount: a bind of $1 on /vol (options $2).
stall_spec() {
  local out=$1 src=$2 opts=$3; shift 3
  $SPEC "$out" "$@"
  python3 - "$out" "$src" "$opts" <<'PY'
import json, sys
p, src, opts = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
s = json.load(open(p))
s["mounts"].append({"destination": "/vol", "type": "bind", "source": src, "options": opts})
json.dump(s, open(p, "w"), indent=1)
PY
}

# An exec in container B (ExecProcess + streams + StartProcess + relay + WaitProcess).
$SPEC "$W/exb.json" --process-only --args '["sh","-c","echo exec-b"]'
execs=0
exec_b() { # -> $ms; FAIL when the output or status is wrong
  execs=$((execs + 1))
  local t0; t0=$(now_ms)
  ctl --id B --exec "b$execs" exec --process "$W/exb.json" --out "$W/b$execs.out" >"$W/b$execs.res" 2>&1
  ms=$(($(now_ms) - t0))
  ctl --id B --exec "b$execs" delete >/dev/null 2>&1
  [[ $(cat "$W/b$execs.out" 2>/dev/null) == exec-b && $(cat "$W/b$execs.res") == exit=0 ]] ||
    fail "exec b$execs in B" "$(cat "$W/b$execs.res" 2>/dev/null)"
}
health_ms() { # -> $ms
  local t0; t0=$(now_ms)
  ctl health >/dev/null 2>&1 || fail "Health" "rpc failed"
  ms=$(($(now_ms) - t0))
}

$SPEC "$W/b.json" --args '["sleep","1000"]'
ctl --id B create --config "$W/b.json" --rootfs "$R" >/dev/null && ctl --id B start >/dev/null ||
  fail "container B runs" "rpc failed"
base=0
for _ in 1 2 3; do exec_b; [[ $ms -gt $base ]] && base=$ms; done
echo "NOTE: exec in B, nothing stalled: ${base} ms (worst of 3)"

# ---- 1. A's CreateContainer hangs in setup (bind source under the FUSE mount) ----
stall_spec "$W/a.json" "$W/vol/stall/x" rbind --args '["true"]'
ctl --id A create --config "$W/a.json" --rootfs "$R" >"$W/a.res" 2>&1 &
cpa=$!; BG+=($cpa)
if apid=$(fuse_waiter "$CG/A"); then pass "A's setup child (pid $apid) is blocked in FUSE"; else fail "A's setup blocks" "no child in FUSE"; fi
exec_b; e=$ms
[[ $e -lt $FAST_MS ]] && pass "exec+start+wait in B while A's setup hangs: ${e} ms" || fail "exec in B while A's setup hangs" "${e} ms"
health_ms; h=$ms
[[ $h -lt $FAST_MS ]] && pass "Health while A's setup hangs: ${h} ms" || fail "Health while A's setup hangs" "${h} ms"
worst=$e
for _ in 1 2 3 4; do exec_b; [[ $ms -gt $worst ]] && worst=$ms; done
[[ $worst -lt $FAST_MS ]] && pass "5 execs in B while A hangs, worst ${worst} ms" || fail "5 execs in B while A hangs" "worst ${worst} ms"
echo "NOTE: exec in B while A's setup hangs: worst ${worst} ms of 5, health ${h} ms"
t0=$(now_ms)
$SPEC "$W/d.json" --args '["sh","-c","echo d-out; exit 4"]'
sed -i 's/"agent-test"/"d"/' "$W/d.json"
ctl --id D run --config "$W/d.json" --rootfs "$R" --out "$W/d.out" >"$W/d.res" 2>&1
dt=$(($(now_ms) - t0))
[[ $(cat "$W/d.out") == d-out && $(cat "$W/d.res") == *exit=4* && $dt -lt $((2 * FAST_MS)) ]] &&
  pass "a whole new container D (create+start+wait) while A hangs: ${dt} ms" || fail "container D while A hangs" "$dt ms: $(cat "$W/d.res")"
ctl --id D rm >/dev/null 2>&1
out=$(ctl --id A start 2>&1)
[[ $out == *FAILED_PRECONDITION*'setup in progress'* ]] && pass "StartProcess during A's setup refused ($out)" || fail "Start during setup" "$out"
out=$(ctl --id A rm 2>&1)
[[ $out == *FAILED_PRECONDITION* ]] && pass "RemoveContainer (no force) during setup refused" || fail "rm during setup" "$out"
kill -0 $cpa 2>/dev/null && pass "A's CreateContainer still unanswered" || fail "A's create pending" "answered: $(cat "$W/a.res")"

# ---- 2. A removed mid-setup: its call answered once with an error, its child killed ----
t0=$(now_ms)
out=$(ctl --id A rm --force 2>&1)
[[ $out == ok ]] && pass "RemoveContainer --force during setup" || fail "rm --force during setup" "$out"
wait $cpa; rc=$?
dt=$(($(now_ms) - t0))
[[ $rc -ne 0 && $(cat "$W/a.res") == *'process removed'* && $dt -lt $FAST_MS ]] &&
  pass "A's CreateContainer answered with an error at once ($(cat "$W/a.res"), ${dt} ms)" || fail "A's create answer" "rc=$rc $dt ms $(cat "$W/a.res")"
gone_within "$apid" 20 && pass "A's setup child killed" || fail "A's setup child killed" "pid $apid still there"
[[ $(ctl health) == "serving=1 containers=1" ]] && pass "only B is left" || fail "containers after removing A" "$(ctl health)"

# ---- 3. the child dies mid-handshake ----
ctl --id A2 create --config "$W/a.json" --rootfs "$R" >"$W/a2.res" 2>&1 &
cpa2=$!; BG+=($cpa2)
if a2pid=$(fuse_waiter "$CG/A2"); then
  t0=$(now_ms)
  kill -9 "$a2pid"
  wait $cpa2; rc=$?
  dt=$(($(now_ms) - t0))
  [[ $rc -ne 0 && $(cat "$W/a2.res") == *UNAVAILABLE*'container process setup: child died'* ]] &&
    pass "child killed in setup: CreateContainer fails with 'child died' (${dt} ms)" || fail "child death mid-setup" "rc=$rc $(cat "$W/a2.res")"
else
  fail "A2's setup blocks" "no child in FUSE"
fi
[[ $(ctl health) == "serving=1 containers=1" ]] && pass "failed setup leaves no container" || fail "containers after A2" "$(ctl health)"

# ---- the client goes away mid-setup, then the container is removed ----
"$CTL" --unix "$W/a.sock" --id A3 create --config "$W/a.json" --rootfs "$R" >"$W/a3.res" 2>&1 &
cpa3=$!; BG+=($cpa3) # agent_ctl itself: killing it closes its connection
if a3pid=$(fuse_waiter "$CG/A3"); then
  kill -9 $cpa3; wait $cpa3 2>/dev/null
  out=$(ctl --id A3 rm --force 2>&1)
  [[ $out == ok ]] && gone_within "$a3pid" 20 && ctl health >/dev/null &&
    pass "client killed mid-setup, container then removed: child killed, agent serving" || fail "client gone mid-setup" "$out"
else
  fail "A3's setup blocks" "no child in FUSE"
fi

# ---- 4. an exec whose cwd is on the FUSE mount: its Start hangs until the deadline (20 s) ----
stall_spec "$W/c.json" "$W/vol" rbind --args '["sleep","1000"]'
ctl --id C create --config "$W/c.json" --rootfs "$R" >/dev/null && ctl --id C start >/dev/null || fail "container C runs" "rpc failed"
$SPEC "$W/exs.json" --process-only --args '["true"]' --set process.cwd='"/vol/stall"'
t0=$(now_ms)
ctl --id C --exec hang exec --process "$W/exs.json" >"$W/hang.res" 2>&1 &
cph=$!; BG+=($cph)
if hpid=$(fuse_waiter "$CG/C"); then pass "exec 'hang' in C (pid $hpid) blocked in FUSE (chdir to its cwd)"; else fail "exec setup blocks" "no child in FUSE"; fi
out=$(ctl --id C --exec hang delete 2>&1)
[[ $out == *FAILED_PRECONDITION* ]] && pass "DeleteProcess of an exec in setup refused" || fail "delete during setup" "$out"
out=$(ctl --id C --exec hang ps 2>&1)
[[ $out == *" hang"* ]] && pass "ListProcesses shows the exec in setup" || fail "ps during setup" "$out"
worst=0 n=0
while kill -0 $cph 2>/dev/null && [[ $(($(now_ms) - t0)) -lt 30000 ]]; do
  exec_b; n=$((n + 1)); [[ $ms -gt $worst ]] && worst=$ms
  health_ms; [[ $ms -gt $worst ]] && worst=$ms
  sleep 0.5
done
wait $cph; rc=$?
dt=$(($(now_ms) - t0))
[[ $n -ge 5 && $worst -lt $FAST_MS ]] && pass "$n execs in B + Health during the 20 s hang of C's exec: worst ${worst} ms" ||
  fail "B during C's hang" "$n execs, worst $worst ms"
echo "NOTE: during the exec hang in C: $n execs+health in B, worst ${worst} ms"
# an exec's cwd is entered at Start (containerd's contract: Exec never fails for a bad cwd),
# so it is StartProcess that hangs and fails at the deadline
[[ $rc -ne 0 && $(cat "$W/hang.res") == *DEADLINE_EXCEEDED*'starting process: no answer from the child'* && $dt -ge 19500 && $dt -lt 25000 ]] &&
  pass "the hung exec fails at the deadline with DEADLINE_EXCEEDED (${dt} ms)" || fail "exec deadline" "rc=$rc $dt ms $(cat "$W/hang.res")"
gone_within "$hpid" 20 && pass "the hung exec's child killed at the deadline" || fail "hung child killed" "pid $hpid still there"
out=$(ctl --id C --exec hang delete 2>&1)
[[ $out == exit=137 ]] && pass "the failed exec is deleted (killed at the deadline: 137)" || fail "failed exec deleted" "$out"
out=$(ctl --id C --exec hang delete 2>&1)
[[ $out == *NOT_FOUND* ]] && pass "the failed exec is gone" || fail "failed exec gone" "$out"
$SPEC "$W/exok.json" --process-only --args '["sh","-c","echo again"]'
ctl --id C --exec hang exec --process "$W/exok.json" --out "$W/again.out" >"$W/again.res" 2>&1
[[ $(cat "$W/again.out") == again && $(cat "$W/again.res") == exit=0 ]] && pass "its exec id is free again" || fail "exec id reuse" "$(cat "$W/again.res")"

# ---- errors unchanged by the asynchronous path ----
$SPEC "$W/m.json" --args '["none"]'
out=$(ctl --id M create --config "$W/m.json" --rootfs "$R" 2>&1)
[[ $out == *NOT_FOUND*'exec: "none": executable file not found in $PATH'* ]] && pass "missing binary: $out" || fail "missing binary" "$out"
$SPEC "$W/mx.json" --process-only --args '["none"]'
out=$(ctl --id B --exec mx exec --process "$W/mx.json" 2>&1)
[[ $out == *NOT_FOUND*'exec: "none": executable file not found in $PATH'* ]] && pass "exec of a missing binary: same error" || fail "exec missing binary" "$out"

ctl --id C rm --force >/dev/null
ctl --id B rm --force >/dev/null
sleep 0.3
[[ $(ctl health) == "serving=1 containers=0" ]] && pass "no containers left" || fail "no containers left" "$(ctl health)"
fds_after=$(ls /proc/$APID/fd | wc -l)
[[ $fds_after == "$fds_before" ]] && pass "agent fd count unchanged ($fds_after)" || fail "agent fd count" "$fds_before -> $fds_after"
kill -0 "$APID" 2>/dev/null && pass "agent alive" || fail "agent alive" "$(tail "$W/agent.log")"
agent_end_check "$APID" "$W/agent.log"; APID=
[[ $fails -eq 0 ]] || { echo "--- agent log (tail)"; tail -30 "$W/agent.log"; }
exit $((fails > 0))

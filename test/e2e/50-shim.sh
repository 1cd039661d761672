#!/usr/bin/env bash
# End-to-end: containerd-shim-cvm-v1 under a private containerd 1.6.20 with a locally built
# busybox image. One fresh `ctr run --rm` (its own VM), then one shared VM (group annotation)
# for exec, stdio volume, ps/pause/resume/metrics, a second container, kill, QEMU death;
# containerd restart; a boot failure; and no leftovers after each part.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

EV_PID=
cleanup() {
  [[ -n $EV_PID ]] && kill "$EV_PID" 2>/dev/null
  shim_ctd_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-shim "must run as root"; exit 1; }
shim_env_check || exit 1

# --- 0. the CLI contract without containerd (spec §2.4, §2.6)
CLI=$(mktemp -d /tmp/cvm-cli.XXXXXX)
SHIM=$PWD/$SHIM_BIN
CADDR=$CLI/fake.sock
mkdir -p "$CLI/b1" "$CLI/b2"
for b in b1 b2; do
  echo '{"annotations":{"io.containerd.cvm.v1.group":"cli1"}}' > "$CLI/$b/config.json"
  mkfifo "$CLI/$b/log"
done
exec 8<>"$CLI/b1/log"   # containerd holds the log FIFO open O_RDWR, like this
want="unix:///run/containerd/s/$(printf '%s' "$CADDR/clitest/cli1" | sha256sum | cut -d' ' -f1)"
out=$(cd "$CLI/b1" && TTRPC_ADDRESS=$CLI/none "$SHIM" -namespace clitest -address "$CADDR" -publish-binary /bin/true -id c1 start </dev/null 2>&1)
[[ $out == "$want" ]] && pass start-prints-only-address || fail start-prints-only-address "got '$out' want '$want'"
[[ $(cat "$CLI/b1/address") == "$want" && $(tail -c1 "$CLI/b1/address" | od -An -c | tr -d ' ') != '\n' ]] &&
  pass start-address-file || fail start-address-file "$(od -c "$CLI/b1/address" | head -2)"
dpid=$(pgrep -f "^$SHIM -namespace clitest" | head -1)
if [[ -n $dpid ]]; then
  [[ $(ps -o pgid= -p "$dpid" | tr -d ' ') == "$dpid" && $(readlink /proc/$dpid/fd/0) == /dev/null &&
     $(readlink /proc/$dpid/fd/1) == /dev/null && $(readlink /proc/$dpid/fd/3) == socket:* &&
     $(readlink /proc/$dpid/cwd) == "$CLI/b1" ]] && pass start-daemon-detached ||
    fail start-daemon-detached "pgid=$(ps -o pgid= -p "$dpid") fd0=$(readlink /proc/$dpid/fd/0) fd1=$(readlink /proc/$dpid/fd/1) fd3=$(readlink /proc/$dpid/fd/3)"
else
  fail start-daemon-detached "no daemon"
fi
out=$(cd "$CLI/b2" && "$SHIM" -namespace clitest -address "$CADDR" -id c2 start </dev/null 2>&1)
[[ $out == "$want" && $(cat "$CLI/b2/address") == "$want" && $(pgrep -c -f "^$SHIM -namespace clitest") -eq 1 ]] &&
  pass start-reuses-live-socket || fail start-reuses-live-socket "out=$out daemons=$(pgrep -c -f "^$SHIM -namespace clitest")"
t0=$(date +%s%N)
(cd "$CLI/b2" && "$SHIM" -namespace clitest -address "$CADDR" -id c2 -bundle "$CLI/b2" delete </dev/null > "$CLI/del2.out" 2>"$CLI/del2.err"); rc=$?
[[ $rc -eq 0 && $(od -An -tx1 "$CLI/del2.out" | tr -d ' \n') == 108901* && ! -s $CLI/del2.err ]] && kill -0 "$dpid" 2>/dev/null &&
  pass delete-app-keeps-live-daemon || fail delete-app-keeps-live-daemon "rc=$rc out=$(od -An -tx1 "$CLI/del2.out") err=$(cat "$CLI/del2.err")"
kill -TERM "$dpid" 2>/dev/null
for _ in $(seq 1 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
[[ ! -e ${want#unix://} ]] && ! kill -0 "$dpid" 2>/dev/null && pass daemon-sigterm-removes-socket || fail daemon-sigterm-removes-socket "socket or daemon still there"
for i in 1 2; do
  (cd "$CLI/b1" && "$SHIM" -namespace clitest -address "$CADDR" -id c1 -bundle "$CLI/b1" delete </dev/null > "$CLI/del1.out" 2>&1); rc=$?
  [[ $rc -eq 0 ]] || break
done
t1=$(date +%s%N)
[[ $rc -eq 0 && $(od -An -tx1 "$CLI/del1.out" | tr -d ' \n') == 108901* && $(( (t1 - t0) / 1000000 )) -lt 5000 ]] &&
  pass delete-idempotent-fast || fail delete-idempotent-fast "rc=$rc $(( (t1 - t0) / 1000000 )) ms"
grep -q 'level=info msg="containerd-shim-cvm-v1' <(timeout 1 cat <&8) && pass daemon-logs-to-fifo || fail daemon-logs-to-fifo "nothing in the log FIFO"
exec 8<&-
[[ $("$SHIM" -v) == *Version* ]] && pass version-flag || fail version-flag "$("$SHIM" -v 2>&1)"
[[ -z $(shim_footprint_ours "$CADDR" clitest cli1) ]] && pass cli-no-leftovers || fail cli-no-leftovers "$(shim_footprint_ours "$CADDR" clitest cli1)"
rm -rf "$CLI"

ctd_start || exit 1
shim_use_ctd
ours() { shim_footprint_ours "$CTD_SOCK" default r1 g1 g2 pod1 bad1 bad2 pol1 pol2 pol3; }
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
# the pod of part 4c sizes its VM by annotation: the operator's config must allow that
shim_write_config "$CFG" 90000 '"allowed_annotations": ["io.containerd.cvm.vcpus", "io.containerd.cvm.memory_mib"]'
RUN=(ctr run --runtime "$RT" --runtime-config-path "$CFG")
ctr events > "$CTD_DIR/events.log" 2>&1 &
EV_PID=$!

# --- 1. a fresh VM: streams kept apart, exit status, timing vs runc
t0=$(date +%s%N)
out=$(timeout 120 "${RUN[@]}" --rm "$IMG" r1 sh -c 'echo out; echo err >&2; exit 3' 2>"$CTD_DIR/r1.err"); rc=$?
t1=$(date +%s%N)
err=$(cat "$CTD_DIR/r1.err")
[[ $rc -eq 3 ]] && pass run-exit-status || fail run-exit-status "rc=$rc stderr=$err"
[[ $out == out ]] && pass run-stdout-only-out || fail run-stdout-only-out "stdout='$out'"
[[ $err == err ]] && pass run-stderr-only-err || fail run-stderr-only-err "stderr='$err'"
t2=$(date +%s%N)
timeout 60 ctr run --rm "$IMG" rr true >/dev/null 2>&1
t3=$(date +%s%N)
note "ctr run --rm: cvm $(( (t1 - t0) / 1000000 )) ms, runc $(( (t3 - t2) / 1000000 )) ms (TCG)"
grep -q '/tasks/exit.*"container_id":"r1","id":"r1".*"exit_status":3' "$CTD_DIR/events.log" &&
  pass run-taskexit-event || fail run-taskexit-event "$(grep r1 "$CTD_DIR/events.log" | tail -3)"
sleep 1
new=$(ours)
[[ -z $new ]] && pass run-no-leftovers || fail run-no-leftovers "$new"

# --- 2. one shared VM (group g1)
G=(--annotation io.containerd.cvm.v1.group=g1)
timeout 120 "${RUN[@]}" -d "${G[@]}" "$IMG" box1 sleep 100000 >/dev/null 2>&1
st=$(task_field box1 3); qpid=$(task_field box1 2)
[[ $st == RUNNING ]] && pass sandbox-running || fail sandbox-running "status='$st' $(tail -5 "$CTD_DIR/containerd.log")"
[[ -n $qpid && $(cat /proc/$qpid/comm 2>/dev/null) == qemu* ]] && pass task-pid-is-qemu || fail task-pid-is-qemu "pid=$qpid comm=$(cat /proc/$qpid/comm 2>/dev/null)"
[[ $(readlink /proc/$qpid/ns/net) != $(readlink /proc/self/ns/net) ]] && pass qemu-own-netns || fail qemu-own-netns "qemu shares the host netns"
rdir=$(tr '\0' ' ' < /proc/$qpid/cmdline | grep -o '/run/cvm/[0-9a-f]*' | head -1)
pids="$qpid $(pgrep -f "^[^ ]*(virtiofsd|cvm-vsockd) .*$rdir/" | tr '\n' ' ')$(pgrep -f "^[^ ]*containerd-shim-cvm-v1 .*-address $CTD_SOCK" | tr '\n' ' ')"
note "idle sandbox RSS kB: $(for p in $pids; do ps -o rss=,comm= -p "$p"; done 2>/dev/null | awk '{printf "%s=%s ", $2, $1}')"

out=$(timeout 60 ctr task exec --exec-id e1 box1 sh -c 'echo xo; echo xe >&2; exit 7' 2>"$CTD_DIR/e1.err"); rc=$?
[[ $rc -eq 7 && $out == xo && $(cat "$CTD_DIR/e1.err") == xe ]] && pass exec-streams-status ||
  fail exec-streams-status "rc=$rc out='$out' err='$(cat "$CTD_DIR/e1.err")'"

want=$(yes abcdefghij | head -c 52428800 | sha256sum | cut -d' ' -f1)
t0=$(date +%s%N)
got=$(timeout 300 ctr task exec --exec-id e2 box1 sh -c 'yes abcdefghij | head -c 52428800' | sha256sum | cut -d' ' -f1)
t1=$(date +%s%N)
[[ $got == "$want" ]] && pass exec-50MiB-checksum || fail exec-50MiB-checksum "got $got want $want"
note "50 MiB stdout in $(( (t1 - t0) / 1000000 )) ms"

out=$(timeout 60 ctr task exec --exec-id e3 box1 sh -c 'seq 1 20000; echo LAST' 2>&1)
[[ $(printf '%s\n' "$out" | tail -1) == LAST && $(printf '%s\n' "$out" | wc -l) -eq 20001 ]] && pass exec-tail-not-lost ||
  fail exec-tail-not-lost "lines=$(printf '%s\n' "$out" | wc -l) last='$(printf '%s\n' "$out" | tail -1)'"

# arguments as long as Linux allows one (MAX_ARG_STRLEN 128 KiB; runc passes them): 100,000 bytes
big=$(head -c 100000 /dev/zero | tr '\0' a)
out=$(timeout 60 ctr task exec --exec-id big box1 sh -c 'echo ${#0}' "$big" 2>&1); rc=$?
[[ $rc -eq 0 && $out == 100000 ]] && pass exec-100k-argument || fail exec-100k-argument "rc=$rc out=${out:0:200}"
out=$(echo hello-stdin | timeout 60 ctr task exec --exec-id e4 box1 cat 2>&1); rc=$?
[[ $rc -eq 0 && $out == hello-stdin ]] && pass exec-stdin || fail exec-stdin "rc=$rc out='$out'"

out=$(ctr task delete box1 2>&1); rc=$?
[[ $rc -ne 0 && $(task_field box1 3) == RUNNING ]] && pass delete-running-refused || fail delete-running-refused "rc=$rc out=$out"
out=$(ctr task checkpoint box1 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"not implemented"* && $(task_field box1 3) == RUNNING ]] && pass checkpoint-unimplemented || fail checkpoint-unimplemented "rc=$rc out=$out"
# Pids: the container's processes as the guest sees them, the exec's id in INFO (as runc's)
ctr task exec -d --exec-id ps1 box1 sleep 300 >/dev/null 2>&1
for _ in $(seq 1 50); do ps_out=$(ctr task ps box1 2>&1); [[ $ps_out == *ps1* ]] && break; sleep 0.2; done
note "ctr task ps box1: $(echo "$ps_out" | tr '\n' '|')"
[[ $(echo "$ps_out" | grep -cE '^[0-9]+ ') -ge 2 && $ps_out == *ps1* && $ps_out != *"$qpid "* ]] && pass task-ps-guest-processes ||
  fail task-ps-guest-processes "$ps_out"
ctr task kill -s SIGKILL --exec-id ps1 box1 >/dev/null 2>&1
for _ in $(seq 1 50); do ctr task delete --exec-id ps1 box1 >/dev/null 2>&1 && break; sleep 0.2; done
ctr task pause box1 >/dev/null 2>&1; st=$(task_field box1 3)
[[ $st == PAUSED ]] && pass pause || fail pause "status=$st"
ctr task resume box1 >/dev/null 2>&1; st=$(task_field box1 3)
[[ $st == RUNNING ]] && pass resume || fail resume "status=$st"
# Stats: the cgroup v2 metrics of the container's cgroup in the guest, decoded by ctr: its one
# process (sleep) counted, CPU time spent, memory in use and under the guest's RAM
m=$(ctr task metrics --format json box1 2>&1)
mv=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["pids"]["current"], d["cpu"]["usage_usec"], d["memory"]["usage"])' "$m" 2>&1)
read -r m_pids m_cpu m_mem <<< "$mv"
[[ $m_pids =~ ^[0-9]+$ && $m_cpu =~ ^[0-9]+$ && $m_mem =~ ^[0-9]+$ ]] && (( m_pids >= 1 && m_pids <= 4 && m_cpu > 0 &&
   m_mem > 65536 && m_mem < 256 * 1048576 )) && pass metrics || fail metrics "pids/cpu_usec/memory '$mv' from $(tr '\n' ' ' <<< "$m" | cut -c1-600)"

timeout 60 "${RUN[@]}" -d "${G[@]}" "$IMG" box2 sleep 100000 >/dev/null 2>&1
[[ $(task_field box2 3) == RUNNING && $(task_field box2 2) == "$qpid" ]] && pass two-containers-one-vm ||
  fail two-containers-one-vm "box2 status=$(task_field box2 3) pid=$(task_field box2 2) sandbox qemu=$qpid"
[[ $(pgrep -c -f 'qemu-system.*/run/cvm/') -eq 1 ]] && pass one-qemu-for-group || fail one-qemu-for-group "$(pgrep -af 'qemu-system.*/run/cvm/')"
# CRI's way of sharing a pod's namespaces: /proc/<sandbox task pid>/ns/* (QEMU's pid) means the
# sandbox container's; any other host namespace path is refused.
timeout 60 "${RUN[@]}" -d "${G[@]}" --with-ns "ipc:/proc/$qpid/ns/ipc" --with-ns "uts:/proc/$qpid/ns/uts" \
  --with-ns "pid:/proc/$qpid/ns/pid" "$IMG" box4 sleep 100000 >/dev/null 2>&1
ns1=$(ctr task exec --exec-id ns1 box1 sh -c 'for f in ipc uts pid; do readlink /proc/self/ns/$f; done' 2>&1)
ns4=$(ctr task exec --exec-id ns4 box4 sh -c 'for f in ipc uts pid; do readlink /proc/self/ns/$f; done' 2>&1)
ns2=$(ctr task exec --exec-id ns2 box2 sh -c 'readlink /proc/self/ns/ipc' 2>&1)
[[ $(task_field box4 3) == RUNNING && $ns1 == "$ns4" && $ns1 == ipc:* && $ns2 != "${ns1%%$'\n'*}" ]] &&
  pass pod-namespaces-joined || fail pod-namespaces-joined "box1=[$ns1] box4=[$ns4] box2=[$ns2]"
[[ $(ctr task exec --exec-id ps4 box4 ps -o pid,comm 2>&1 | grep -c 'sleep') -ge 2 ]] && pass pod-pid-namespace-shared ||
  fail pod-pid-namespace-shared "$(ctr task exec --exec-id ps4b box4 ps -o pid,comm 2>&1 | tr '\n' '|')"
out=$(timeout 60 "${RUN[@]}" --rm "${G[@]}" --with-ns "ipc:/proc/1/ns/ipc" "$IMG" box5 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"ipc namespace /proc/1/ns/ipc is a host path the sandbox VM cannot join"* ]] &&
  pass host-namespace-path-refused || fail host-namespace-path-refused "rc=$rc $out"
ctr containers delete box5 >/dev/null 2>&1
ctr task kill -s SIGKILL box4 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field box4 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete box4 >/dev/null 2>&1; ctr containers delete box4 >/dev/null 2>&1

timeout 60 "${RUN[@]}" --rm "${G[@]}" "$IMG" box3 sleep 100000 >/dev/null 2>&1 &
k=$!
for _ in $(seq 1 100); do [[ $(task_field box3 3) == RUNNING ]] && break; sleep 0.2; done
ctr task kill -s SIGKILL box3 >/dev/null 2>&1
wait $k; rc=$?
[[ $rc -eq 137 ]] && pass kill-sigkill-137 || fail kill-sigkill-137 "rc=$rc"
ctr task kill -s SIGKILL box2 >/dev/null 2>&1; sleep 1
ctr task delete box2 >/dev/null 2>&1; ctr containers delete box2 >/dev/null 2>&1
[[ $(task_field box1 3) == RUNNING ]] && pass sandbox-survives-app-delete || fail sandbox-survives-app-delete "box1=$(task_field box1 3)"

# stdio targets other than FIFOs (spec §3.5): file:// and a binary:// logger
timeout 60 "${RUN[@]}" --rm "${G[@]}" --log-uri "file://$CTD_DIR/logs/f1.log" "$IMG" f1 sh -c 'echo to-file; echo err-file >&2' >/dev/null 2>&1
[[ $(sort "$CTD_DIR/logs/f1.log" 2>/dev/null | tr '\n' ' ') == "err-file to-file " ]] && pass log-uri-file ||
  fail log-uri-file "$(cat "$CTD_DIR/logs/f1.log" 2>&1)"
cat > "$CTD_DIR/logger.sh" <<'SH'
#!/bin/sh
# binary:// logger: fd 3 stdout, fd 4 stderr, close fd 5 when ready
echo "$CONTAINER_ID $CONTAINER_NAMESPACE" > "$1.env"
exec 6<&3 7<&4 5>&-
cat <&6 > "$1.out" & a=$!
cat <&7 > "$1.err" & b=$!
exec 3<&- 4<&- 6<&- 7<&-
wait $a $b
SH
chmod +x "$CTD_DIR/logger.sh"
timeout 60 "${RUN[@]}" --rm "${G[@]}" --log-uri "binary://$CTD_DIR/logger.sh?$CTD_DIR/bl" "$IMG" b1 sh -c 'echo bin-out; echo bin-err >&2' >/dev/null 2>&1
for _ in $(seq 1 20); do [[ -s $CTD_DIR/bl.env ]] && break; sleep 0.2; done
[[ $(cat "$CTD_DIR/bl.out" 2>/dev/null) == bin-out && $(cat "$CTD_DIR/bl.err" 2>/dev/null) == bin-err && $(cat "$CTD_DIR/bl.env" 2>/dev/null) == "b1 default" ]] &&
  pass log-uri-binary || fail log-uri-binary "out='$(cat "$CTD_DIR/bl.out" 2>&1)' err='$(cat "$CTD_DIR/bl.err" 2>&1)' env='$(cat "$CTD_DIR/bl.env" 2>&1)'"

# terminal mode (spec §3.5: stdout only, stderr never opened), under script(1) for a pty
if command -v script >/dev/null; then
  out=$(timeout 60 script -qec "ctr run --rm -t --runtime $RT --runtime-config-path $CFG ${G[*]} $IMG t1 sh -c 'tty; echo tty-ok; exit 5'" /dev/null 2>&1); rc=$?
  [[ $rc -eq 5 && $out == *tty-ok* && $out != *ERRO* ]] && pass run-terminal || fail run-terminal "rc=$rc out=$(printf '%q' "$out")"
  out=$(timeout 60 script -qec "ctr task exec -t --exec-id t2 box1 sh -c 'tty; exit 4'" /dev/null 2>&1); rc=$?
  [[ $rc -eq 4 && $out == */dev/pts/* && $out != *ERRO* ]] && pass exec-terminal || fail exec-terminal "rc=$rc out=$(printf '%q' "$out")"
else
  fail run-terminal "script(1) is not installed (util-linux)"
fi

# host bind mounts reach the guest; ro is honoured
mkdir -p "$CTD_DIR/vol" && echo host-data > "$CTD_DIR/vol/f"
out=$(timeout 60 "${RUN[@]}" --rm "${G[@]}" --mount "type=bind,src=$CTD_DIR/vol,dst=/vol,options=rbind:rw" "$IMG" m1 sh -c 'cat /vol/f; echo guest-data > /vol/g' 2>&1)
[[ $out == host-data && $(cat "$CTD_DIR/vol/g" 2>/dev/null) == guest-data ]] && pass bind-mount-rw || fail bind-mount-rw "out='$out' g='$(cat "$CTD_DIR/vol/g" 2>&1)'"
out=$(timeout 60 "${RUN[@]}" --rm "${G[@]}" --mount "type=bind,src=$CTD_DIR/vol,dst=/vol,options=rbind:ro" "$IMG" m2 sh -c 'cat /vol/f; echo x > /vol/h && echo WROTE' 2>&1)
[[ $out == host-data* && $out != *WROTE* && ! -e $CTD_DIR/vol/h ]] && pass bind-mount-ro || fail bind-mount-ro "out='$out'"
[[ -z $(grep -E " /run/cvm/[0-9a-f]+/shared/(f1|b1|m1|m2)" /proc/self/mountinfo) ]] && pass app-mounts-removed ||
  fail app-mounts-removed "$(grep -E ' /run/cvm/[0-9a-f]+/shared/(f1|b1|m1|m2)' /proc/self/mountinfo | awk '{print $5}')"

# --- 3. containerd restart: the shim keeps serving
if ctd_restart; then
  sleep 1
  out=$(timeout 60 ctr task exec --exec-id e5 box1 echo after-restart 2>&1)
  [[ $(task_field box1 3) == RUNNING && $out == after-restart ]] && pass containerd-restart ||
    fail containerd-restart "status=$(task_field box1 3) out='$out'"
  kill "$EV_PID" 2>/dev/null; ctr events >> "$CTD_DIR/events.log" 2>&1 & EV_PID=$!
else
  fail containerd-restart "containerd did not come back"
fi

# --- 4. QEMU dies under running tasks: every task exits 255 with a TaskExit
timeout 60 "${RUN[@]}" --rm "${G[@]}" "$IMG" box4 sleep 100000 >/dev/null 2>&1 &
k=$!
for _ in $(seq 1 100); do [[ $(task_field box4 3) == RUNNING ]] && break; sleep 0.2; done
sleep 0.5
t0=$(date +%s%N)
kill -9 "$qpid"
wait $k; rc=$?
t1=$(date +%s%N)
[[ $rc -eq 255 ]] && pass qemu-killed-exit-255 || fail qemu-killed-exit-255 "rc=$rc"
note "exit reported $(( (t1 - t0) / 1000000 )) ms after kill -9 of QEMU"
for _ in $(seq 1 20); do [[ $(task_field box1 3) == STOPPED ]] && break; sleep 0.2; done
[[ $(task_field box1 3) == STOPPED ]] && pass qemu-killed-sandbox-stopped || fail qemu-killed-sandbox-stopped "box1=$(task_field box1 3)"
grep -q '/tasks/exit.*"container_id":"box1".*"exit_status":255' "$CTD_DIR/events.log" &&
  pass qemu-killed-taskexit || fail qemu-killed-taskexit "$(grep box1 "$CTD_DIR/events.log" | tail -3)"
ctr task delete box1 >/dev/null 2>&1; ctr containers delete box1 >/dev/null 2>&1
sleep 1
new=$(ours)
[[ -z $new ]] && pass sandbox-no-leftovers || fail sandbox-no-leftovers "$new"

# --- 4b. the shim itself is killed: containerd's `delete` must clean up QEMU and the rest
timeout 120 "${RUN[@]}" --rm --annotation io.containerd.cvm.v1.group=g2 "$IMG" k1 sleep 100000 >/dev/null 2>&1 &
k=$!
for _ in $(seq 1 300); do [[ $(task_field k1 3) == RUNNING ]] && break; sleep 0.2; done
spid=$(pgrep -f "^[^ ]*containerd-shim-cvm-v1 .*-address $CTD_SOCK" | head -1)
if [[ -n $spid ]]; then
  kill -9 "$spid"
  wait $k; rc=$?
  [[ $rc -ne 0 ]] && pass shim-killed-task-exits || fail shim-killed-task-exits "rc=$rc"
  for _ in $(seq 1 50); do [[ -z $(ours) ]] && break; sleep 0.2; done
  new=$(ours)
  [[ -z $new ]] && pass shim-killed-no-leftovers || fail shim-killed-no-leftovers "$new"
else
  fail shim-killed-task-exits "no shim process found"
fi

# --- 4c. a CRI-shaped pod via annotations: sandbox + app container share one VM; VM sizing
# from io.containerd.cvm.* annotations; an unknown io.containerd.cvm.* annotation is refused
P=(--annotation io.kubernetes.cri.sandbox-id=pod1)
timeout 120 "${RUN[@]}" -d "${P[@]}" --annotation io.kubernetes.cri.container-type=sandbox \
  --annotation io.containerd.cvm.vcpus=2 --annotation io.containerd.cvm.memory_mib=192 "$IMG" pod1 sleep 100000 >/dev/null 2>&1
pq=$(task_field pod1 2)
args=$(tr '\0' ' ' < /proc/$pq/cmdline 2>/dev/null)
[[ $args == *"-smp 2"* && $args == *"-m 192"* ]] && pass annotations-size-vm || fail annotations-size-vm "qemu args: ${args:0:200}"
timeout 60 "${RUN[@]}" -d "${P[@]}" --annotation io.kubernetes.cri.container-type=container "$IMG" pod1-app sleep 100000 >/dev/null 2>&1
[[ $(task_field pod1-app 3) == RUNNING && $(task_field pod1-app 2) == "$pq" ]] && pass cri-sandbox-id-groups ||
  fail cri-sandbox-id-groups "app=$(task_field pod1-app 3)/$(task_field pod1-app 2) sandbox qemu=$pq"
out=$(timeout 60 "${RUN[@]}" --rm "${P[@]}" --annotation io.containerd.cvm.cpus=4 "$IMG" pod1-bad true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"unknown annotation"* && $(task_field pod1 3) == RUNNING ]] && pass unknown-cvm-annotation-rejected ||
  fail unknown-cvm-annotation-rejected "rc=$rc out=$out"
ctr containers delete pod1-bad >/dev/null 2>&1
# the annotation policy (config/README.md "Annotations"), each refused before any VM starts:
# the default config allows no annotation that changes the VM; bounds hold for annotations
# and for the guest RAM a container memory limit asks for
shim_write_config "$CTD_DIR/noann.json"
for a in io.containerd.cvm.vcpus=2 io.containerd.cvm.memory_mib=192 io.containerd.cvm.kernel_args=init=/bin/sh; do
  out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/noann.json" --annotation "$a" "$IMG" pol1 true 2>&1); rc=$?
  [[ $rc -ne 0 && $out == *"annotation ${a%%=*} is not allowed by the runtime config (allowed_annotations)"* ]] &&
    pass "annotation-refused-by-default:${a%%=*}" || fail "annotation-refused-by-default:${a%%=*}" "rc=$rc out=$out"
  ctr containers delete pol1 >/dev/null 2>&1
done
shim_write_config "$CTD_DIR/bounds.json" 90000 '"allowed_annotations": ["io.containerd.cvm.vcpus", "io.containerd.cvm.memory_mib"], "memory_mib": 128, "max_vcpus": 1, "max_memory_mib": 160'
for a in io.containerd.cvm.vcpus=2:max_vcpus io.containerd.cvm.memory_mib=192:max_memory_mib; do
  out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/bounds.json" --annotation "${a%:*}" "$IMG" pol2 true 2>&1); rc=$?
  [[ $rc -ne 0 && $out == *"annotation ${a%:*} is above the runtime config's ${a##*:}"* ]] &&
    pass "annotation-above-${a##*:}-refused" || fail "annotation-above-${a##*:}-refused" "rc=$rc out=$out"
  ctr containers delete pol2 >/dev/null 2>&1
done
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/bounds.json" --cgroup /cvm50pol/x --memory-limit 201326592 "$IMG" pol3 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"would raise the guest RAM above the runtime config's max_memory_mib (160 MiB)"* ]] &&
  pass memory-limit-above-max-memory-refused || fail memory-limit-above-max-memory-refused "rc=$rc out=$out"
ctr containers delete pol3 >/dev/null 2>&1
rmdir /sys/fs/cgroup/cvm50pol /sys/fs/cgroup/*/cvm50pol 2>/dev/null
ctr task kill -s SIGKILL pod1-app >/dev/null 2>&1; sleep 1
ctr task delete pod1-app >/dev/null 2>&1; ctr containers delete pod1-app >/dev/null 2>&1
[[ $(task_field pod1 3) == RUNNING && -d /proc/$pq ]] && pass pod-sandbox-survives-app || fail pod-sandbox-survives-app "pod1=$(task_field pod1 3)"
ctr task kill -s SIGKILL pod1 >/dev/null 2>&1; sleep 1
ctr task delete pod1 >/dev/null 2>&1; ctr containers delete pod1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ -z $(shim_footprint_ours "$CTD_SOCK" default pod1) ]] && break; sleep 0.2; done
new=$(shim_footprint_ours "$CTD_SOCK" default pod1)
[[ -z $new ]] && pass pod-no-leftovers || fail pod-no-leftovers "$new"

# --- 5. a VM that cannot boot fails Create with a clear error, nothing left behind
shim_write_config "$CTD_DIR/bad.json" 5000 '"kernel": "/etc/hostname"'
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/bad.json" "$IMG" bad1 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"guest kernel '/etc/hostname' is neither a bzImage"* ]] && pass boot-failure-clear-error || fail boot-failure-clear-error "rc=$rc out=$out"
shim_write_config "$CTD_DIR/unk.json" 90000 '"cpus": 2'
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/unk.json" "$IMG" bad2 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *'unknown key "cpus"'* ]] && pass config-unknown-key-rejected || fail config-unknown-key-rejected "rc=$rc out=$out"
ctr containers delete bad1 bad2 >/dev/null 2>&1
sleep 1
new=$(ours)
[[ -z $new ]] && pass failure-no-leftovers || fail failure-no-leftovers "$new"

shim_log_check

exit $FAILED

#!/usr/bin/env bash
# cvm-agent as a host process (unix sockets, as root) driven by test/drivers/agent_ctl over
# ttrpc + stdio streams, against a busybox rootfs made from Debian's busybox-static.
# Prints PASS/FAIL per check; exits non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/bin/cvm-agent}
AGENT_RUN=${AGENT_RUN:-$AGENT}
CTL=$BUILD/drivers/agent_ctl
SPEC="python3 test/drivers/agent_spec.py"
fails=0
source test/e2e/lib-agent.sh
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
check() { # name, expected, actual
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "expected [$2] got [$(printf '%q' "$3")]"; fi
}

[[ $(id -u) -eq 0 ]] || { echo "FAIL: setup: must run as root"; exit 1; }
for b in "$AGENT" "$AGENT_RUN" "$CTL" /bin/busybox; do
  [[ -x $b ]] || { echo "FAIL: setup: $b missing (make BUILD=$BUILD all unit; busybox-static)"; exit 1; }
done
cg2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
[[ -n $cg2 ]] || { echo "FAIL: setup: no cgroup2 mount"; exit 1; }

W=$(mktemp -d /tmp/agent-e2e.XXXXXX)
CG=$cg2/cvm-agent-e2e-$$
APID=
cleanup() {
  [[ -n $APID ]] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  for d in "$CG"/*/; do [[ -d $d ]] && rmdir "$d" 2>/dev/null; done
  rmdir "$CG" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# busybox rootfs
R=$W/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$R/bin/" && chroot "$R" /bin/busybox --install -s /bin || { echo "FAIL: setup: busybox rootfs"; exit 1; }
chmod 1777 "$R/tmp"

"$AGENT_RUN" --listen-unix "$W/a.sock" --cgroup-root "$CG" >"$W/agent.log" 2>&1 &
APID=$!
for _ in $(seq 50); do [[ -S $W/a.sock.stdio ]] && break; sleep 0.1; done
ctl() { "$CTL" --unix "$W/a.sock" "$@"; }
ctl health >/dev/null 2>&1 || { echo "FAIL: setup: agent not answering"; cat "$W/agent.log"; exit 1; }
fds_before=$(ls /proc/$APID/fd | wc -l)

# run NAME SPEC-ARGS... -- extra ctl args; leaves $W/NAME.{out,err,res}
run() {
  local name=$1; shift
  local sargs=() cargs=()
  while [[ $# -gt 0 && $1 != -- ]]; do sargs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  cargs=("$@")
  $SPEC "$W/$name.json" "${sargs[@]}"
  ctl --id "$name" run --config "$W/$name.json" --rootfs "$R" --out "$W/$name.out" --err "$W/$name.err" "${cargs[@]}" \
    >"$W/$name.res" 2>"$W/$name.ctlerr"
  ctl --id "$name" rm >/dev/null 2>&1
}
res() { grep -o 'exit=[0-9]*' "$W/$1.res" | cut -d= -f2; }

# ---- binary and initrd ----
if file "$AGENT" | grep -q 'statically linked'; then pass "agent is static"; else fail "agent is static" "$(file "$AGENT")"; fi
echo "NOTE: agent size $(stat -c %s "$AGENT") bytes"
kver=$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -1)
strip -o "$W/agent.stripped" "$AGENT"   # as initrd/module.mk does
if [[ -n $kver ]] && initrd/mkinitrd.sh --kver "$kver" --init "$W/agent.stripped" --out "$W/i1.img" >/dev/null &&
   initrd/mkinitrd.sh --kver "$kver" --init "$W/agent.stripped" --out "$W/i2.img" >/dev/null && cmp -s "$W/i1.img" "$W/i2.img"; then
  pass "initrd reproducible (two builds byte-identical)"
  echo "NOTE: initrd size $(stat -c %s "$W/i1.img") bytes"
else
  fail "initrd reproducible" "builds differ or failed (kver=$kver)"
fi
mkdir -p "$W/ix" && (cd "$W/ix" && zcat ../i1.img | cpio -id --quiet 2>/dev/null)
if python3 - "$W/ix/etc/modules.load" "/lib/modules/$kver/modules.dep" <<'PY'
import sys
order = [l.strip() for l in open(sys.argv[1]) if l.strip()]
deps = {}
for l in open(sys.argv[2]):
    k, _, v = l.partition(":")
    deps[k.strip()] = v.split()
pre = "/lib/modules/" + sys.argv[2].split("/")[3] + "/"
seen = set()
for m in order:
    rel = m[len(pre):]
    for d in deps[rel]:
        assert d in seen, f"{rel} before its dependency {d}"
    seen.add(rel)
for need in ("vmw_vsock_virtio_transport.ko", "virtiofs.ko", "virtio_pci.ko", "overlay.ko"):
    assert any(m.endswith("/" + need) for m in order), need
PY
then pass "initrd modules.load in dependency order"; else fail "initrd modules.load in dependency order" "see above"; fi
# The module-less initrd of our own kernel (initrd/kernel/): reproducible, no lib/modules, a
# modules.load that lists nothing (the agent loads no module).
if initrd/mkinitrd.sh --no-modules --init "$W/agent.stripped" --out "$W/n1.img" >/dev/null &&
   initrd/mkinitrd.sh --no-modules --init "$W/agent.stripped" --out "$W/n2.img" >/dev/null && cmp -s "$W/n1.img" "$W/n2.img" &&
   mkdir -p "$W/nx" && (cd "$W/nx" && zcat ../n1.img | cpio -id --quiet 2>/dev/null) &&
   [[ ! -e $W/nx/lib && -x $W/nx/init && -z $(grep -v '^#' "$W/nx/etc/modules.load") ]]; then
  pass "module-less initrd reproducible, without modules"
  echo "NOTE: module-less initrd size $(stat -c %s "$W/n1.img") bytes (with the distro modules: $(stat -c %s "$W/i1.img"))"
else
  fail "module-less initrd reproducible, without modules" "$(ls "$W/nx" 2>&1 | tr '\n' ' ')"
fi

# ---- stdout/stderr separation and exit code ----
run basic --args '["sh","-c","echo out; echo err >&2; exit 7"]'
check "stdout exactly out" "out" "$(cat "$W/basic.out")"
check "stderr exactly err" "err" "$(cat "$W/basic.err")"
[[ $(od -An -c "$W/basic.out" | tr -d ' ') == 'out\n' ]] && pass "stdout bytes exact" || fail "stdout bytes exact" "$(od -c "$W/basic.out")"
check "exit status 7" "7" "$(res basic)"

# ---- kill -9 -> 137 ----
$SPEC "$W/k.json" --args '["sleep","1000"]'
ctl --id k create --config "$W/k.json" --rootfs "$R" >/dev/null && ctl --id k start >/dev/null &&
  ctl --id k kill --signal 9 >/dev/null && check "SIGKILL reports 137" "exit=137" "$(ctl --id k wait)" ||
  fail "SIGKILL reports 137" "rpc failed"
ctl --id k rm >/dev/null

# ---- missing binary ----
$SPEC "$W/m.json" --args '["/bin/definitely-missing"]'
out=$(ctl --id m create --config "$W/m.json" --rootfs "$R" 2>&1); rc=$?
[[ $rc -ne 0 && $out == *'definitely-missing'* && $out == *NOT_FOUND* ]] && pass "missing binary: clear error ($out)" ||
  fail "missing binary: clear error" "rc=$rc out=$out"
$SPEC "$W/m2.json" --args '["nosuchcmd"]'
out=$(ctl --id m2 create --config "$W/m2.json" --rootfs "$R" 2>&1); rc=$?
[[ $rc -ne 0 && $out == *'executable file not found in $PATH'* ]] && pass "missing binary in PATH: clear error" ||
  fail "missing binary in PATH: clear error" "rc=$rc out=$out"
check "failed create leaves no container" "serving=1 containers=0" "$(ctl health)"

# ---- 10 MiB stdout + 10 MiB stderr at once ----
run big --args '["sh","-c","yes out | head -c 10485760 & yes err | head -c 10485760 >&2; wait; echo LAST"]'
exp_out=$( (yes out | head -c 10485760; echo LAST) | sha256sum | cut -d' ' -f1)
exp_err=$(yes err | head -c 10485760 | sha256sum | cut -d' ' -f1)
check "10 MiB stdout checksum (last line kept)" "$exp_out" "$(sha256sum <"$W/big.out" | cut -d' ' -f1)"
check "10 MiB stderr checksum" "$exp_err" "$(sha256sum <"$W/big.err" | cut -d' ' -f1)"
check "10 MiB run exit 0" "0" "$(res big)"
check "last line before exit" "LAST" "$(tail -c 5 "$W/big.out")"

# ---- stdin ----
head -c 1048576 /dev/urandom >"$W/in.bin"
run cat1 --args '["cat"]' -- --in "$W/in.bin"
cmp -s "$W/in.bin" "$W/cat1.out" && pass "stdin round-trips through cat (1 MiB)" || fail "stdin round-trips through cat" "$(stat -c %s "$W/cat1.out") bytes back"
check "EOF on stdin ends cat" "0" "$(res cat1)"
# CloseStdin delivers what the agent already has; a small input is all there by then.
head -c 3000 /dev/urandom >"$W/in-small.bin"
run cat2 --args '["cat"]' -- --in "$W/in-small.bin" --close-stdin-rpc
cmp -s "$W/in-small.bin" "$W/cat2.out" && [[ $(res cat2) == 0 ]] && pass "CloseStdin RPC ends cat after the bytes sent" || fail "CloseStdin RPC ends cat" "res=$(res cat2) $(cat "$W/cat2.ctlerr")"

# ---- the spec is honoured ----
run user --args '["sh","-c","id -u; id -g; id -G"]' --set process.user='{"uid":1000,"gid":1001,"additionalGids":[10,20]}'
check "uid/gid/additional gids" "1000 1001 1001 10 20" "$(tr '\n' ' ' <"$W/user.out" | sed 's/ $//')"
run caps --args '["sh","-c","grep -E \"^Cap(Eff|Prm|Bnd|Inh|Amb)\" /proc/self/status"]' \
  --set process.capabilities='{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_CHOWN","CAP_KILL"],"permitted":["CAP_CHOWN","CAP_KILL"]}'
check "CapEff" "CapEff:	0000000000000021" "$(grep CapEff "$W/caps.out")"
check "CapBnd" "CapBnd:	0000000000000021" "$(grep CapBnd "$W/caps.out")"
run amb --args '["sh","-c","grep -E \"^Cap(Eff|Amb)\" /proc/self/status | tr \"\\n\\t\" \"  \""]' --set process.user='{"uid":1000,"gid":1000}' \
  --set process.capabilities='{"bounding":["CAP_NET_BIND_SERVICE"],"effective":["CAP_NET_BIND_SERVICE"],"permitted":["CAP_NET_BIND_SERVICE"],"inheritable":["CAP_NET_BIND_SERVICE"],"ambient":["CAP_NET_BIND_SERVICE"]}'
check "ambient capability kept by a non-root user across exec" "CapEff: 0000000000000400 CapAmb: 0000000000000400 " "$(cat "$W/amb.out")"
SC='{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
run sec --args '["sh","-c","mkdir /tmp/nope; echo rc=$?"]' --set linux.seccomp="$SC"
grep -q 'Operation not permitted' "$W/sec.err" && grep -q 'rc=1' "$W/sec.out" && pass "seccomp mkdir -> EPERM" ||
  fail "seccomp mkdir -> EPERM" "$(cat "$W/sec.out" "$W/sec.err")"
SC2='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":1,"value":0,"op":"SCMP_CMP_EQ"}]}]}'
run sec2 --args '["sh","-c","kill -0 $$; echo a=$?; kill -CONT $$; echo b=$?"]' --set linux.seccomp="$SC2"
check "seccomp args condition (kill sig 0 -> ENOSYS, other signals pass)" "a=1 b=0" "$(tr '\n' ' ' <"$W/sec2.out" | sed 's/ $//')"
run nofile --args '["sh","-c","ulimit -n; ulimit -Hn"]' --set process.rlimits='[{"type":"RLIMIT_NOFILE","soft":555,"hard":777}]'
check "RLIMIT_NOFILE" "555 777" "$(tr '\n' ' ' <"$W/nofile.out" | sed 's/ $//')"
run ro --args '["sh","-c","touch /x"]' --set root.readonly=true
grep -q 'Read-only file system' "$W/ro.err" && [[ $(res ro) != 0 ]] && pass "read-only root" || fail "read-only root" "$(cat "$W/ro.err")"
# /proc/kcore exists only with CONFIG_PROC_KCORE (the guest kernel has it; this host may not).
masked=/proc/kcore; [[ -e /proc/kcore ]] || { masked=/proc/timer_list; echo "NOTE: host has no /proc/kcore; checking masking on $masked"; }
run kcore --args "[\"sh\",\"-c\",\"wc -c < $masked; stat -c %t:%T $masked\"]"
check "masked $masked (empty, /dev/null 1:3)" "0 1:3" "$(tr '\n' ' ' <"$W/kcore.out" | sed 's/ $//')"
run ropaths --args '["sh","-c","echo 1 > /proc/sys/kernel/domainname"]'
grep -q 'Read-only file system' "$W/ropaths.err" && pass "readonly /proc/sys" || fail "readonly /proc/sys" "$(cat "$W/ropaths.err")"
run sysctl --args '["cat","/proc/sys/kernel/domainname"]' --set linux.sysctl='{"kernel.domainname":"cvm.test"}'
check "sysctl applied (under a read-only /proc/sys)" "cvm.test" "$(cat "$W/sysctl.out")"
run host --args '["hostname"]' --set hostname='"pod-a"'
check "hostname" "pod-a" "$(cat "$W/host.out")"
run env --args '["sh","-c","echo $FOO-$BAR; pwd; umask"]' --set process.env='["PATH=/bin","FOO=foo","BAR=bar"]' --set process.cwd='"/tmp"' --set process.user='{"uid":0,"gid":0,"umask":23}'
check "env, cwd, umask" "foo-bar /tmp 0027" "$(tr '\n' ' ' <"$W/env.out" | sed 's/ $//')"
run fds --args '["sh","-c","ls /proc/self/fd | tr \"\\n\" \" \"; grep -E \"^Sig(Blk|Ign)\" /proc/self/status | tr \"\\n\\t\" \"  \""]'
check "only stdio fds inherited; signals unblocked, none ignored" "0 1 2 3 SigBlk: 0000000000000000 SigIgn: 0000000000000000 " "$(cat "$W/fds.out")"
run pidns --args '["sh","-c","echo $$; ls /proc > /tmp/procs; grep -c \"^[0-9]\" /tmp/procs"]'
check "own pid namespace (pid 1; only sh and ls)" "1 2" "$(tr '\n' ' ' <"$W/pidns.out" | sed 's/ $//')"
run oom --args '["cat","/proc/self/oom_score_adj"]' --set process.oomScoreAdj=123
check "oomScoreAdj" "123" "$(cat "$W/oom.out")"
run nnp --args '["sh","-c","grep NoNewPrivs /proc/self/status"]'
check "no_new_privileges" "NoNewPrivs:	1" "$(cat "$W/nnp.out")"
run term --args '["sh","-c","tty; stty size; stat -c %t:%T /dev/console"]' --set process.terminal=true --set process.consoleSize='{"height":33,"width":111}'
grep -q '^/dev/pts/0' "$W/term.out" && grep -q '33 111' "$W/term.out" && grep -q '^88:0' "$W/term.out" && [[ $(res term) == 0 ]] &&
  pass "terminal: the container's own /dev/pts/0 (also /dev/console), size from the spec, as stdout" ||
  fail "terminal: pty as stdout" "$(od -c "$W/term.out" | head -3)"

# memory limit: enforced through cgroup v2 memory.max (needs the memory controller)
if grep -qw memory "$cg2/cgroup.controllers"; then
  run mem --args '["cat","/sys/fs/cgroup/memory.max"]' --set linux.resources='{"memory":{"limit":67108864}}'
  check "memory limit in the container's cgroup" "67108864" "$(cat "$W/mem.out")"
else
  $SPEC "$W/mem.json" --args '["true"]' --set linux.resources='{"memory":{"limit":67108864}}'
  out=$(ctl --id mem create --config "$W/mem.json" --rootfs "$R" 2>&1)
  [[ $out == *FAILED_PRECONDITION*memory.max* ]] && pass "memory limit without a memory controller is refused, not ignored" ||
    fail "memory limit refused" "$out"
  echo "NOTE: this host's cgroup2 ($cg2) has no memory controller; memory.max enforcement is checked in 31-agent-vm"
fi

# ---- exec into a running container, pause/resume, stats, ps, concurrent waits ----
$SPEC "$W/svc.json" --args '["sh","-c","while :; do :; done"]'
ctl --id svc create --config "$W/svc.json" --rootfs "$R" >/dev/null && ctl --id svc start >/dev/null || fail "svc start" "rpc failed"
$SPEC "$W/ex.json" --process-only --args '["sh","-c","echo exec-out; echo exec-err >&2; cat /proc/1/cmdline | tr \"\\0\" \" \"; exit 3"]'
ctl --id svc --exec e1 exec --process "$W/ex.json" --out "$W/ex.out" --err "$W/ex.err" >"$W/ex.res" 2>&1
check "exec: own stdout" "exec-out sh -c while :; do :; done" "$(tr '\n' ' ' <"$W/ex.out" | sed 's/ $//')"
check "exec: own stderr" "exec-err" "$(cat "$W/ex.err")"
check "exec: own status" "exit=3" "$(grep exit= "$W/ex.res")"
check "DeleteProcess returns the finished exec's status" "exit=3" "$(ctl --id svc --exec e1 delete 2>&1)"
out=$(ctl --id svc --exec e1 delete 2>&1)
[[ $out == *NOT_FOUND* ]] && pass "deleted exec is gone" || fail "deleted exec is gone" "$out"
$SPEC "$W/exs.json" --process-only --args '["sleep","100"]'
ctl --id svc --exec e3 exec --process "$W/exs.json" >"$W/e3.res" 2>&1 &
e3p=$!
for _ in $(seq 100); do ctl --id svc ps 2>/dev/null | grep -q ' e3$' && break; sleep 0.05; done
out=$(ctl --id svc --exec e3 delete 2>&1)
[[ $out == *FAILED_PRECONDITION* ]] && pass "DeleteProcess of a running exec refused" || fail "DeleteProcess of a running exec" "$out"
ctl --id svc --exec e3 kill --signal 9 >/dev/null
wait $e3p
check "exec killed: 137" "exit=137" "$(grep -o 'exit=[0-9]*' "$W/e3.res")"
$SPEC "$W/ext.json" --process-only --args '["sh","-c","tty; exit 4"]' --set process.terminal=true
ctl --id svc --exec et exec --process "$W/ext.json" --out "$W/ext.out" >"$W/ext.res" 2>&1
grep -q '^/dev/pts/' "$W/ext.out" && [[ $(grep -o 'exit=[0-9]*' "$W/ext.res") == exit=4 ]] && pass "exec with a terminal: tty is /dev/pts/N in the container" ||
  fail "exec with a terminal" "$(cat "$W/ext.out" "$W/ext.res")"
$SPEC "$W/ex2.json" --process-only --args '["cat"]'
ctl --id svc --exec e2 exec --process "$W/ex2.json" --in "$W/in.bin" --out "$W/ex2.out" >"$W/ex2.res" 2>&1
cmp -s "$W/in.bin" "$W/ex2.out" && pass "exec: stdin round-trips" || fail "exec: stdin round-trips" "$(cat "$W/ex2.res")"
pids=$(ctl --id svc ps)
# at least the init ("<pid> -"): a here-string of nothing would still count one line
grep -qE '^[1-9][0-9]* -$' <<<"$pids" && pass "ps lists the container's processes ($(echo $pids))" || fail "ps" "$pids"
sleep 0.3
s1=$(ctl --id svc stats | grep -o 'cpu.usage_usec=[0-9]*' | cut -d= -f2)
[[ ${s1:-0} -gt 0 ]] && pass "stats: cpu usage from cgroup v2 ($s1 us)" || fail "stats" "$(ctl --id svc stats 2>&1)"
ctl --id svc pause >/dev/null && grep -q 'frozen 1' "$CG/svc/cgroup.events" && pass "pause freezes the cgroup" || fail "pause" "$(cat "$CG/svc/cgroup.events" 2>&1)"
u1=$(grep usage_usec "$CG/svc/cpu.stat" | cut -d' ' -f2); sleep 0.5; u2=$(grep usage_usec "$CG/svc/cpu.stat" | cut -d' ' -f2)
[[ $((u2 - u1)) -lt 20000 ]] && pass "paused container burns no cpu ($((u2 - u1)) us in 0.5s)" || fail "paused container burns no cpu" "$((u2 - u1)) us"
out=$(ctl --id svc --exec e4 exec --process "$W/ex.json" 2>&1)
[[ $out == *FAILED_PRECONDITION*paused* ]] && pass "exec into a paused container refused" || fail "exec into paused" "$out"
ctl --id svc resume >/dev/null && grep -q 'frozen 0' "$CG/svc/cgroup.events" && pass "resume thaws" || fail "resume" "$(cat "$CG/svc/cgroup.events")"
wpids=()
for i in 1 2 3 4 5; do ctl --id svc wait >"$W/w$i.res" 2>&1 & wpids+=($!); done
sleep 0.3
# The container's init is PID 1 of its namespace: only SIGKILL reaches it without a handler.
ctl --id svc kill --signal 9 --all >/dev/null
wait_ok=0
for i in 1 2 3 4 5; do
  wait "${wpids[$((i - 1))]}"; [[ $(cat "$W/w$i.res") == exit=137 ]] && wait_ok=$((wait_ok + 1))
done
check "5 concurrent waits all see 137 (kill --all)" "5" "$wait_ok"
out=$(ctl --id svc --exec e9 exec --process "$W/ex.json" 2>&1)
[[ $out == *FAILED_PRECONDITION* ]] && pass "exec into a stopped container refused" || fail "exec into stopped" "$out"
ctl --id svc rm >/dev/null && [[ ! -d $CG/svc ]] && pass "remove deletes the cgroup" || fail "remove" "cgroup left: $(ls "$CG")"

# ---- 8 containers at once, each with its own streams ----
$SPEC "$W/par.json" --args '["sh","-c","echo out-$HOSTNAME; echo err-$HOSTNAME >&2; exit 5"]'
ppids=()
for i in 1 2 3 4 5 6 7 8; do
  sed "s/\"agent-test\"/\"par$i\"/" "$W/par.json" >"$W/par$i.json"
  ctl --id "par$i" run --config "$W/par$i.json" --rootfs "$R" --out "$W/par$i.out" --err "$W/par$i.err" >"$W/par$i.res" 2>&1 &
  ppids+=($!)
done
par_ok=0
for i in 1 2 3 4 5 6 7 8; do
  wait "${ppids[$((i - 1))]}"
  [[ $(cat "$W/par$i.out") == "out-par$i" && $(cat "$W/par$i.err") == "err-par$i" && $(grep -o 'exit=[0-9]*' "$W/par$i.res") == exit=5 ]] &&
    par_ok=$((par_ok + 1))
  ctl --id "par$i" rm >/dev/null 2>&1
done
check "8 concurrent containers: own stdout, stderr and status each" "8" "$par_ok"

# ---- Start waits (bounded) for announced streams ----
$SPEC "$W/late.json" --args '["echo","never"]'
ctl --id late create --config "$W/late.json" --rootfs "$R" --out x >/dev/null
t0=$(date +%s%N)
out=$(ctl --id late start --start-wait-ms 400 2>&1)
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $out == *DEADLINE_EXCEEDED* && $dt -ge 350 ]] && pass "Start waits for announced stdout, then DEADLINE_EXCEEDED (${dt} ms)" ||
  fail "Start waits for announced streams" "$out after $dt ms"
ctl --id late rm --force >/dev/null || fail "rm --force of a created container" "failed"

# ---- terminal resize ----
$SPEC "$W/rs.json" --args '["sh","-c","read x; stty size"]' --set process.terminal=true
ctl --id rs run --config "$W/rs.json" --rootfs "$R" --in - --out "$W/rs.out" >"$W/rs.res" 2>&1 < <(sleep 1.5; echo go) &
rsp=$!
for _ in $(seq 100); do ctl --id rs ps >/dev/null 2>&1 && break; sleep 0.05; done
ctl --id rs resize --width 132 --height 43 >/dev/null || fail "ResizeTty" "rpc failed"
wait $rsp
grep -q '43 132' "$W/rs.out" && pass "ResizeTty reaches the pty" || fail "ResizeTty reaches the pty" "$(od -c "$W/rs.out" | head -3)"
ctl --id rs rm >/dev/null

# ---- update: this host's cgroup2 has no pids/memory controller, so it must be refused ----
$SPEC "$W/up.json" --args '["sleep","100"]'
ctl --id up create --config "$W/up.json" --rootfs "$R" >/dev/null
echo '{"pids":{"limit":10}}' >"$W/up-res.json"
if grep -qw pids "$cg2/cgroup.controllers"; then
  ctl --id up update --resources "$W/up-res.json" >/dev/null && check "update pids.max" "10" "$(cat "$CG/up/pids.max")" || fail "update" "rpc failed"
else
  out=$(ctl --id up update --resources "$W/up-res.json" 2>&1)
  [[ $out == *FAILED_PRECONDITION*pids.max* ]] && pass "update without the controller: refused with its name" || fail "update refused" "$out"
fi
echo '{"pids":{"limit":"ten"}}' >"$W/up-bad.json"
out=$(ctl --id up update --resources "$W/up-bad.json" 2>&1)
[[ $out == *INVALID_ARGUMENT*resources.pids.limit* ]] && pass "update with bad JSON: INVALID_ARGUMENT with its path" || fail "update bad JSON" "$out"
ctl --id up rm --force >/dev/null

# ---- bad requests ----
out=$(ctl --id '../x' create --config "$W/k.json" --rootfs "$R" 2>&1)
[[ $out == *INVALID_ARGUMENT* ]] && pass "invalid container id refused" || fail "invalid id" "$out"
echo '{"process":{"args":"sh"}}' >"$W/bad.json"
out=$(ctl --id bad create --config "$W/bad.json" --rootfs "$R" 2>&1)
[[ $out == *INVALID_ARGUMENT*process* ]] && pass "malformed spec refused with its path ($out)" || fail "malformed spec" "$out"
out=$(ctl --id nope wait 2>&1)
[[ $out == *NOT_FOUND* ]] && pass "unknown container: NOT_FOUND" || fail "unknown container" "$out"

check "no containers left" "serving=1 containers=0" "$(ctl health)"
fds_after=$(ls /proc/$APID/fd | wc -l)
check "agent fd count unchanged" "$fds_before" "$fds_after"
kill -0 "$APID" 2>/dev/null && pass "agent alive after all checks" || fail "agent alive" "$(tail "$W/agent.log")"
agent_end_check "$APID" "$W/agent.log"; APID=
[[ $fails -eq 0 ]] || { echo "--- agent log (tail)"; tail -30 "$W/agent.log"; }
exit $((fails > 0))

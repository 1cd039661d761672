#!/usr/bin/env bash
# cvm-agent as PID 1 of our initrd in a TCG microvm: hybrid vsock through cvm-vsockd, the
# container rootfs over virtio-fs (virtiofsd), driven by test/drivers/agent_ctl --hybrid.
# The same checks as 30-agent.sh that matter in the guest, plus what the host cannot show
# (cgroup v2 memory limit, /proc/kcore masked, power-off on Shutdown).
# Root only. PASS/FAIL per check; non-zero exit on failure; never skips.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
AGENT=$BUILD/bin/cvm-agent
CTL=$BUILD/drivers/agent_ctl
VSOCKD=${CVM_VSOCKD:-$BUILD/bin/cvm-vsockd}
VIRTIOFSD=/usr/lib/qemu/virtiofsd
SPEC="python3 test/drivers/agent_spec.py"
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
check() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "expected [$2] got [$(printf '%q' "$3")]"; fi; }
die() { fail "$1" "$2"; exit 1; }

[[ $(id -u) -eq 0 ]] || die setup "must run as root"
for b in "$AGENT" "$CTL" "$VSOCKD" "$VIRTIOFSD" /bin/busybox; do
  [[ -x $b ]] || die setup "$b missing (make BUILD=$BUILD all unit)"
done
QEMU=$BUILD/qemu-system-x86_64 # ours (hypervisor/qemu/build.sh), as the shim picks it
[[ -x $QEMU ]] || die setup "$QEMU missing (make BUILD=$BUILD qemu)"
kver=$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[[ -r $kernel ]] || die setup "no guest kernel $kernel"

T=$(mktemp -d /tmp/agent-vm.XXXXXX)
QEMU_PID= VSOCKD_PID= VFS_PID=
cleanup() {
  for p in $QEMU_PID $VFS_PID $VSOCKD_PID; do kill "$p" 2>/dev/null; done
  for p in $QEMU_PID $VFS_PID $VSOCKD_PID; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

strip -o "$T/agent" "$AGENT" || die setup "strip failed"   # as initrd/module.mk does
initrd/mkinitrd.sh --kver "$kver" --init "$T/agent" --out "$T/initrd.img" >/dev/null || die setup "mkinitrd failed"
# A guest without the vsock transport: the agent must say why on the console and power off.
initrd/mkinitrd.sh --kver "$kver" --init "$T/agent" --modules "virtio_pci virtiofs" --out "$T/initrd-novsock.img" >/dev/null ||
  die setup "mkinitrd (no vsock) failed"
S=$T/share
R=$S/c/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$R/bin/" && chroot "$R" /bin/busybox --install -s /bin || die setup "busybox rootfs"
chmod 1777 "$R/tmp"

mhz=$(awk -F: '/cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
[[ -n $mhz && $mhz -gt 0 ]] || mhz=2000
"$VSOCKD" --vhost-user-socket "$T/vu.sock" --uds-path "$T/vsock.sock" --guest-cid 3 >"$T/vsockd.ready" 2>"$T/vsockd.log" &
VSOCKD_PID=$!
"$VIRTIOFSD" --socket-path="$T/vfs.sock" -o source="$S",cache=none,announce_submounts >"$T/virtiofsd.log" 2>&1 &
VFS_PID=$!
for _ in $(seq 100); do grep -q '^READY$' "$T/vsockd.ready" && [[ -S $T/vfs.sock ]] && break; sleep 0.05; done
grep -q '^READY$' "$T/vsockd.ready" || die setup "cvm-vsockd not ready"
[[ -S $T/vfs.sock ]] || die setup "virtiofsd socket missing"

t0=$(date +%s%N)
"$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on,memory-backend=mem \
  -accel tcg -m 512 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
  -object memory-backend-memfd,id=mem,size=512M,share=on \
  -kernel "$kernel" -initrd "$T/initrd.img" \
  -append "console=ttyS0 quiet tsc_early_khz=${mhz}000 tsc=reliable no_timer_check panic=-1 reboot=t" \
  -serial "file:$T/serial.log" \
  -chardev "socket,id=vsock,path=$T/vu.sock" -device vhost-user-vsock-pci,chardev=vsock \
  -chardev "socket,id=vfs,path=$T/vfs.sock" -device vhost-user-fs-pci,chardev=vfs,tag=share \
  >"$T/qemu.log" 2>&1 &
QEMU_PID=$!
for _ in $(seq 900); do
  grep -q 'cvm-agent: ready' "$T/serial.log" 2>/dev/null && break
  kill -0 "$QEMU_PID" 2>/dev/null || break
  sleep 0.1
done
if grep -q 'cvm-agent: ready' "$T/serial.log"; then
  pass "agent is PID 1 and ready in the VM ($(( ($(date +%s%N) - t0) / 1000000 )) ms wall from QEMU start)"
  grep 'cvm-agent' "$T/serial.log" | sed 's/^/NOTE: console: /'
else
  echo "--- serial"; tail -30 "$T/serial.log"; echo "--- qemu"; tail "$T/qemu.log"
  die boot "agent not ready within 90 s"
fi

ctl() { "$CTL" --hybrid "$T/vsock.sock" "$@"; }
run() {
  local name=$1; shift
  local sargs=()
  while [[ $# -gt 0 && $1 != -- ]]; do sargs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  $SPEC "$T/$name.json" "${sargs[@]}"
  timeout 120 "$CTL" --hybrid "$T/vsock.sock" --id "$name" run --config "$T/$name.json" --share-tag share --rootfs c/rootfs \
    --out "$T/$name.out" --err "$T/$name.err" "$@" >"$T/$name.res" 2>"$T/$name.ctlerr"
  ctl --id "$name" rm >/dev/null 2>&1
}
res() { grep -o 'exit=[0-9]*' "$T/$1.res" | cut -d= -f2; }

v=$(ctl version 2>&1)
[[ $v == *"kernel=$kver"* ]] && pass "Version over vsock ($v)" || fail "Version over vsock" "$v"

run basic --args '["sh","-c","echo out; echo err >&2; exit 7"]'
check "vm: stdout exactly out" "out" "$(cat "$T/basic.out")"
check "vm: stderr exactly err" "err" "$(cat "$T/basic.err")"
check "vm: exit status 7" "7" "$(res basic)"

$SPEC "$T/k.json" --args '["sleep","1000"]'
ctl --id k create --config "$T/k.json" --share-tag share --rootfs c/rootfs >/dev/null && ctl --id k start >/dev/null &&
  ctl --id k kill --signal 9 >/dev/null && check "vm: SIGKILL reports 137" "exit=137" "$(ctl --id k wait)" ||
  fail "vm: SIGKILL reports 137" "rpc failed"
ctl --id k rm >/dev/null

$SPEC "$T/m.json" --args '["nosuchcmd"]'
out=$(ctl --id m create --config "$T/m.json" --share-tag share --rootfs c/rootfs 2>&1)
[[ $out == *'executable file not found in $PATH'* ]] && pass "vm: missing binary: clear error" || fail "vm: missing binary" "$out"

run big --args '["sh","-c","yes out | head -c 10485760 & yes err | head -c 10485760 >&2; wait; echo LAST"]'
check "vm: 10 MiB stdout checksum (last line kept)" "$( (yes out | head -c 10485760; echo LAST) | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$T/big.out" | cut -d' ' -f1)"
check "vm: 10 MiB stderr checksum" "$(yes err | head -c 10485760 | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$T/big.err" | cut -d' ' -f1)"

head -c 1048576 /dev/urandom >"$T/in.bin"
run cat1 --args '["cat"]' -- --in "$T/in.bin"
cmp -s "$T/in.bin" "$T/cat1.out" && [[ $(res cat1) == 0 ]] && pass "vm: stdin round-trips through cat; EOF ends it" ||
  fail "vm: stdin through cat" "$(stat -c %s "$T/cat1.out") bytes, res=$(res cat1) $(cat "$T/cat1.ctlerr")"

run user --args '["sh","-c","id -u; id -g; id -G"]' --set process.user='{"uid":1000,"gid":1001,"additionalGids":[10,20]}'
check "vm: uid/gid/additional gids" "1000 1001 1001 10 20" "$(tr '\n' ' ' <"$T/user.out" | sed 's/ $//')"
run caps --args '["sh","-c","grep CapEff /proc/self/status"]' \
  --set process.capabilities='{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_CHOWN","CAP_KILL"],"permitted":["CAP_CHOWN","CAP_KILL"]}'
check "vm: CapEff" "CapEff:	0000000000000021" "$(cat "$T/caps.out")"
run sec --args '["sh","-c","mkdir /tmp/nope; echo rc=$?"]' \
  --set linux.seccomp='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
grep -q 'Operation not permitted' "$T/sec.err" && pass "vm: seccomp mkdir -> EPERM" || fail "vm: seccomp" "$(cat "$T/sec.out" "$T/sec.err")"
run nofile --args '["sh","-c","ulimit -n"]' --set process.rlimits='[{"type":"RLIMIT_NOFILE","soft":555,"hard":777}]'
check "vm: RLIMIT_NOFILE" "555" "$(cat "$T/nofile.out")"
run ro --args '["sh","-c","touch /x"]' --set root.readonly=true
grep -q 'Read-only file system' "$T/ro.err" && pass "vm: read-only root" || fail "vm: read-only root" "$(cat "$T/ro.err")"
run kcore --args '["sh","-c","wc -c < /proc/kcore; stat -c %t:%T /proc/kcore"]'
check "vm: masked /proc/kcore" "0 1:3" "$(tr '\n' ' ' <"$T/kcore.out" | sed 's/ $//')"
run sysctl --args '["cat","/proc/sys/kernel/domainname"]' --set linux.sysctl='{"kernel.domainname":"cvm.test"}'
check "vm: sysctl applied" "cvm.test" "$(cat "$T/sysctl.out")"
run host --args '["sh","-c","hostname; echo $FOO; pwd"]' --set hostname='"vm-pod"' --set process.env='["PATH=/bin","FOO=bar"]' --set process.cwd='"/tmp"'
check "vm: hostname, env, cwd" "vm-pod bar /tmp" "$(tr '\n' ' ' <"$T/host.out" | sed 's/ $//')"
run lo --args '["sh","-c","ip link show lo | grep -o LOWER_UP; cat /proc/self/oom_score_adj"]'
check "vm: guest lo up (shared by containers); agent's oom_score_adj -1000 not inherited" "LOWER_UP 0" "$(tr '\n' ' ' <"$T/lo.out" | sed 's/ $//')"
run mem --args '["sh","-c","cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight"]' \
  --set linux.resources='{"memory":{"limit":67108864},"pids":{"limit":50},"cpu":{"quota":50000,"period":100000,"shares":1024}}'
check "vm: memory, pids and CPU limits in the container's cgroup" "67108864 50 50000 100000 39" "$(tr '\n' ' ' <"$T/mem.out" | sed 's/ $//')"
run oomk --args '["sh","-c","head -c 200000000 /dev/zero | tail > /dev/null"]' --set linux.resources='{"memory":{"limit":33554432}}'
check "vm: memory limit enforced (OOM kill -> 137 exit of the pipeline)" "137" "$(res oomk)"

$SPEC "$T/svc.json" --args '["sh","-c","while :; do sleep 1; done"]' --set linux.resources='{"memory":{"limit":67108864}}'
ctl --id svc create --config "$T/svc.json" --share-tag share --rootfs c/rootfs >/dev/null && ctl --id svc start >/dev/null || fail "vm: svc start" "rpc"
$SPEC "$T/ex.json" --process-only --args '["sh","-c","echo exec-out; echo exec-err >&2; exit 3"]'
ctl --id svc --exec e1 exec --process "$T/ex.json" --out "$T/ex.out" --err "$T/ex.err" >"$T/ex.res" 2>&1
check "vm: exec stdout/stderr/status" "exec-out|exec-err|exit=3" "$(cat "$T/ex.out")|$(cat "$T/ex.err")|$(grep -o 'exit=[0-9]*' "$T/ex.res")"
$SPEC "$T/ext.json" --process-only --args '["sh","-c","tty; exit 4"]' --set process.terminal=true
ctl --id svc --exec et exec --process "$T/ext.json" --out "$T/ext.out" >"$T/ext.res" 2>&1
grep -q '^/dev/pts/' "$T/ext.out" && [[ $(grep -o 'exit=[0-9]*' "$T/ext.res") == exit=4 ]] && pass "vm: exec with a terminal (tty is /dev/pts/N)" ||
  fail "vm: exec with a terminal" "$(cat "$T/ext.out" "$T/ext.res")"
st=$(ctl --id svc stats)
[[ $st == *memory.limit=67108864* ]] && pass "vm: stats from cgroup v2 ($st)" || fail "vm: stats" "$st"
echo '{"memory":{"limit":33554432},"pids":{"limit":20}}' >"$T/up.json"
ctl --id svc update --resources "$T/up.json" >/dev/null || fail "vm: update" "rpc failed"
st=$(ctl --id svc stats)
[[ $st == *memory.limit=33554432* && $st == *pids.limit=20* ]] && pass "vm: update resources applied ($st)" || fail "vm: update resources" "$st"
ctl --id svc pause >/dev/null && ctl --id svc resume >/dev/null && pass "vm: pause/resume" || fail "vm: pause/resume" "rpc failed"
ctl --id svc kill --signal 9 --all >/dev/null
check "vm: wait after kill --all" "exit=137" "$(ctl --id svc wait)"
ctl --id svc rm >/dev/null || fail "vm: rm" "failed"
check "vm: no containers left" "serving=1 containers=0" "$(ctl health)"

ctl shutdown >/dev/null
for _ in $(seq 100); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$QEMU_PID" 2>/dev/null; then fail "vm: Shutdown powers off" "QEMU still running after 10 s"
else wait "$QEMU_PID"; QEMU_PID=; pass "vm: Shutdown powers the VM off"; fi
grep -q 'FATAL' "$T/serial.log" && fail "vm: console clean" "$(grep FATAL "$T/serial.log")"
kill "$VFS_PID" "$VSOCKD_PID" 2>/dev/null; wait "$VFS_PID" "$VSOCKD_PID" 2>/dev/null; VFS_PID= VSOCKD_PID=

# Fatal path: no vsock transport in the guest -> clear console message, power off.
"$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on -accel tcg -m 256 -smp 1 \
  -nodefaults -no-user-config -nographic -no-reboot -kernel "$kernel" -initrd "$T/initrd-novsock.img" \
  -append "console=ttyS0 quiet tsc_early_khz=${mhz}000 tsc=reliable no_timer_check panic=-1 reboot=t" \
  -serial "file:$T/serial2.log" >"$T/qemu2.log" 2>&1 &
QEMU_PID=$!
for _ in $(seq 900); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$QEMU_PID" 2>/dev/null; then
  fail "vm: fatal error powers off" "QEMU still running after 90 s: $(tail -3 "$T/serial2.log")"
else
  wait "$QEMU_PID"; QEMU_PID=
  if grep -q 'cvm-agent: FATAL: listening on vsock' "$T/serial2.log" && ! grep -q 'Kernel panic' "$T/serial2.log"; then
    pass "vm: fatal error -> console message and power-off ($(grep -o 'FATAL.*' "$T/serial2.log"))"
  else
    fail "vm: fatal error path" "$(tail -5 "$T/serial2.log")"
  fi
fi
[[ $fails -eq 0 ]] || { echo "--- serial (tail)"; tail -20 "$T/serial.log"; }
exit $((fails > 0))

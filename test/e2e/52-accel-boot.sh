#!/usr/bin/env bash
# 52-accel-boot: the accelerator choice and the boot watchdog through the real ctr and a
# private containerd 1.6.20, on this host as it is (its /dev/kvm untouched).
#   - a normal run: the shim logs the accelerator auto chose and why, and the boot phases;
#     <run dir>/boot.log holds them while the sandbox lives
#   - "accel": "kvm" forced: on a PVM host (kvm_pvm) Create fails in well under 10 s naming
#     the silent console and accel; on a hardware-KVM host it runs; without /dev/kvm it fails
#     at once naming /dev/kvm
#   - a kernel that does not exist, a kernel that is not a kernel, an initrd that is not an
#     initrd: Create fails at once naming the file
#   - kernel output but no agent (an initrd without our agent: the kernel panics): the error
#     names the phase and carries the console tail
#   - the kernels: by default the guest runs our own kernel (initrd/kernel/, release *-cvm)
#     with the module-less initrd; "kernel" naming the Debian distro kernel (and no "initrd")
#     boots it with the initrd of its modules, initrd-<release>.img, which the shim picks
#     by the kernel's release
#   - nothing left behind
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

cleanup() {
  shim_ctd_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail accel-boot "must run as root"; exit 1; }
shim_env_check || exit 1
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
ours() { shim_footprint_ours "$CTD_SOCK" default ab1 kvm1 nok1 badk1 badi1 noag1 own1 dist1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# What this host is, read independently of the code under test.
if [[ ! -e /dev/kvm ]]; then host=nokvm
elif [[ -d /sys/module/kvm_pvm ]]; then host=pvm
elif grep -qwE 'vmx|svm' /proc/cpuinfo; then host=hwkvm
else host=other; fi
note "host: $host (/dev/kvm $( [[ -e /dev/kvm ]] && echo present || echo absent); modules: $(ls -d /sys/module/kvm_* 2>/dev/null | xargs -rn1 basename | tr '\n' ' '))"

# --- 1. a normal run: accel decision and phases in the log, boot.log while running
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
t0=$(date +%s%N)
timeout 120 ctr run -d --runtime "$RT" --runtime-config-path "$CFG" "$IMG" ab1 sleep 1000 >/dev/null 2>&1
note "ctr run -d (boot included): $(ms_since "$t0") ms"
[[ $(task_field ab1 3) == RUNNING ]] && pass run-auto-accel || fail run-auto-accel "status=$(task_field ab1 3) $(tail -3 "$CTD_DIR/containerd.log")"
line=$(grep -o 'accel [a-z]*: [^"]*' "$CTD_DIR/containerd.log" | head -1)
note "shim: $line"
case $host in
  pvm) [[ $line == "accel tcg: /dev/kvm is served by kvm_pvm, which needs a PVM guest kernel" ]] ;;
  nokvm) [[ $line == "accel tcg: no /dev/kvm" ]] ;;
  hwkvm) [[ $line == "accel kvm: hardware virtualization"* ]] ;;
  *) [[ $line == "accel tcg: "* ]] ;;
esac && pass accel-decision-logged || fail accel-decision-logged "host=$host line='$line'"
phases=$(grep -o 'boot phases: [^"]*' "$CTD_DIR/containerd.log" | head -1)
note "shim: $phases"
[[ $phases == *"qemu +"*"qmp +"*"console +"*"init +"*"agent +"*"container +"* ]] && pass boot-phases-logged ||
  fail boot-phases-logged "'$phases'"
qpid=$(task_field ab1 2)
rdir=$(tr '\0' ' ' < /proc/$qpid/cmdline 2>/dev/null | grep -o '/run/cvm/[0-9a-f]*' | head -1)
blog=$(cat "$rdir/boot.log" 2>/dev/null)
[[ $blog == *"accel: tcg"* || $blog == *"accel: kvm"* ]] && [[ $blog == *"container +"* && $blog == *"console: $rdir/vm/console.log"* && -s $rdir/vm/console.log ]] &&
  pass boot-log-in-run-dir || fail boot-log-in-run-dir "rdir=$rdir boot.log='$blog'"
ctr task kill -s SIGKILL ab1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field ab1 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete ab1 >/dev/null 2>&1; ctr containers delete ab1 >/dev/null 2>&1

# --- 2. accel forced to kvm on this host
shim_write_config "$CTD_DIR/kvm.json" 30000 '"accel": "kvm"'
t0=$(date +%s%N)
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/kvm.json" "$IMG" kvm1 echo kvm-ran 2>&1); rc=$?
el=$(ms_since "$t0")
note "accel=kvm forced: rc=$rc after $el ms: ${out:0:400}"
case $host in
  # a paravirtual-only /dev/kvm: QEMU either hangs before the guest's first output (the
  # console deadline) or aborts at once (QEMU 7.2 on newer kvm_pvm: "failed to set MSR");
  # either way fast, and the error says what to set
  pvm|other) [[ $rc -ne 0 && $el -lt 10000 && ( $out == *"console stayed silent"* || $out == *"died during boot"* ) &&
                $out == *"accel kvm"* && $out == *'"accel": "tcg"'* ]] ;;
  nokvm) [[ $rc -ne 0 && $el -lt 10000 && $out == *'"accel": "kvm" but no /dev/kvm'* ]] ;;
  hwkvm) [[ $rc -eq 0 && $out == *kvm-ran* ]] ;;
esac && pass accel-kvm-forced || fail accel-kvm-forced "host=$host rc=$rc ${el} ms out=$out"
ctr containers delete kvm1 >/dev/null 2>&1

# --- 3. images that are missing or not what they claim: Create fails at once, naming the file
shim_write_config "$CTD_DIR/nok.json" 30000 '"kernel": "/nonexistent/vmlinuz-x"'
t0=$(date +%s%N)
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/nok.json" "$IMG" nok1 true 2>&1); rc=$?
el=$(ms_since "$t0")
[[ $rc -ne 0 && $el -lt 10000 && $out == *"/nonexistent/vmlinuz-x"* && $out == *"No such file"* ]] && pass kernel-missing-named ||
  fail kernel-missing-named "rc=$rc ${el} ms out=$out"
echo "just some text, not a kernel" > "$CTD_DIR/notakernel"
shim_write_config "$CTD_DIR/badk.json" 30000 "\"kernel\": \"$CTD_DIR/notakernel\""
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/badk.json" "$IMG" badk1 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"$CTD_DIR/notakernel' is neither a bzImage nor an ELF vmlinux"* ]] && pass kernel-not-a-kernel-named ||
  fail kernel-not-a-kernel-named "rc=$rc out=$out"
cat > "$CTD_DIR/badi.json" <<JSON
{"initrd": "$CTD_DIR/notakernel", "vsock_mode": "hybrid", "boot_deadline_ms": 30000}
JSON
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/badi.json" "$IMG" badi1 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"$CTD_DIR/notakernel' is not an initrd"* ]] && pass initrd-not-an-initrd-named ||
  fail initrd-not-an-initrd-named "rc=$rc out=$out"

# --- 4. kernel output but no agent: a well-formed initrd without our agent
mkdir -p "$CTD_DIR/noagent/etc"
echo noagent > "$CTD_DIR/noagent/etc/hostname"
(cd "$CTD_DIR/noagent" && find . | cpio -o -H newc --quiet | gzip -n > "$CTD_DIR/noagent.img")
cat > "$CTD_DIR/noag.json" <<JSON
{"initrd": "$CTD_DIR/noagent.img", "vsock_mode": "hybrid", "boot_deadline_ms": 60000}
JSON
t0=$(date +%s%N)
out=$(timeout 90 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/noag.json" "$IMG" noag1 true 2>&1); rc=$?
el=$(ms_since "$t0")
note "initrd without agent: rc=$rc after $el ms: ${out:0:400}"
# the console's tail comes from whichever of QEMU ("console tail: ") and virtiofsd ("console: ")
# is seen to exit first; either way it reaches the panic's last line
[[ $rc -ne 0 && $out == *"did not boot: guest kernel panic: Kernel panic - not syncing:"* &&
   $out == *"last phase reached: console"* && $out =~ console(\ tail)?:\ .*Kernel\ Offset ]] && pass no-agent-console-tail ||
  fail no-agent-console-tail "rc=$rc ${el} ms out=$out"
ctr containers delete nok1 badk1 badi1 noag1 >/dev/null 2>&1

# --- 5. the kernels: ours by default, the distro one through "kernel"
own_rel=$(cat "$BUILD/vmlinux.release" 2>/dev/null)
out=$(timeout 90 ctr run --rm --runtime "$RT" --runtime-config-path "$CFG" "$IMG" own1 sh -c 'uname -r; cat /proc/modules | wc -l' 2>&1); rc=$?
note "default kernel: rc=$rc uname -r / modules loaded: $(echo $out)"
[[ $rc -eq 0 && -n $own_rel && $own_rel == *-cvm && $(echo "$out" | head -1) == "$own_rel" ]] && pass own-kernel-default ||
  fail own-kernel-default "rc=$rc want $own_rel out=$out"
dkver=$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -1)
if [[ -z $dkver || ! -r /boot/vmlinuz-$dkver || ! -r $BUILD/initrd-$dkver.img ]]; then
  fail distro-kernel "no distro kernel /boot/vmlinuz-$dkver or no $BUILD/initrd-$dkver.img (make setup; make)"
else
  cat > "$CTD_DIR/dist.json" <<JSON
{"kernel": "/boot/vmlinuz-$dkver", "vsock_mode": "hybrid", "boot_deadline_ms": 90000}
JSON
  out=$(timeout 120 ctr run --rm --runtime "$RT" --runtime-config-path "$CTD_DIR/dist.json" "$IMG" dist1 uname -r 2>&1); rc=$?
  note "distro kernel through \"kernel\": rc=$rc uname -r: $out"
  [[ $rc -eq 0 && $out == "$dkver" ]] && pass distro-kernel-by-config || fail distro-kernel-by-config "rc=$rc want $dkver out=$out"
  dl=$(grep -o 'boot phases: [^"]*' "$CTD_DIR/containerd.log" | tail -1)
  note "distro kernel $dl"
fi

sleep 1
new=$(ours)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
shim_log_check
exit $FAILED

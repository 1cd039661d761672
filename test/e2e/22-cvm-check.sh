#!/usr/bin/env bash
# 22-cvm-check: the host report (build/bin/cvm-check) on this real host.
#
#   report       exit 0; the accel line says what accel_decide says for this host (here:
#                /dev/kvm served by kvm_pvm -> warn, tcg); --json parses, can_run true
#   forced-kvm   "accel": "kvm": a warn naming kvm_pvm on a PVM host (a fail without /dev/kvm)
#   bad-config   invalid JSON -> exit 1 and a "fail  config:" line; usage error -> exit 2
#   kernels      default: our ELF vmlinux (PVH) and its release, the module-less initrd;
#                "kernel" = the distro kernel: its bzImage release and initrd-<release>.img;
#                the mismatches: a warning (module-less initrd, distro kernel), a failure
#                (distro modules, our kernel)
#   boot         --boot: exit 0, the phases line with "agent +"; afterwards no QEMU,
#                virtiofsd or cvm-vsockd of its own and no temp dir left
#   boot-stall   (PVM hosts) --boot with "accel": "kvm": the watchdog fails it at the silent
#                console within seconds, and it too leaves nothing behind
#   qemu         default: our QEMU, built from the source of the qemu-system-x86 installed
#                (its version as dpkg records it) and a qemu-build ok line; a config naming
#                Debian's: that one, no qemu-build line
#   install      `make install` into a temp DESTDIR (copies only): the installed cvm-check
#                finds vmlinux, initrd.img and initrd-<release>.img in share/ and our QEMU
#                (a copy) in libexec/
# Root only (--boot starts virtiofsd and QEMU). Builds nothing. Prints PASS:/FAIL: lines;
# exits non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CHECK=$BUILD/bin/cvm-check
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
die() { fail "$1" "$2"; exit 1; }

[[ $(id -u) -eq 0 ]] || die setup "must run as root"
[[ -x $CHECK ]] || die setup "$CHECK not built (make BUILD=$BUILD all)"
command -v python3 > /dev/null || die setup "python3 missing"

T=$(mktemp -d /tmp/cvm-check-e2e.XXXXXX)
check_pid=
cleanup() {
  [[ -n $check_pid ]] && kill -9 "$check_pid" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# What accel_decide (hypervisor/accel.c) says for this host with "accel": "auto" / "kvm".
flags=$(grep -m1 '^flags' /proc/cpuinfo)
hw=0
[[ " $flags " == *" vmx "* || " $flags " == *" svm "* || -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]] && hw=1
if [[ ! -e /dev/kvm ]]; then
  want_auto='warn  accel: tcg: no /dev/kvm (auto)'; want_json_accel=tcg
  want_kvm='fail  accel: kvm unusable: "accel": "kvm" but no /dev/kvm'; want_kvm_rc=1
elif [[ -d /sys/module/kvm_pvm ]]; then
  want_auto='warn  accel: tcg: /dev/kvm is served by kvm_pvm, which needs a PVM guest kernel (auto)'
  want_json_accel=tcg
  want_kvm='warn  accel: kvm: forced by "accel": "kvm" although /dev/kvm is served by kvm_pvm'; want_kvm_rc=0
elif [[ $hw -eq 1 ]]; then
  want_auto='ok    accel: kvm: hardware virtualization'; want_json_accel=kvm
  want_kvm='ok    accel: kvm: forced by "accel": "kvm"; hardware virtualization'; want_kvm_rc=0
else
  want_auto='warn  accel: tcg: /dev/kvm has no hardware virtualization behind it'; want_json_accel=tcg
  want_kvm='warn  accel: kvm: forced by "accel": "kvm" although /dev/kvm has no hardware'; want_kvm_rc=0
fi
echo "NOTE: expecting '$want_auto'"

# --- report ---
"$CHECK" > "$T/report.out" 2> "$T/report.err"; rc=$?
sed 's/^/NOTE: report: /' "$T/report.out"
if [[ $rc -eq 0 ]]; then pass report-exit-0; else fail report-exit-0 "exit $rc: $(grep '^fail' "$T/report.out")"; fi
accel_line=$(grep '^[a-z]* *accel: ' "$T/report.out")
if [[ $accel_line == "$want_auto"* ]]; then
  pass report-accel-line
else
  fail report-accel-line "got '$accel_line'"
fi
if [[ -d /sys/module/kvm_pvm && -e /dev/kvm ]]; then
  if [[ $accel_line == warn*tcg*kvm_pvm* ]]; then pass report-accel-tcg-kvm_pvm; else fail report-accel-tcg-kvm_pvm "got '$accel_line'"; fi
fi
n_lines=$(grep -cE '^(ok|warn|fail) +[a-z-]+: ' "$T/report.out")
if [[ $n_lines -eq 13 ]]; then pass report-13-checks; else fail report-13-checks "$n_lines check lines"; fi
for name in accel vhost-vsock vhost-net cgroup qemu qemu-build qemu-devices virtiofsd cvm-vsockd kernel initrd containerd config; do
  grep -qE "^(ok|warn|fail) +$name: " "$T/report.out" || fail "report-line-$name" "missing"
done
# Everything printed is printable ASCII (probed programs' text is untrusted).
if LC_ALL=C grep -q '[^[:print:]]' "$T/report.out"; then fail report-printable "control bytes in the report"; else pass report-printable; fi

# --- JSON ---
"$CHECK" --json > "$T/report.json" 2> "$T/json.err"; rc=$?
if out=$(python3 - "$T/report.json" "$want_json_accel" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["can_run"] is True, "can_run is %r" % d["can_run"]
assert d["accel"] == sys.argv[2], "accel %r, want %r" % (d["accel"], sys.argv[2])
names = [c["name"] for c in d["checks"]]
assert names[0] == "accel" and names[-1] == "config" and len(names) == 13, names
assert all(c["status"] in ("ok", "warn", "fail") and c["detail"] for c in d["checks"])
assert d["boot"] is None
print("accel=%s provider=%s" % (d["accel"], d["accel_provider"]))
EOF
); then
  [[ $rc -eq 0 ]] && pass "json-parses-can_run ($out)" || fail json-exit "exit $rc"
else
  fail json-parses-can_run "$out"
fi

# --- QEMU: ours by default (hypervisor/qemu/build.sh), from the installed package's source ---
# The source version read independently: dpkg's record of the binary package, binNMU dropped.
srcv=$(dpkg-query -W -f='${Version}' qemu-system-x86); srcv=${srcv%+b[0-9]*}
qline=$(grep -E '^[a-z]+ +qemu: ' "$T/report.out"); bline=$(grep -E '^[a-z]+ +qemu-build: ' "$T/report.out")
[[ $qline == "ok    qemu: "*"(Debian $srcv, containerd-shim-cvm-v1) ($(dirname "$(readlink -f "$CHECK")")/../qemu-system-x86_64)" &&
   $bline == "ok    qemu-build: ours, built from Debian's qemu $srcv, the source of the qemu-system-x86 installed" ]] &&
  pass report-qemu-ours || fail report-qemu-ours "'$qline' '$bline' (want Debian $srcv)"
# a config naming Debian's: the operator's choice, no qemu-build line
echo '{"qemu": "/usr/bin/qemu-system-x86_64"}' > "$T/debq.json"
"$CHECK" --config "$T/debq.json" > "$T/debq.out" 2>&1
qline=$(grep -E '^[a-z]+ +qemu: ' "$T/debq.out")
[[ $qline == "ok    qemu: "*"(/usr/bin/qemu-system-x86_64)" ]] && ! grep -q ' qemu-build: ' "$T/debq.out" &&
  pass report-qemu-named || fail report-qemu-named "'$qline' $(grep ' qemu-build: ' "$T/debq.out")"

# --- kernel and initrd: ours by default, the distro kernel through "kernel" ---
# Release read independently of the code under test: what the kernel build recorded, and the
# distro kernel's /lib/modules name.
own_rel=$(cat "$BUILD/vmlinux.release" 2> /dev/null)
line=$(grep -E '^[a-z]+ +kernel: ' "$T/report.out")
[[ -n $own_rel && $line == "ok    kernel: ELF vmlinux (PVH), release $own_rel ($(dirname "$(readlink -f "$CHECK")")/../vmlinux)" ]] &&
  pass report-kernel-ours || fail report-kernel-ours "'$line' (want release '$own_rel')"
line=$(grep -E '^[a-z]+ +initrd: ' "$T/report.out")
[[ $line == "ok    initrd: gzip, no modules: kernel $own_rel has everything built in ("*"/initrd.img)" ]] &&
  pass report-initrd-module-less || fail report-initrd-module-less "'$line'"
dkver=$(ls /lib/modules 2> /dev/null | grep -- '-cloud-amd64$' | sort -V | tail -1)
echo "{\"kernel\": \"/boot/vmlinuz-$dkver\"}" > "$T/distro.json"
"$CHECK" --config "$T/distro.json" > "$T/distro.out" 2>&1; rc=$?
kline=$(grep -E '^[a-z]+ +kernel: ' "$T/distro.out"); iline=$(grep -E '^[a-z]+ +initrd: ' "$T/distro.out")
echo "NOTE: distro: $kline / $iline"
[[ -n $dkver && $rc -eq 0 && $kline == "ok    kernel: bzImage, release $dkver (/boot/vmlinuz-$dkver)" &&
   $iline == "ok    initrd: gzip, modules for $dkver, matching the kernel ("*"/initrd-$dkver.img)" ]] &&
  pass report-distro-kernel-picks-its-initrd || fail report-distro-kernel-picks-its-initrd "exit $rc '$kline' '$iline'"
# the distro kernel with the module-less initrd: a warning that names the problem
echo "{\"kernel\": \"/boot/vmlinuz-$dkver\", \"initrd\": \"$PWD/$BUILD/initrd.img\"}" > "$T/mism.json"
"$CHECK" --config "$T/mism.json" > "$T/mism.out" 2>&1
iline=$(grep -E '^[a-z]+ +initrd: ' "$T/mism.out")
[[ $iline == "warn  initrd: gzip, no modules, but the kernel is a bzImage $dkver"* ]] &&
  pass report-module-less-initrd-distro-kernel-warns || fail report-module-less-initrd-distro-kernel-warns "'$iline'"
# our kernel with the distro kernel's initrd: a mismatch, a failure
echo "{\"initrd\": \"$PWD/$BUILD/initrd-$dkver.img\"}" > "$T/mism2.json"
"$CHECK" --config "$T/mism2.json" > "$T/mism2.out" 2>&1; rc=$?
iline=$(grep -E '^[a-z]+ +initrd: ' "$T/mism2.out")
[[ $rc -eq 1 && $iline == "fail  initrd: initrd modules are for $dkver, kernel is $own_rel"* ]] &&
  pass report-initrd-kernel-mismatch-fails || fail report-initrd-kernel-mismatch-fails "exit $rc '$iline'"

# The install tree: `make install` into a temp DESTDIR (copies only), and the installed
# cvm-check finds our kernel, its initrd and the distro kernel's initrd in share/.
share=$T/inst/usr/share/containerd-shim-cvm-v1
if make -s install DESTDIR="$T/inst" PREFIX=/usr BUILD="$BUILD" > "$T/install.out" 2>&1; then
  "$T/inst/usr/bin/cvm-check" > "$T/inst.out" 2>&1
  kline=$(grep -E '^[a-z]+ +kernel: ' "$T/inst.out"); iline=$(grep -E '^[a-z]+ +initrd: ' "$T/inst.out")
  qline=$(grep -E '^[a-z]+ +qemu-build: ' "$T/inst.out")
  qbin=$T/inst/usr/libexec/containerd-shim-cvm-v1/qemu-system-x86_64
  [[ $qline == "ok    qemu-build: ours, built from Debian's qemu $srcv"* && -f $qbin && ! -L $qbin &&
     -x $qbin ]] && grep -qF "($T/inst/usr/bin/../libexec/containerd-shim-cvm-v1/qemu-system-x86_64)" "$T/inst.out" &&
    pass install-tree-qemu || fail install-tree-qemu "'$qline' $(grep ' qemu: ' "$T/inst.out") $(ls -l "$qbin" 2>&1)"
  [[ $kline == "ok    kernel: ELF vmlinux (PVH), release $own_rel ($T/inst/usr/bin/../share/containerd-shim-cvm-v1/vmlinux)" &&
     $iline == "ok    initrd: gzip, no modules: kernel $own_rel has everything built in ($T/inst/usr/bin/../share/containerd-shim-cvm-v1/initrd.img)" &&
     -f $share/vmlinux && ! -L $share/vmlinux && -f $share/initrd-$dkver.img ]] &&
    pass install-tree-kernel-and-initrds || fail install-tree-kernel-and-initrds "'$kline' '$iline' $(ls "$share" | tr '\n' ' ')"
else
  fail install-tree-kernel-and-initrds "make install failed: $(tail -3 "$T/install.out")"
fi

# --- forced kvm ---
echo '{"accel": "kvm"}' > "$T/kvm.json"
"$CHECK" --config "$T/kvm.json" > "$T/kvm.out" 2>&1; rc=$?
line=$(grep ' accel: ' "$T/kvm.out")
if [[ $rc -eq $want_kvm_rc && $line == "$want_kvm"* ]]; then
  pass "forced-kvm (exit $rc)"
else
  fail forced-kvm "exit $rc, '$line' (want exit $want_kvm_rc, '$want_kvm...')"
fi
if [[ -d /sys/module/kvm_pvm && -e /dev/kvm ]]; then
  if [[ $line == warn*kvm_pvm* ]]; then pass forced-kvm-warn-names-kvm_pvm; else fail forced-kvm-warn-names-kvm_pvm "'$line'"; fi
fi
grep -q "^ok    config: $T/kvm.json (--config) parses" "$T/kvm.out" && pass forced-kvm-config-line \
  || fail forced-kvm-config-line "$(grep ' config: ' "$T/kvm.out")"

# --- invalid config, usage ---
echo '{"accel": ' > "$T/bad.json"
"$CHECK" --config "$T/bad.json" > "$T/bad.out" 2>&1; rc=$?
if [[ $rc -eq 1 ]] && grep -q "^fail  config: $T/bad.json: " "$T/bad.out"; then
  pass bad-config-fails
else
  fail bad-config-fails "exit $rc: $(grep ' config: ' "$T/bad.out")"
fi
"$CHECK" --config "$T/none.json" > "$T/none.out" 2>&1; rc=$?
[[ $rc -eq 1 ]] && grep -q "^fail  config: $T/none.json: No such file" "$T/none.out" \
  && pass missing-config-fails || fail missing-config-fails "exit $rc"
"$CHECK" --no-such-flag > /dev/null 2>&1; rc=$?
[[ $rc -eq 2 ]] && pass usage-exit-2 || fail usage-exit-2 "exit $rc"

# --- boot ---
# Run it in the background to see its temp dir while it boots; afterwards that dir and every
# process naming it (QEMU: run dir; virtiofsd: shared dir; cvm-vsockd: its sockets) are gone.
boot_run() { # $1 = label, rest = cvm-check args; sets rc, tmpdir
  local label=$1 before
  shift
  before=$(ls -d /tmp/cvm-check.* 2> /dev/null | sort)
  "$CHECK" "$@" > "$T/$label.out" 2> "$T/$label.err" &
  check_pid=$!
  tmpdir=
  while kill -0 "$check_pid" 2> /dev/null; do
    if [[ -z $tmpdir ]]; then
      tmpdir=$(comm -13 <(echo "$before") <(ls -d /tmp/cvm-check.* 2> /dev/null | sort) | head -1)
    fi
    sleep 0.05
  done
  wait "$check_pid"; rc=$?
  check_pid=
  grep -E '^[a-z]+ +boot: |^=>' "$T/$label.out" | sed "s/^/NOTE: $label: /"
}
check_clean() { # $1 = label
  local left new
  if [[ -n $tmpdir ]]; then
    left=$(pgrep -af -- "$tmpdir" || true)
    if [[ -z $left ]]; then pass "$1-no-process-left"; else fail "$1-no-process-left" "$left"; fi
    if [[ ! -e $tmpdir ]]; then pass "$1-temp-dir-removed"; else fail "$1-temp-dir-removed" "$(ls -laR "$tmpdir")"; fi
  else
    fail "$1-temp-dir-seen" "no /tmp/cvm-check.* dir appeared while it ran"
  fi
  left=$(pgrep -af -- '/tmp/cvm-check\.' || true)
  [[ -z $left ]] || fail "$1-no-cvm-check-process" "$left"
}

boot_run boot --boot
line=$(grep ' boot: ' "$T/boot.out")
if [[ $rc -eq 0 && $line == "ok    boot: qemu +"*"agent +"*" ms" ]]; then
  pass "boot-agent-answered"
else
  fail boot-agent-answered "exit $rc: '$line'; $(tail -5 "$T/boot.err")"
fi
[[ $line == *"qmp +"*"console +"*"init +"* ]] && pass boot-all-phases || fail boot-all-phases "'$line'"
check_clean boot

"$CHECK" --json --boot > "$T/boot.json" 2> /dev/null; rc=$?
if out=$(python3 - "$T/boot.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
b = d["boot"]
assert d["can_run"] is True and b["status"] == "ok", (d["can_run"], b)
p = b["phases_ms"]
assert 0 <= p["qemu"] <= p["qmp"] and p["console"] <= p["agent"] and p["init"] <= p["agent"], p
print("agent after %d ms" % p["agent"])
EOF
); then
  pass "boot-json-phases ($out)"
else
  fail boot-json-phases "exit $rc: $out"
fi

# --- boot stall (PVM only): forced KVM cannot run the stock kernel; the watchdog says so ---
if [[ -d /sys/module/kvm_pvm && -e /dev/kvm ]]; then
  start=$(date +%s%N)
  boot_run stall --boot --config "$T/kvm.json"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  line=$(grep ' boot: ' "$T/stall.out")
  # QEMU hangs (the console deadline) or aborts at once (QEMU 7.2 on newer kvm_pvm); both named
  if [[ $rc -eq 1 && ( $line == "fail  boot: stalled before the guest kernel's first output"* ||
        $line == "fail  boot: the VM died during boot before the guest's first output (accel kvm: "*'"accel": "tcg"'* ) ]]; then
    pass "boot-stall-named (${took} ms)"
  else
    fail boot-stall-named "exit $rc: '$line'"
  fi
  (( took < 15000 )) && pass boot-stall-within-seconds || fail boot-stall-within-seconds "${took} ms"
  check_clean stall
fi

echo "22-cvm-check: $fails failure(s)"
[[ $fails -eq 0 ]]

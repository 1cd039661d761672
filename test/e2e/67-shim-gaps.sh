#!/usr/bin/env bash
# 67-shim-gaps: silent fallbacks of the shim that must be refusals (issue 23), under a private
# containerd 1.6.20:
#   kernel/initrd   a configured initrd and no kernel next to the shim: Create fails within 2 s
#                   naming the /boot kernel it would have used, the initrd and why they do not
#                   match (it used to boot them and the guest died without vsock)
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
WORK=
cleanup() { shim_ctd_teardown; [[ -n $WORK ]] && rm -rf "$WORK"; }
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-shim-gaps "must run as root"; exit 1; }
shim_env_check || exit 1
WORK=$(mktemp -d /tmp/cvm-67.XXXXXX)
BOOTK=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[[ -n $BOOTK ]] || { fail kernel-initrd-mismatch "this host has no /boot/vmlinuz-* to fall back to: the case cannot be shown here"; exit 1; }

# a shim with nothing next to it: its own copy in an empty tree, first on PATH
mkdir -p "$WORK/alone/bin"
cp "$SHIM_BIN" "$BUILD/bin/cvm-vsockd" "$WORK/alone/bin/"
export PATH=$WORK/alone/bin:$PATH   # containerd finds shims on its own PATH
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
shim_write_config "$WORK/cvm.json"   # names $BUILD/initrd.img (ours: no modules), no kernel

t0=$(date +%s%N)
out=$(timeout 60 ctr run --rm --runtime "$RT" --runtime-config-path "$WORK/cvm.json" "$IMG" mm true 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
note "kernel/initrd mismatch refused in $ms ms: $out"
if [[ $rc -ne 0 && $out == *"$BOOTK"* && $out == *"$PWD/$BUILD/initrd.img"* && $out == *"carries no kernel modules"* && $ms -lt 2000 ]]; then
  pass kernel-initrd-mismatch-refused
else
  fail kernel-initrd-mismatch-refused "rc=$rc in $ms ms: $out"
fi
ctr containers delete mm >/dev/null 2>&1

shim_log_check

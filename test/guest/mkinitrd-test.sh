#!/usr/bin/env bash
# Minimal test initrd: INIT as /init plus the kernel modules the vsock tests need, resolved
# through modules.dep and listed in load order in /modules.list (read by the init).
# Stand-in until initrd/mkinitrd.sh exists; reproducible (sorted entries, fixed mtimes/owners).
#   mkinitrd-test.sh INIT OUT [KVER]
set -euo pipefail
init=$1 out=$2
kver=${3:-$(ls /lib/modules | sort -V | tail -1)}
moddir=/lib/modules/$kver
[[ -f $moddir/modules.dep ]] || { echo "mkinitrd-test: no $moddir/modules.dep" >&2; exit 1; }

declare -A deps seen
while IFS=: read -r mod rest; do deps[$mod]=$rest; done < "$moddir/modules.dep"

order=()
resolve() { # depth-first, dependencies before the module itself
  local m=$1 d
  [[ -n ${seen[$m]:-} ]] && return
  seen[$m]=1
  [[ -v deps[$m] ]] || { echo "mkinitrd-test: $m not in modules.dep" >&2; exit 1; }
  for d in ${deps[$m]}; do resolve "$d"; done
  order+=("$m")
}
for name in virtio_pci vmw_vsock_virtio_transport; do
  path=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -1 | cut -d: -f1)
  [[ -n $path ]] || { echo "mkinitrd-test: module $name not found" >&2; exit 1; }
  resolve "$path"
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -m 0755 "$init" "$root/init"
for m in "${order[@]}"; do
  [[ $m == *.ko ]] || { echo "mkinitrd-test: compressed module $m unsupported" >&2; exit 1; }
  install -D -m 0644 "$moddir/$m" "$root/lib/modules/$kver/$m"
  echo "/lib/modules/$kver/$m" >> "$root/modules.list"
done
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out"

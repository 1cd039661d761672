#!/usr/bin/env bash
# Builds the cvm guest kernel (an uncompressed, PVH-bootable vmlinux) from Debian's
# linux-source-6.1 package, once per machine, and links it into the build tree.
#
#   initrd/kernel/build.sh --out <build>/vmlinux [--cache DIR] [--source TARBALL] [--jobs N]
#
# Key: <source package version>-<first 12 hex of sha256(cvm.config, elf_sparse.py, patches/,
# RECIPE)>. The result lives in <cache>/<key>/ (vmlinux, config, release, build-seconds),
# outside the checkout (config/build_cache.sh: shared by every tree and CI run on the machine,
# one build at a time). A cache hit costs a hash; a miss unpacks the source into
# <cache>/tmp.*, applies patches/*.patch, merges cvm.config onto allnoconfig, fails when any
# line of the fragment did not land, builds vmlinux with -j$(nproc), splits its segments
# around their padding (elf_sparse.py: QEMU would write those pages into guest RAM, host
# memory of every VM for its life) and prints how long it took.
set -euo pipefail
# All of it in main(), parsed before it runs: editing this file during a build is harmless.
main() {

  here=$(cd "$(dirname "$0")" && pwd)
  source "$here/../../config/build_cache.sh"
  # Bump when a change below alters the kernel built (not for changes of logging or linking).
  RECIPE=1
  die() { echo "kernel: $*" >&2; exit 1; }

  cache=${CVM_KERNEL_CACHE:-/var/cache/containerd-shim-cvm-v1/kernel}
  source=/usr/src/linux-source-6.1.tar.xz
  jobs=$(nproc)
  out=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --out) out=${2:?}; shift 2 ;;
      --cache) cache=${2:?}; shift 2 ;;
      --source) source=${2:?}; shift 2 ;;
      --jobs) jobs=${2:?}; shift 2 ;;
      -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ -n "$out" ]] || die "--out is required"
  [[ -r "$source" ]] || die "no kernel source at $source (config/deps.sh installs linux-source-6.1)"

  srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
  [[ -n "$srcver" ]] || srcver=$(stat -c %s-%Y "$source")
  hash=$( (cat "$here/cvm.config" "$here/elf_sparse.py" "$here"/patches/*.patch; echo "recipe $RECIPE") |
    sha256sum | cut -c1-12)
  key="$srcver-$hash"

  NAME=kernel ARTIFACT=vmlinux STAMP=release
  cache_reuse "$cache" "$key" "$out"
  echo "kernel: building $key (not cached in $cache; this takes several minutes)"
  tar -C "$tmp" -xJf "$source"
  src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
  [[ -f "$src/Makefile" ]] || die "unexpected source layout in $source"
  # Our few changes to the source (initrd/kernel/patches/, each says why), in name order.
  for p in "$here"/patches/*.patch; do
    patch -d "$src" -p1 --forward --no-backup-if-mismatch -s <"$p" || die "$(basename "$p") does not apply to $source"
  done

  # Not our make's flags and variables (CC=clang, BUILD=, -j and its jobserver) in the kernel's.
  kmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$src" ARCH=x86_64 -s "$@"; }
  # merge_config.sh -n: allnoconfig as the base, the fragment on top; it reports every
  # requested value that did not survive Kconfig's dependency resolution.
  merge() { # fragment
    (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES ARCH=x86_64 \
       scripts/kconfig/merge_config.sh -n "$1") >"$tmp/merge.log" 2>&1 ||
      { cat "$tmp/merge.log" >&2; die "merge_config failed"; }
    if grep -A3 -E '^Value requested for' "$tmp/merge.log" >&2; then
      die "the lines above of initrd/kernel/cvm.config did not land in .config"
    fi
    kmake olddefconfig
  }
  # The fragment sets EXPERT for the unwinder only: built without its unwinder block, the
  # .config must differ in nothing else, so an option EXPERT uncovers (and allnoconfig turns
  # off) that the block does not restore, as a newer source may add, fails here.
  sed '/^# --- the unwinder/,/^# --- /{/^# --- the unwinder/d;/^# --- /!d}' "$here/cvm.config" >"$tmp/no-expert.config"
  ! grep -q '^CONFIG_EXPERT=y' "$tmp/no-expert.config" ||
    die "cvm.config: EXPERT is set outside its block (# --- the unwinder ...): nothing to compare"
  merge "$tmp/no-expert.config"
  grep '^CONFIG_' "$src/.config" | sort >"$tmp/no-expert.sorted"
  merge "$here/cvm.config"
  grep '^CONFIG_' "$src/.config" | sort >"$tmp/expert.sorted"
  unexpected=$(diff "$tmp/no-expert.sorted" "$tmp/expert.sorted" | grep -E '^[<>] ' |
    grep -vE '^[<>] CONFIG_(EXPERT|DEBUG_KERNEL|DEBUG_INFO_NONE|UNWINDER_(ORC|GUESS)|SLUB_DEBUG|STACKDEPOT|HAVE_RELIABLE_STACKTRACE|ARCH_HAS_ZONE_DMA_SET|PCIE_BUS_DEFAULT)=' || true)
  [[ -z $unexpected ]] || die "EXPERT changed more than the unwinder block restores (< without it, > with it):
$unexpected"
  # The release string goes into the build salt, an ELF note of vmlinux ("Linux", type 0x100):
  # that is how hypervisor/guest_image.c reads an ELF kernel's release without scanning it.
  release=$(kmake kernelrelease)
  "$src/scripts/config" --file "$src/.config" --set-str BUILD_SALT "$release"
  kmake olddefconfig
  kmake -j"$jobs" vmlinux
  objcopy --strip-debug "$src/vmlinux" "$tmp/vmlinux.full"
  python3 "$here/elf_sparse.py" "$tmp/vmlinux.full" "$tmp/vmlinux"  # verifies what it wrote

  mkdir "$tmp/out"
  mv "$tmp/vmlinux" "$tmp/out/vmlinux"
  cp "$src/.config" "$tmp/out/config"
  echo "$release" >"$tmp/out/release"
  cache_publish "$tmp/out"
  echo "kernel: built $release in ${cache_secs}s ($(stat -c %s "$cache_dir/vmlinux") bytes) -> $cache_dir"
}
main "$@"
exit

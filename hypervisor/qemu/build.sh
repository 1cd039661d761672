#!/usr/bin/env bash
# Builds our QEMU: Debian's source of the installed qemu-system-x86 (its security patches
# applied), configured for what a sandbox needs (x86_64 system emulation, TCG and KVM, the
# devices of cvm-devices.mak, seccomp, vhost) and nothing else: no capstone, no GUI, audio,
# block formats, network backends but tap, or the ~50 libraries Debian's binary loads, whose
# relocated data every QEMU process copies. Once per machine; linked into the build tree.
#
#   hypervisor/qemu/build.sh --out <build>/qemu-system-x86_64 [--cache DIR] [--jobs N]
#
# Key: <source version>-<first 12 hex of sha256(this script, cvm-devices.mak, patches/)>.
# The result lives in <cache>/<key>/ (qemu-system-x86_64, version, build-seconds), outside
# the checkout, like the kernel's (config/build_cache.sh). A miss fetches the source with
# apt-get from a private deb-src list (the host's apt config is untouched; apt checks the
# files against Debian's signed index), unpacks it with dpkg-source (which applies
# debian/patches), applies ours (patches/, each says why), configures and builds one binary
# (~4 min on 2 cores).
set -euo pipefail
# All of it in main(), parsed before it runs: editing this file during a build is harmless.
main() {

  here=$(cd "$(dirname "$0")" && pwd)
  source "$here/../../config/build_cache.sh"
  die() { echo "qemu: $*" >&2; exit 1; }

  cache=${CVM_QEMU_CACHE:-/var/cache/containerd-shim-cvm-v1/qemu}
  jobs=$(nproc)
  out=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --out) out=${2:?}; shift 2 ;;
      --cache) cache=${2:?}; shift 2 ;;
      --jobs) jobs=${2:?}; shift 2 ;;
      -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ -n "$out" ]] || die "--out is required"

  # The source of the binary package installed (1:7.2+dfsg-7+deb12u18+b3 is a binNMU of
  # source 1:7.2+dfsg-7+deb12u18): virtiofsd and the firmware (bios-microvm.bin) we use come
  # from that same source.
  binver=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
  [[ -n "$binver" ]] || die "qemu-system-x86 is not installed (config/deps.sh installs it)"
  srcver=${binver%+b[0-9]*}
  hash=$(cat "$here/build.sh" "$here/cvm-devices.mak" "$here"/patches/*.patch | sha256sum | cut -c1-12)
  key="${srcver#*:}-$hash"

  NAME=qemu ARTIFACT=qemu-system-x86_64 STAMP=version
  cache_reuse "$cache" "$key" "$out"
  echo "qemu: building $key (not cached in $cache; this takes a few minutes on 2 cores)"

  # A private apt state with Debian's deb-src lines for the suites the host installs from.
  mkdir -p "$tmp/apt/parts" "$tmp/apt/lists/partial" "$tmp/apt/cache/archives/partial" "$tmp/src"
  local uris=(http://deb.debian.org/debian http://deb.debian.org/debian-security)
  local suites=("bookworm bookworm-updates" "bookworm-security")
  for i in 0 1; do
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "${uris[$i]}" "${suites[$i]}" >"$tmp/apt/parts/src$i.sources"
  done
  apt_priv=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$tmp/apt/parts"
    -o "Dir::State::Lists=$tmp/apt/lists" -o "Dir::Cache=$tmp/apt/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_priv[@]}" -qq update || die "apt-get update of Debian's source index failed"
  (cd "$tmp/src" && apt-get "${apt_priv[@]}" -qq source --download-only "qemu=$srcver") ||
    die "Debian's archive has no source qemu=$srcver (the installed qemu-system-x86 $binver): upgrade it (apt-get install qemu-system-x86) and rerun"
  dpkg-source -x "$tmp"/src/qemu_"${srcver#*:}".dsc "$tmp/q" >"$tmp/unpack.log" 2>&1 ||
    { cat "$tmp/unpack.log" >&2; die "dpkg-source could not unpack and patch qemu $srcver"; }
  for p in "$here"/patches/*.patch; do
    patch -d "$tmp/q" -p1 --forward --no-backup-if-mismatch -s <"$p" || die "$(basename "$p") does not apply to qemu $srcver"
  done
  cp "$here/cvm-devices.mak" "$tmp/q/configs/devices/x86_64-softmmu/cvm.mak"

  # --prefix outside /usr: QEMU finds its data relative to its binary when a path lies under
  # the prefix; the firmware path (bios-microvm.bin, Debian's qemu-system-data) does not, so
  # it is used as given wherever the binary is. Hardening as Debian's (dpkg-buildflags); PIE,
  # QEMU's default, stays: a guest that breaks into QEMU finds its code at random addresses.
  # malloc-trim, which --without-default-features turns off: QEMU's RCU thread gives freed
  # heap back (without it the heap of an idle QEMU was 11.5 MiB against 4.5).
  mkdir -p "$tmp/q/b"
  (cd "$tmp/q/b" && ../configure \
    --prefix=/opt/containerd-shim-cvm-v1-qemu --firmwarepath=/usr/share/qemu \
    --with-pkgversion="Debian $srcver, containerd-shim-cvm-v1" --with-git-submodules=ignore \
    --disable-install-blobs --disable-docs --disable-user --without-default-features \
    --target-list=x86_64-softmmu --enable-tcg --enable-kvm --enable-seccomp --enable-fdt=system \
    --enable-vhost-kernel --enable-vhost-net --enable-vhost-user --enable-malloc-trim --audio-drv-list="" \
    --without-default-devices --with-devices-x86_64=cvm \
    --extra-cflags="-g0 -fstack-protector-strong -Wformat -Werror=format-security" \
    --extra-ldflags="-Wl,-z,relro -Wl,-z,now -Wl,--as-needed") >"$tmp/configure.log" 2>&1 ||
    { tail -30 "$tmp/configure.log" >&2; die "configure failed (log above)"; }
  # Not our make's jobserver and flags in QEMU's ninja.
  (cd "$tmp/q/b" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ninja -j"$jobs" qemu-system-x86_64) \
    >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log" >&2; die "build failed (log above)"; }

  mkdir "$tmp/out"
  strip -o "$tmp/out/qemu-system-x86_64" "$tmp/q/b/qemu-system-x86_64"
  chmod 0755 "$tmp/out/qemu-system-x86_64"
  "$tmp/out/qemu-system-x86_64" -version | head -1 >"$tmp/out/version"
  grep -q "$srcver" "$tmp/out/version" || die "the binary built says $(cat "$tmp/out/version")"
  cache_publish "$tmp/out"
  echo "qemu: built $(cat "$cache_dir/version") in ${cache_secs}s -> $cache_dir"
}
main "$@"
exit

#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the main job need.
# Idempotent and non-interactive; must run as root. Installs nothing when all are present.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libjansson-dev zlib1g-dev
  libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev
  # tests, sanitizers, fuzzing
  check clang clang-format-14 libclang-rt-14-dev llvm file tmux python3 socat procps iproute2 util-linux
  # guest and hypervisor
  qemu-system-x86 qemu-system-common linux-image-cloud-amd64 busybox-static cpio kmod
  # our guest kernel (initrd/kernel/build.sh): Debian's source and what building it needs
  linux-source-6.1 bison flex libelf-dev xz-utils patch
  # our QEMU (hypervisor/qemu/build.sh): Debian's source comes through apt-get source
  dpkg-dev meson ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev
  # the container manager we serve
  containerd runc bc
  python3-grpcio python3-grpc-tools
  # CRI streaming (exec, attach, port-forward) over WebSocket: test/drivers/cri_stream.py
  python3-websocket
  # networking: CNI plugins (bridge, host-local, portmap, ...) for the network tests
  containernetworking-plugins iptables
  # runc's command line (runtime/cvm-runtime): the clients that call it (test/e2e/70, 71)
  docker.io podman
)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: root is required to install: ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

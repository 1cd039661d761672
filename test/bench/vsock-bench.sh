#!/usr/bin/env bash
# Hybrid vsock benchmark: throughput both ways and connect latency through cvm-vsockd under a
# TCG microvm (numbers here say little about KVM hosts; compare runs on the same machine).
#   BUILD=build/vsockd bash test/bench/vsock-bench.sh [MiB]
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VSOCKD=$BUILD/bin/cvm-vsockd
MIB=${1:-128}
VM_TMP=""
source test/guest/vsock_vm_lib.sh
cleanup() { vm_stop; [[ -n $VM_TMP ]] && rm -rf "$VM_TMP"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

[[ $(id -u) -eq 0 ]] || { echo "vsock-bench: must run as root" >&2; exit 1; }
VM_TMP=$(mktemp -d /tmp/cvm-vsock-bench.XXXXXX)
vm_start > "$VM_TMP/why" || { echo "vsock-bench: $(cat "$VM_TMP/why")" >&2; exit 1; }
echo "host: $(nproc) CPUs, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | xargs); QEMU TCG, 1 vCPU"
timeout 900 "${PYTHON:-python3}" test/guest/vsock_host_driver.py bench "$VM_UDS" "$MIB" || exit 1
read -r _ _ _ _ _ _ _ _ _ _ _ _ _ u s _ < /proc/"$VSOCKD_PID"/stat
rss=$(awk '/VmRSS/ { print $2, $3 }' /proc/"$VSOCKD_PID"/status)
echo "vsockd: cpu $(( (u + s) * 1000 / $(getconf CLK_TCK) )) ms total, RSS $rss"

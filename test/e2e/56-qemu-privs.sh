#!/usr/bin/env bash
# End-to-end: QEMU runs unprivileged (hypervisor/qemu_privs.h). Under a private containerd:
#   1. default config: a running sandbox's QEMU runs as a uid of the default uid_range
#      (1000000000-1000065535) with the same number as gid, no capability in any set,
#      NoNewPrivs 1, Seccomp 2 (its -sandbox filter), only the kvm group (and only under KVM);
#      it holds what it cannot open itself as inherited fds (its tap, the vhost-user sockets,
#      kernel, initrd); the run dir stays root's and QEMU's user cannot enter it; the container
#      works (exec output). (Two sandboxes, cvm-vsockd and the uid lease: 63-sandbox-privs.sh.)
#   2. the removed qemu_user (one uid for all sandboxes), or a uid_range with uid 0: Create
#      fails naming the key, nothing boots.
#   3. nothing left behind.
# Root only. PASS:/FAIL: lines; exit status non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

cleanup() {
  shim_ctd_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail qemu-privs "must run as root"; exit 1; }
shim_env_check || exit 1
command -v setpriv >/dev/null || { fail qemu-privs "setpriv (util-linux) missing"; exit 1; }

ctd_start || exit 1
shim_use_ctd
ours() { shim_footprint_ours "$CTD_SOCK" default p1 p3 p4; }
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
RUN=(ctr run --runtime "$RT")

field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# The status lines of QEMU's privileges: uid, gid, groups as wanted; every capability set empty.
check_status() { # $1 = label, $2 = qemu pid, $3 = uid, $4 = gid, $5 = groups ("" = none)
  local l=$1 p=$2 k v
  for k in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do
    note "$l: /proc/<qemu>/status $k: $(field "$p" "$k")"
  done
  [[ $(field "$p" Uid | tr -s ' \t' ' ') == "$3 $3 $3 $3" && $3 -ne 0 ]] && pass "$l-uid" ||
    fail "$l-uid" "Uid '$(field "$p" Uid)', want $3 x4"
  [[ $(field "$p" Gid | tr -s ' \t' ' ') == "$4 $4 $4 $4" && $4 -ne 0 ]] && pass "$l-gid" ||
    fail "$l-gid" "Gid '$(field "$p" Gid)', want $4 x4"
  [[ $(field "$p" Groups | tr -s ' \t' ' ' | sed 's/ $//') == "$5" ]] && pass "$l-groups" ||
    fail "$l-groups" "Groups '$(field "$p" Groups)', want '$5'"
  for k in CapInh CapPrm CapEff CapBnd CapAmb; do
    v=$(field "$p" "$k")
    [[ $v == 0000000000000000 ]] && pass "$l-$k-empty" || fail "$l-$k-empty" "$k $v"
  done
  [[ $(field "$p" NoNewPrivs) == 1 ]] && pass "$l-no-new-privs" || fail "$l-no-new-privs" "$(field "$p" NoNewPrivs)"
  [[ $(field "$p" Seccomp) == 2 ]] && pass "$l-seccomp-filter" || fail "$l-seccomp-filter" "$(field "$p" Seccomp)"
}

# --- 1. the default config
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
timeout 120 "${RUN[@]}" --runtime-config-path "$CFG" -d "$IMG" p1 sleep 100000 >/dev/null 2>"$CTD_DIR/p1.err"
qpid=$(task_field p1 2)
if [[ $(task_field p1 3) != RUNNING || -z $qpid || ! -e /proc/$qpid/status ]]; then
  fail default-sandbox-running "status=$(task_field p1 3) err=$(cat "$CTD_DIR/p1.err") $(grep -i 'qemu' "$CTD_DIR/containerd.log" | tail -3)"
  exit 1
fi
pass default-sandbox-running
WANT_UID=$(field "$qpid" Uid | awk '{print $1}'); WANT_GID=$WANT_UID
(( WANT_UID >= 1000000000 && WANT_UID <= 1000065535 )) && pass uid-from-default-range ||
  fail uid-from-default-range "QEMU runs as uid $WANT_UID"
[[ $(cat /proc/$qpid/comm) == qemu* ]] && pass task-pid-is-qemu || fail task-pid-is-qemu "comm $(cat /proc/$qpid/comm)"
accel=$(grep -o 'accel \(kvm\|tcg\):' "$CTD_DIR/containerd.log" | tail -1)
groups=""
[[ $accel == "accel kvm:" ]] && groups=$(getent group kvm | cut -d: -f3)
check_status default "$qpid" "$WANT_UID" "$WANT_GID" "$groups"
grep -q 'QEMU runs as .*no capabilities, no_new_privs' "$CTD_DIR/containerd.log" && pass identity-logged ||
  fail identity-logged "no 'QEMU runs as' line in the shim's log"

# What QEMU holds instead of opening: its tap (made by us in its netns), the kernel and initrd.
fds=$(for f in /proc/$qpid/fd/*; do printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")"; done)
note "qemu fds: $(echo "$fds" | tr '\n' ';')"
echo "$fds" | grep -q '^9 -> /dev/net/tun$' && pass tap-fd-inherited || fail tap-fd-inherited "fd 9 is not /dev/net/tun"
# the guest kernel the shim resolved: ours by default (build/vmlinux, a link into the kernel cache)
kfile=$(readlink -f "$BUILD/vmlinux")
echo "$fds" | grep -qxF "7 -> $kfile" && pass kernel-fd-inherited || fail kernel-fd-inherited "fd 7 is not $kfile"
echo "$fds" | grep -q "^8 -> $PWD/$BUILD/initrd.img$" && pass initrd-fd-inherited || fail initrd-fd-inherited "fd 8"
nsenter --net=/proc/$qpid/ns/net ip link show cvmtap0 >/dev/null 2>&1 && pass tap-in-qemu-netns ||
  fail tap-in-qemu-netns "no cvmtap0 in QEMU's netns"
[[ $(nsenter --net=/proc/$qpid/ns/net ip -d link show cvmtap0 2>/dev/null) == *"tun type tap"* ]] &&
  pass tap-is-tap || fail tap-is-tap "$(nsenter --net=/proc/$qpid/ns/net ip -d link show cvmtap0 2>&1)"

# The run dir is root's alone: QEMU's user can neither list it nor reach a socket in it.
rdir=$(tr '\0' ' ' < /proc/$qpid/cmdline | grep -o '/run/cvm/[0-9a-f]*' | head -1)
vmdir=$rdir/vm
[[ -d $vmdir && $(stat -c '%u %a' "$vmdir") == "0 700" ]] && pass run-dir-root-0700 ||
  fail run-dir-root-0700 "$vmdir: $(stat -c '%U:%G %a' "$vmdir" 2>&1)"
as_qemu=(setpriv --reuid="$WANT_UID" --regid="$WANT_GID" --clear-groups --)
if "${as_qemu[@]}" ls "$vmdir" >/dev/null 2>&1; then
  fail run-dir-closed-to-qemu-user "uid $WANT_UID can list $vmdir"
elif "${as_qemu[@]}" python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$vmdir/vsock/vsock.sock" 2>/dev/null; then
  fail run-dir-closed-to-qemu-user "uid $WANT_UID can connect to $vmdir/vsock/vsock.sock"
else
  pass run-dir-closed-to-qemu-user
fi

# The container works.
out=$(timeout 60 ctr task exec --exec-id e1 p1 sh -c 'echo exec-out-$((6*7))' 2>&1)
[[ $out == exec-out-42 ]] && pass exec-prints-output || fail exec-prints-output "'$out'"
ctr task kill -s SIGKILL p1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field p1 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete p1 >/dev/null 2>&1; ctr containers delete p1 >/dev/null 2>&1

# --- 2. refused configs: Create fails at once, naming the key
shim_write_config "$CTD_DIR/qu.json" 90000 '"qemu_user": "cvm"'
out=$(timeout 60 "${RUN[@]}" --rm --runtime-config-path "$CTD_DIR/qu.json" "$IMG" p3 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *'"qemu_user" is gone'*uid_range* ]] && pass qemu-user-refused || fail qemu-user-refused "rc=$rc out=$out"
shim_write_config "$CTD_DIR/zero.json" 90000 '"uid_range": "0-10"'
out=$(timeout 60 "${RUN[@]}" --rm --runtime-config-path "$CTD_DIR/zero.json" "$IMG" p4 true 2>&1); rc=$?
[[ $rc -ne 0 && $out == *'"uid_range" must be'* ]] && pass uid-range-with-root-refused ||
  fail uid-range-with-root-refused "rc=$rc out=$out"
ctr containers delete p3 p4 >/dev/null 2>&1

# --- 3. nothing left
for _ in $(seq 1 25); do [[ -z $(ours) ]] && break; sleep 0.2; done
new=$(ours)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
shim_log_check
exit $FAILED

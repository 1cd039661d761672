#!/usr/bin/env bash
# End-to-end: every sandbox's VMM-side processes run as a uid of their own (issue 17, check c;
# hypervisor/uid_range.h, uid_lease.c, qemu_privs.h, vsockd/sandbox.h, virtiofsd.c). Under a
# private containerd, with "uid_range" set to a 4-id block of this test:
#   1. two live sandboxes (ctr run -d): QEMU and cvm-vsockd of each run as one uid of the range
#      (uid = gid, no group, non-zero), the two sandboxes' uids differ; CapInh/Prm/Eff/Bnd/Amb
#      0, NoNewPrivs 1, Seccomp 2; each holds the sandbox's uid lease (an flock on
#      /run/cvm/uids/<uid>, same open file as the shim's). virtiofsd stays uid 0 by design (it
#      serves files with their owners): its worker's capabilities are exactly CHOWN DAC_OVERRIDE
#      FOWNER FSETID SETGID SETUID (no MKNOD, no SETFCAP), empty bounding set, NoNewPrivs 1,
#      Seccomp 2; its monitor process has no capability (reported per process).
#   2. cvm-vsockd is confined to <run dir>/vm/vsock: its mount namespace has that one mount, its
#      root holds only its two sockets; from inside its namespace and as its uid, containerd's
#      socket, the other sandbox's socket and /etc/passwd do not exist (ENOENT), while a host
#      listener at its <uds>_<port> (the guest→host convention) connects.
#   3. delete: the uid's lease is free again, no process runs as the uid, nothing is left.
#   4. kill -9 of a shim while a process of its sandbox still holds the lease (a copy of QEMU's
#      lease fd, taken with pidfd_getfd: QEMU itself dies with its shim): a new sandbox whose
#      range is only that uid fails to start naming the range; once the holder is gone it starts
#      with that uid. A process that runs as the uid without any lock blocks it the same way.
# Root only. PASS:/FAIL: lines; exit status non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

HOLDERS=()
cleanup() {
  local p
  for p in "${HOLDERS[@]}"; do kill -9 "$p" 2>/dev/null; done
  shim_ctd_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail sandbox-privs "must run as root"; exit 1; }
shim_env_check || exit 1

FIRST=1000064000 LAST=1000064003 LOCKS=/run/cvm/uids
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG" 90000 "\"uid_range\": \"$FIRST-$LAST\""
ours() { shim_footprint_ours "$CTD_SOCK" default s1 s2 s3 s4 s5; }

field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status" 2>/dev/null; }
rundir_of() { echo "/run/cvm/$(printf '%s' "$CTD_SOCK/default/$1" | sha256sum | cut -c1-16)"; }
lock_held() { ! flock -n -E 75 "$LOCKS/$1" true 2>/dev/null; } # $1 = uid
alive() { [[ -e /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
wait_stopped() { for _ in $(seq 1 50); do [[ $(task_field "$1" 3) == STOPPED ]] && break; sleep 0.2; done; }
remove() { ctr task kill -s SIGKILL "$1" >/dev/null 2>&1; wait_stopped "$1"; ctr task delete "$1" >/dev/null 2>&1; ctr containers delete "$1" >/dev/null 2>&1; }

start_sandbox() { # $1 = id, $2 = config. 0 when RUNNING
  timeout 120 ctr run --runtime "$RT" --runtime-config-path "$2" -d "$IMG" "$1" sleep 100000 >/dev/null 2>"$CTD_DIR/$1.err"
  [[ $(task_field "$1" 3) == RUNNING ]]
}

# The unprivileged status of a VMM process: $1 = label, $2 = pid, $3 = uid wanted
check_unpriv() {
  local l=$1 p=$2 u=$3 k v
  note "$l (pid $p): $(for k in Uid Gid Groups CapEff CapBnd NoNewPrivs Seccomp; do printf '%s=%s ' "$k" "$(field "$p" "$k" | tr -s ' \t' ' ')"; done)"
  [[ $(field "$p" Uid | tr -s ' \t' ' ') == "$u $u $u $u" && $u -ne 0 ]] && pass "$l-uid" || fail "$l-uid" "Uid '$(field "$p" Uid)', want $u x4"
  [[ $(field "$p" Gid | tr -s ' \t' ' ') == "$u $u $u $u" ]] && pass "$l-gid-is-uid" || fail "$l-gid-is-uid" "Gid '$(field "$p" Gid)', want $u x4"
  [[ -z $(field "$p" Groups | tr -d ' \t') ]] && pass "$l-no-groups" || fail "$l-no-groups" "Groups '$(field "$p" Groups)'"
  for k in CapInh CapPrm CapEff CapBnd CapAmb; do
    v=$(field "$p" "$k")
    [[ $v == 0000000000000000 ]] && pass "$l-$k-0" || fail "$l-$k-0" "$k $v"
  done
  [[ $(field "$p" NoNewPrivs) == 1 ]] && pass "$l-no-new-privs" || fail "$l-no-new-privs" "$(field "$p" NoNewPrivs)"
  [[ $(field "$p" Seccomp) == 2 ]] && pass "$l-seccomp-filter" || fail "$l-seccomp-filter" "$(field "$p" Seccomp)"
}

# Which fd of $1 is the lease file of uid $2 (empty: none)
lease_fd() { local f; for f in /proc/$1/fd/*; do [[ $(readlink "$f") == "$LOCKS/$2" ]] && { echo "${f##*/}"; return; }; done; }

# --- 1. two live sandboxes
declare -A QPID VPID UID_OF
for s in s1 s2; do
  if ! start_sandbox "$s" "$CFG"; then
    fail "$s-running" "status=$(task_field "$s" 3) err=$(cat "$CTD_DIR/$s.err") $(grep -iE 'uid|lease' "$CTD_DIR/containerd.log" | tail -3)"
    exit 1
  fi
  pass "$s-running"
  QPID[$s]=$(task_field "$s" 2)
  rd=$(rundir_of "$s")
  VPID[$s]=$(pgrep -f -- "cvm-vsockd .*--root $rd/vm/vsock " | head -1)
  UID_OF[$s]=$(field "${QPID[$s]}" Uid | awk '{print $1}')
  note "$s: run dir $rd, qemu ${QPID[$s]}, cvm-vsockd ${VPID[$s]:-none}, uid ${UID_OF[$s]}"
done
for s in s1 s2; do
  u=${UID_OF[$s]}
  (( u >= FIRST && u <= LAST )) && pass "$s-uid-from-range" || fail "$s-uid-from-range" "uid $u not in $FIRST-$LAST"
  check_unpriv "$s-qemu" "${QPID[$s]}" "$u"
  if [[ -n ${VPID[$s]} ]]; then
    check_unpriv "$s-vsockd" "${VPID[$s]}" "$u"
  else
    fail "$s-vsockd-found" "no cvm-vsockd with --root $(rundir_of "$s")/vm/vsock"
  fi
  lock_held "$u" && pass "$s-lease-held" || fail "$s-lease-held" "$LOCKS/$u can be locked"
  qf=$(lease_fd "${QPID[$s]}" "$u"); vf=$(lease_fd "${VPID[$s]:-0}" "$u")
  [[ -n $qf && -n $vf ]] && pass "$s-qemu-vsockd-hold-lease" ||
    fail "$s-qemu-vsockd-hold-lease" "qemu fd '${qf}', vsockd fd '${vf}' on $LOCKS/$u"
  # virtiofsd: root by design. Two processes: its sandbox's monitor (waits for the worker,
  # no capability left) and the worker in its own namespaces, with the reduced set.
  nw=0
  for p in $(pgrep -f -- "virtiofsd .*source=$(rundir_of "$s")/"); do
    note "$s-virtiofsd (pid $p): $(for k in Uid CapEff CapPrm CapBnd NoNewPrivs Seccomp; do printf '%s=%s ' "$k" "$(field "$p" "$k" | tr -s ' \t' ' ')"; done)"
    [[ $(field "$p" Uid | awk '{print $1}') == 0 ]] || fail "$s-virtiofsd-$p-uid-0-by-design" "$(field "$p" Uid)"
    [[ $(field "$p" CapBnd) == 0000000000000000 ]] && pass "$s-virtiofsd-$p-CapBnd-0" || fail "$s-virtiofsd-$p-CapBnd-0" "$(field "$p" CapBnd)"
    if [[ $(field "$p" Seccomp) == 2 ]]; then # the worker
      nw=$((nw + 1))
      # CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) FSETID(4) SETGID(6) SETUID(7) = 0xdb: no MKNOD(27), SETFCAP(31)
      [[ $(field "$p" CapEff) == 00000000000000db && $(field "$p" CapPrm) == 00000000000000db ]] &&
        pass "$s-virtiofsd-worker-caps-reduced" || fail "$s-virtiofsd-worker-caps-reduced" "CapEff $(field "$p" CapEff) CapPrm $(field "$p" CapPrm), want 00000000000000db"
      [[ $(field "$p" NoNewPrivs) == 1 ]] && pass "$s-virtiofsd-worker-no-new-privs" || fail "$s-virtiofsd-worker-no-new-privs" "$(field "$p" NoNewPrivs)"
    else # the monitor
      [[ $(field "$p" CapEff) == 0000000000000000 && $(field "$p" CapPrm) == 0000000000000000 ]] &&
        pass "$s-virtiofsd-monitor-no-caps" || fail "$s-virtiofsd-monitor-no-caps" "CapEff $(field "$p" CapEff) CapPrm $(field "$p" CapPrm)"
    fi
  done
  [[ $nw -eq 1 ]] && pass "$s-virtiofsd-one-worker-seccomp" || fail "$s-virtiofsd-one-worker-seccomp" "$nw virtiofsd processes with Seccomp 2"
done
[[ ${UID_OF[s1]} != "${UID_OF[s2]}" ]] && pass uids-distinct || fail uids-distinct "both sandboxes run as ${UID_OF[s1]}"

# --- 2. cvm-vsockd sees its own dir only
for s in s1 s2; do
  p=${VPID[$s]:-}; [[ -n $p ]] || continue
  other=s2; [[ $s == s2 ]] && other=s1
  mi=$(awk '{print $5}' "/proc/$p/mountinfo")
  [[ $mi == / ]] && pass "$s-vsockd-one-mount" || fail "$s-vsockd-one-mount" "mounts: $(echo $mi)"
  seen=$(ls -A "/proc/$p/root/" | tr '\n' ' ')
  [[ $seen == "vsock-vu.sock vsock.sock " ]] && pass "$s-vsockd-root-is-its-dir" || fail "$s-vsockd-root-is-its-dir" "root holds: $seen"
  # As it: enter its mount namespace, take its ids, try paths (errno names; "ok" when it worked).
  # The positive control: a host listener at <uds>_7777 (what a guest connect to host port 7777
  # reaches), connectable by the sandbox (mode 0666: the dir decides who gets to it).
  vdir=$(rundir_of "$s")/vm/vsock
  out=$(python3 - "$p" "${UID_OF[$s]}" "$CTD_SOCK" "$(rundir_of "$other")/vm/vsock/vsock.sock" "$vdir/vsock.sock_7777" <<'PY'
import ctypes, errno, os, socket, sys
pid, uid, ctd, other, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
l = socket.socket(socket.AF_UNIX)
l.bind(port); os.chmod(port, 0o666); l.listen(4)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/proc/%d/ns/mnt" % pid, os.O_RDONLY)
if libc.setns(fd, 0x00020000) != 0:  # CLONE_NEWNS: also moves our root and cwd to its root
    print("setns failed", os.strerror(ctypes.get_errno())); sys.exit(1)
os.setgroups([]); os.setgid(uid); os.setuid(uid)
def conn(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
def op(path):
    try:
        os.close(os.open(path, os.O_RDONLY)); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
print("containerd=%s other=%s passwd=%s own-port=%s" % (conn(ctd), conn(other), op("/etc/passwd"), conn("/vsock.sock_7777")))
PY
)
  rm -f "$vdir/vsock.sock_7777"
  note "$s-vsockd's view, as uid ${UID_OF[$s]}: $out"
  [[ $out == "containerd=ENOENT other=ENOENT passwd=ENOENT own-port=ok" ]] && pass "$s-vsockd-cannot-reach-outside" ||
    fail "$s-vsockd-cannot-reach-outside" "$out"
done

# --- 3. delete releases the uid and leaves nothing
u1=${UID_OF[s1]}
remove s1
for _ in $(seq 1 25); do lock_held "$u1" || break; sleep 0.2; done
lock_held "$u1" && fail s1-lease-released "$LOCKS/$u1 still locked after delete" || pass s1-lease-released
left=$(pgrep -u "$u1" -a)
[[ -z $left ]] && pass s1-no-process-left || fail s1-no-process-left "$left"
[[ ! -e $(rundir_of s1) ]] && pass s1-run-dir-gone || fail s1-run-dir-gone "$(find "$(rundir_of s1)" | head -5)"

# --- 4. kill -9 of s2's shim while a process of the sandbox holds its lease
u2=${UID_OF[s2]}
ONE=$CTD_DIR/one.json
shim_write_config "$ONE" 90000 "\"uid_range\": \"$u2-$u2\""
# A copy of QEMU's own lease fd (same open file, as a process QEMU forked would have).
qf=$(lease_fd "${QPID[s2]}" "$u2")
python3 - "${QPID[s2]}" "${qf:-0}" <<'PY' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pidfd = libc.syscall(434, int(sys.argv[1]), 0)          # pidfd_open
fd = libc.syscall(438, pidfd, int(sys.argv[2]), 0)      # pidfd_getfd
if pidfd < 0 or fd < 0:
    sys.exit(1)
time.sleep(300)
PY
HOLDERS+=($!); holder=$!
sleep 0.5
alive "$holder" && pass lease-copy-taken || fail lease-copy-taken "pidfd_getfd on qemu fd '$qf' failed"
spid=$(pgrep -f -- "containerd-shim-cvm-v1 -namespace default -id s2 -address $CTD_SOCK" | head -1)
kill -9 "$spid"
for _ in $(seq 1 100); do alive "${QPID[s2]}" || break; sleep 0.05; done
alive "${QPID[s2]}" && fail s2-qemu-dies-with-shim "qemu ${QPID[s2]} still runs" || pass s2-qemu-dies-with-shim
lock_held "$u2" && pass lease-held-by-surviving-holder || fail lease-held-by-surviving-holder "$LOCKS/$u2 free"
start_sandbox s3 "$ONE"; rc=$?
err=$(cat "$CTD_DIR/s3.err")
[[ $rc -ne 0 && $err == *"every uid of the range is in use"* ]] && pass uid-not-reused-while-held ||
  fail uid-not-reused-while-held "s3 status=$(task_field s3 3) err=$err"
remove s3
kill -9 "$holder"; wait "$holder" 2>/dev/null
if start_sandbox s4 "$ONE"; then
  u4=$(field "$(task_field s4 2)" Uid | awk '{print $1}')
  [[ $u4 == "$u2" ]] && pass uid-reused-once-free || fail uid-reused-once-free "s4 runs as $u4, want $u2"
else
  fail uid-reused-once-free "s4: status=$(task_field s4 3) err=$(cat "$CTD_DIR/s4.err")"
fi
remove s4
# A process running as the uid without any lock (one that dropped its lease) blocks it too.
setpriv --reuid="$u2" --regid="$u2" --clear-groups -- sleep 300 &
HOLDERS+=($!); squatter=$!
sleep 0.3
start_sandbox s5 "$ONE"; rc=$?
err=$(cat "$CTD_DIR/s5.err")
[[ $rc -ne 0 && $err == *"every uid of the range is in use"* ]] && pass uid-not-given-while-a-process-runs-as-it ||
  fail uid-not-given-while-a-process-runs-as-it "s5 status=$(task_field s5 3) err=$err"
remove s5
kill -9 "$squatter"; wait "$squatter" 2>/dev/null
ctr task delete s2 >/dev/null 2>&1; ctr containers delete s2 >/dev/null 2>&1

# --- nothing left
for _ in $(seq 1 25); do [[ -z $(ours) ]] && break; sleep 0.2; done
new=$(ours)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
for u in $(seq $FIRST $LAST); do
  [[ -e $LOCKS/$u ]] && lock_held "$u" && fail "lease-$u-free-at-end" "still locked"
done
shim_log_check
exit $FAILED

#!/usr/bin/env bash
# End-to-end, hostile guest, the virtio-fs share (issue 17 (a); shim/share.h). A privileged
# container that shares the guest's PID namespace reaches the agent's mount of the share through
# /proc/1/root: what it does there is what a compromised guest kernel can ask of virtiofsd.
# It plants links (to a canary directory on the host, outside the share), FIFOs and files at
# every path the host makes for a container (<id>, <id>/rootfs, <id>/mounts/<i>), before the
# host creates that container, racing Create in a loop, and racing Delete. Each time:
#   - the plant is refused (the structure is read-only to the guest) and the canary directory
#     on the host has no new entry and no mount;
#   - the containers still work: rootfs writable from the guest, a ro volume read-only, a rw
#     volume writable; Delete leaves nothing in the host tree.
# Root only. PASS:/FAIL: lines; exit status non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

cleanup() {
  shim_ctd_teardown
  [[ -n ${W:-} ]] && rm -rf "$W"
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail hostile-share "must run as root"; exit 1; }
shim_env_check || exit 1
[[ -x /bin/busybox ]] || { fail hostile-share "/bin/busybox (busybox-static) missing"; exit 1; }

ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
W=$(mktemp -d /tmp/cvm-e2e61.XXXXXX)
CANARY=$W/canary
mkdir -p "$CANARY" "$W/vol-rw" "$W/vol-ro"
echo keep > "$CANARY/keep"
echo ro > "$W/vol-ro/f"
CFG=$W/cvm.json
shim_write_config "$CFG"
G=g61
ours() { shim_footprint_ours "$CTD_SOCK" default "$G"; }

canary_intact() { # $1 = check name
  local extra mnt
  extra=$(find "$CANARY" -mindepth 1 ! -path "$CANARY/keep" 2>/dev/null)
  mnt=$(awk -v c="$CANARY" 'index($5, c) == 1 {print $5}' /proc/self/mountinfo)
  if [[ -z $extra && -z $mnt && $(cat "$CANARY/keep") == keep ]]; then
    pass "$1"
  else
    fail "$1" "canary touched: entries '$extra' mounts '$mnt'"
  fi
}

# The attacker: busybox on a host rootfs, privileged, no PID namespace of its own (it sees the
# agent as pid 1), in the sandbox's VM (group annotation).
R=$W/rootfs
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/etc"
cp /bin/busybox "$R/bin/busybox"
for a in sh ls ln mkdir mkfifo touch mv rm sleep cat echo stat readlink test true; do ln -sf busybox "$R/bin/$a"; done
ctr oci spec > "$W/base.json" 2>/dev/null || { fail attacker-spec "ctr oci spec failed"; exit 1; }
python3 - "$W/base.json" "$W/attacker.json" "$R" "$G" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["root"] = {"path": sys.argv[3], "readonly": False}
s["process"]["args"] = ["sleep", "100000"]
s["process"]["env"] = ["PATH=/bin"]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_MKNOD", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE",
        "CAP_SYS_CHROOT"]
for k in ("bounding", "effective", "permitted"):
    s["process"]["capabilities"][k] = caps
s["linux"]["namespaces"] = [n for n in s["linux"]["namespaces"] if n["type"] != "pid"]
s["linux"].pop("maskedPaths", None)
s["linux"].pop("readonlyPaths", None)
s.setdefault("annotations", {})["io.containerd.cvm.v1.group"] = sys.argv[4]
json.dump(s, open(sys.argv[2], "w"))
PY
timeout 120 ctr run --runtime "$RT" --runtime-config-path "$CFG" --config "$W/attacker.json" -d att \
  >/dev/null 2>"$W/att.err"
if [[ $(task_field att 3) != RUNNING ]]; then
  fail attacker-running "$(cat "$W/att.err") $(grep -iE 'error|fail' "$CTD_DIR/containerd.log" | tail -3)"
  exit 1
fi
pass attacker-running
ax() { timeout 60 ctr task exec --exec-id "x$RANDOM$RANDOM" att "$@"; }
S=/proc/1/root/run/cvm/share/cvmfs
# a container's directory in the share is "<id>.<hex>" (shim/sandbox/share.h)
dir_of() { ax ls "$S" 2>/dev/null | grep -m1 -E "^$1\.[0-9a-f]{16}$"; }
ATT=$(dir_of att)
if [[ -n $ATT ]] && ax ls "$S/$ATT" >"$W/ls.out" 2>&1 && grep -qx rootfs "$W/ls.out"; then
  pass attacker-sees-share
else
  fail attacker-sees-share "$(cat "$W/ls.out")"
fi

# 1. Plant before Create: at the next container's id, its rootfs and volume paths.
plant() { # $1 = check name, $2 = shell command in the attacker; the plant must be refused
  local out
  out=$(ax sh -c "$2 && echo PLANTED" 2>&1)
  if [[ $out == *PLANTED* ]]; then
    fail "$1" "the guest planted it: $out"
  elif [[ $out == *"Read-only file system"* ]]; then
    pass "$1"
  else
    fail "$1" "refused, but not as read-only: $out"
  fi
}
plant plant-link-at-id "ln -s $CANARY $S/v1"
plant plant-fifo-at-id "mkfifo $S/v2"
plant plant-file-at-id "touch $S/v3"
plant plant-dir-at-id "mkdir $S/v4"
plant plant-link-at-own-mounts "ln -s $CANARY $S/$ATT/mounts"
plant replace-own-rootfs "mv $S/$ATT/rootfs $S/$ATT/r2"
plant plant-in-own-dir "touch $S/$ATT/x"
run_victim() { # $1 = id: a container of the same VM with a ro and a rw volume
  timeout 120 ctr run --runtime "$RT" --runtime-config-path "$CFG" \
    --annotation io.containerd.cvm.v1.group=$G \
    --mount "type=bind,src=$W/vol-ro,dst=/ro,options=rbind:ro" \
    --mount "type=bind,src=$W/vol-rw,dst=/rw,options=rbind:rw" \
    -d "$IMG" "$1" sleep 100000 >/dev/null 2>"$W/$1.err"
}
for v in v1 v2 v3 v4; do
  run_victim "$v"
  [[ $(task_field "$v" 3) == RUNNING ]] && pass "$v-created-despite-attack" ||
    fail "$v-created-despite-attack" "$(cat "$W/$v.err")"
done
canary_intact canary-untouched-after-plants

# the victims work as containers: rootfs writable, ro volume read-only, rw volume writable
out=$(timeout 60 ctr task exec --exec-id w1 v1 sh -c 'touch /new && echo rootfs-rw; touch /ro/x 2>&1 | grep -q "Read-only" && echo ro-ro; echo hi > /rw/f && echo rw-rw; cat /ro/f' 2>&1)
[[ $out == *rootfs-rw*ro-ro*rw-rw*ro* ]] && pass victim-mount-modes || fail victim-mount-modes "'$out'"
[[ $(cat "$W/vol-rw/f" 2>/dev/null) == hi ]] && pass rw-volume-reaches-host || fail rw-volume-reaches-host "vol-rw/f missing"
# the attacker cannot replace a victim's host-made entries either
V1=$(dir_of v1)
[[ -n $V1 ]] || fail victim-dir-found "no v1.<hex> in the share: $(ax ls "$S" 2>&1 | tr '\n' ' ')"
plant replace-victim-rootfs "mv $S/$V1/rootfs $S/$V1/old"
plant link-in-victim-mounts "ln -s $CANARY $S/$V1/mounts/9"
plant replace-victim-volume "rm -rf $S/$V1/mounts/0 && ln -s $CANARY $S/$V1/mounts/0"

rm_containers() { # ids: SIGKILL, wait for STOPPED, delete task and container
  local v
  for v in "$@"; do
    ctr task kill -s SIGKILL "$v" >/dev/null 2>&1
    for _ in $(seq 1 50); do [[ $(task_field "$v" 3) == STOPPED ]] && break; sleep 0.2; done
    ctr task delete "$v" >/dev/null 2>&1
    ctr containers delete "$v" >/dev/null 2>&1
  done
}

# 2. Racing Create: the attacker plants at the ids being created and at the names their
# directories get, in a loop, and a second loop looks every published one up as fast as a shell
# can (test is a builtin; the glob is a readdir). A lookup of <dir>/rootfs made before the host
# mounted the rootfs there would be cached by the guest and keep naming the read-only directory
# below the mount (the agent's mounts in that rootfs then fail with EROFS), so the host
# publishes a container's directory only whole.
ax sh -c "while :; do for i in r1 r2 r3; do ln -s $CANARY $S/\$i; mkdir $S/\$i; for d in $S/\$i.*; do ln -s $CANARY \$d/rootfs; mkfifo \$d/mounts; done; done 2>/dev/null; done" \
  >/dev/null 2>&1 &
RACER=$!
ax sh -c "while :; do for d in $S/r[123].*; do [ -d \$d/rootfs ]; [ -e \$d/mounts/0 ]; done; done" \
  >/dev/null 2>&1 &
LOOKER=$!
for v in r1 r2 r3; do
  run_victim "$v"
  [[ $(task_field "$v" 3) == RUNNING ]] && pass "$v-created-while-racing" ||
    fail "$v-created-while-racing" "$(cat "$W/$v.err")"
done
canary_intact canary-untouched-racing-create

# 3. Racing Delete: the same while the containers go.
rm_containers r1 r2 r3 v1 v2
kill "$RACER" "$LOOKER" 2>/dev/null; wait "$RACER" "$LOOKER" 2>/dev/null
canary_intact canary-untouched-racing-delete
# what the host made for the deleted containers is gone, host tree and view alike
run_dir=$(find /run/cvm -maxdepth 1 -name "$(printf '%s' "$CTD_SOCK/default/$G" | sha256sum | cut -c1-16)*" | head -1)
left=$(ls "$run_dir/mounts" "$run_dir/shared" 2>&1 | tr '\n' ' ')
if [[ -n $run_dir && -d $run_dir/mounts ]] && ! ls "$run_dir/mounts" | grep -qE '^(r[123]|v[12])\.'; then
  pass deleted-containers-removed
else
  fail deleted-containers-removed "run dir '$run_dir': $left"
fi
# v3 and v4 still run after all that
out=$(timeout 60 ctr task exec --exec-id e3 v3 echo still-here 2>&1)
[[ $out == still-here ]] && pass survivors-work || fail survivors-work "'$out'"

# 4. Teardown of the whole sandbox while the attacker plants: nothing outside is touched.
ax sh -c "while :; do ln -s $CANARY $S/z 2>/dev/null; done" >/dev/null 2>&1 &
RACER=$!
sleep 1
rm_containers v3 v4 att
kill "$RACER" 2>/dev/null; wait "$RACER" 2>/dev/null
canary_intact canary-untouched-after-teardown
[[ $(cat "$W/vol-ro/f") == ro && -f $W/vol-rw/f ]] && pass volumes-intact || fail volumes-intact "volume contents changed"
for _ in $(seq 1 25); do [[ -z $(ours) ]] && break; sleep 0.2; done
new=$(ours)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
shim_log_check
exit $FAILED

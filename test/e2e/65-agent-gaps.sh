#!/usr/bin/env bash
# What the agent does as runc does, under a private containerd 1.6.20, runc and cvm in the same
# run (issue 23):
#  - a container that shares a pid namespace (here: joins another container's by path, as
#    CRI's shareProcessNamespace does) loses every other process of its cgroup when its init is
#    killed, before its exit is reported (containerd's TestContainerKillInitPidHost; with a pid
#    namespace of its own the kernel does it);
#  - linux.devices (ctr --device, what device plugins and CDI add): a device the guest kernel
#    has (/dev/fuse) is made as under runc, with the same numbers, mode and cgroup rules; one it
#    cannot have fails Create naming it;
#  - linux.resources.devices: a device the rules do not allow cannot be made, as under runc.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh

trap shim_ctd_teardown EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-agent-gaps "must run as root"; exit 1; }
shim_env_check || exit 1
command -v runc >/dev/null || { fail e2e-agent-gaps "runc is not installed (make setup)"; exit 1; }
[[ -c /dev/fuse ]] || { fail e2e-agent-gaps "the host has no /dev/fuse to hand to ctr --device"; exit 1; }

ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
G=(--annotation io.containerd.cvm.v1.group=g65)
RUN_cvm=(ctr run --runtime "$RT" --runtime-config-path "$CFG" "${G[@]}")
RUN_runc=(ctr run --runtime io.containerd.runc.v2)

wait_status() { # $1 = task, $2 = status, $3 = tries of 0.1 s
  for _ in $(seq 1 "${3:-300}"); do [[ $(task_field "$1" 3) == "$2" ]] && return 0; sleep 0.1; done
  return 1
}
n=0
xps() { # $1 = task: its pid namespace's process list, one exec each time
  n=$((n + 1))
  timeout 60 ctr task exec --exec-id "ps$n" "$1" ps -o pid,args 2>&1
}

# --- 1. init killed in a shared pid namespace: its children go with it
for rt in runc cvm; do
  eval "run=(\"\${RUN_$rt[@]}\")"
  timeout 120 "${run[@]}" -d "$IMG" "pa-$rt" sleep 100000 >/dev/null 2>&1
  pid=$(task_field "pa-$rt" 2)
  if ! wait_status "pa-$rt" RUNNING 10; then fail "kill-init-shared-pidns-$rt" "pa-$rt did not start: $(tail -3 "$CTD_DIR/containerd.log")"; continue; fi
  out=$(timeout 120 "${run[@]}" -d --with-ns "pid:/proc/$pid/ns/pid" "$IMG" "pb-$rt" sh -c 'sleep 4242; echo hi' 2>&1)
  if ! wait_status "pb-$rt" RUNNING 10; then fail "kill-init-shared-pidns-$rt" "pb-$rt did not start: $out"; continue; fi
  for _ in $(seq 1 50); do xps "pa-$rt" | grep -q 'sleep 4242' && break; sleep 0.2; done
  before=$(xps "pa-$rt")
  ctr task kill -s SIGKILL "pb-$rt"
  wait_status "pb-$rt" STOPPED 300 || { fail "kill-init-shared-pidns-$rt" "pb-$rt never stopped"; continue; }
  after=$(xps "pa-$rt") # right after the exit was reported
  if grep -q 'sleep 4242' <<<"$before" && ! grep -q 'sleep 4242' <<<"$after" && grep -q 'sleep 100000' <<<"$after"; then
    pass "kill-init-shared-pidns-$rt"
  else
    fail "kill-init-shared-pidns-$rt" "before: $(tr '\n' ';' <<<"$before") after: $(tr '\n' ';' <<<"$after")"
  fi
  ctr task delete "pb-$rt" >/dev/null 2>&1; ctr containers delete "pb-$rt" >/dev/null 2>&1
done

# --- 2. linux.devices: /dev/fuse as under runc (numbers, mode, owner; opens: the driver is there)
DEVCMD='stat -c "%F %t:%T %a %u:%g" /dev/fuse && exec 3<>/dev/fuse && echo opened'
for rt in runc cvm; do
  eval "run=(\"\${RUN_$rt[@]}\")"
  eval "dev_$rt=\$(timeout 120 \"\${run[@]}\" --rm --device /dev/fuse \"\$IMG\" \"fuse-\$rt\" sh -c \"\$DEVCMD\" 2>&1)"
done
want="character special file a:e5 666 0:0
opened"
[[ $dev_runc == "$want" ]] && pass device-fuse-runc || fail device-fuse-runc "$dev_runc"
[[ $dev_cvm == "$dev_runc" && -n $dev_cvm ]] && pass device-fuse-cvm-as-runc || fail device-fuse-cvm-as-runc "cvm: '$dev_cvm' runc: '$dev_runc'"

# a node whose driver the guest cannot have (an unused major, made on the host for ctr to
# stat): runc makes the node; cvm fails Create naming it, no container is left
mknod "$CTD_DIR/nodev0" c 511 7
for rt in runc cvm; do
  eval "run=(\"\${RUN_$rt[@]}\")"
  out=$(timeout 120 "${run[@]}" --rm --device "$CTD_DIR/nodev0" "$IMG" "nodev-$rt" stat -c '%t:%T' "$CTD_DIR/nodev0" 2>&1); rc=$?
  eval "nodev_out_$rt=\$out nodev_rc_$rt=\$rc"
done
[[ $nodev_rc_runc == 0 && $nodev_out_runc == "1ff:7" ]] && pass device-missing-runc-makes-node || fail device-missing-runc-makes-node "rc=$nodev_rc_runc $nodev_out_runc"
if [[ $nodev_rc_cvm != 0 && $nodev_out_cvm == *"$CTD_DIR/nodev0 (c 511:7)"*"guest kernel has no such device"* ]]; then
  pass device-missing-cvm-refused-naming-it
else
  fail device-missing-cvm-refused-naming-it "rc=$nodev_rc_cvm $nodev_out_cvm"
fi
ctr containers delete nodev-cvm >/dev/null 2>&1
ctr task ls -q | grep -qx nodev-cvm && fail device-missing-no-task-left "nodev-cvm task exists" || pass device-missing-no-task-left

# --- 3. linux.resources.devices: containerd's default rules let any node be made (mknod) but
# opened only where allowed: /dev/fuse's numbers are not (the guest has the driver, so only
# the rules can refuse it), /dev/null's are. In /dev (tmpfs): the rootfs of a cvm container is
# virtio-fs, where virtiofsd (no CAP_MKNOD, by design) makes no nodes.
RULECMD='mknod /dev/f c 10 229 && echo made; (exec 3<>/dev/f) 2>/dev/null && echo fuse-opened || echo fuse-denied; mknod /dev/n c 1 3 && head -c0 /dev/n && echo null-ok'
for rt in runc cvm; do
  eval "run=(\"\${RUN_$rt[@]}\")"
  eval "rule_$rt=\$(timeout 120 \"\${run[@]}\" --rm \"\$IMG\" \"rule-\$rt\" sh -c \"\$RULECMD\" 2>&1)"
done
[[ $rule_runc == $'made\nfuse-denied\nnull-ok' ]] && pass device-rules-runc || fail device-rules-runc "$rule_runc"
[[ -n $rule_cvm && $(sed 's/^sh: [0-9]*: //' <<<"$rule_cvm") == "$(sed 's/^sh: [0-9]*: //' <<<"$rule_runc")" ]] && pass device-rules-cvm-as-runc || fail device-rules-cvm-as-runc "cvm: '$rule_cvm' runc: '$rule_runc'"

shim_log_check

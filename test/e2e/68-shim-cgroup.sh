#!/usr/bin/env bash
# 68-shim-cgroup: runc's ShimCgroup option, as containerd v1.6.20's own client test
# TestShimInCgroup (integration/client) uses it, for runc and cvm in the same run on one private
# containerd 1.6.20:
#   1. a cgroup path made beforehand in every hierarchy (cgroup v1: every mounted v1 hierarchy,
#      as cgroup1.New(StaticPath) makes it; v2: the one), a container, and Tasks.Create with
#      WithShimCgroup's options (test/drivers/ctd_task.py: containerd.runc.v1.Options for
#      runc, containerd.linux.runc.CreateOptions for cvm, as the Go client picks by runtime
#      name); right after Create returns, every hierarchy's cgroup.procs of that path holds
#      the runtime's shim daemon and nothing else (the client test counts the devices one)
#   2. a shim_cgroup that exists nowhere: runc's shim refuses it in `start` (it joins the
#      cgroup there, before containerd sends Create), and so must ours: the failure comes back
#      through containerd's shim-start error ("exit status 1"), not as a Create error, naming
#      the path, and no daemon of that task is left
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
TOP=cvm68x$$
WORK=
cleanup() {
  shim_ctd_teardown
  # our own cgroup trees only (named with our pid), deepest first
  find /sys/fs/cgroup/ /sys/fs/cgroup/*/ -maxdepth 1 -name "$TOP" -type d 2>/dev/null |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  [[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail e2e-shim-cgroup "must run as root"; exit 1; }
shim_env_check || exit 1
command -v runc >/dev/null || { fail e2e-shim-cgroup "runc is not installed (make setup)"; exit 1; }
CRI_PY=/usr/bin/python3 # Debian's python3: python3-grpcio and python3-grpc-tools live there
"$CRI_PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
  { fail e2e-shim-cgroup "python3-grpcio / python3-grpc-tools missing (make setup)"; exit 1; }
WORK=$(mktemp -d /tmp/cvm-68.XXXXXX)

# ---- the hierarchies a cgroup path lives in: v2, the one; v1, every mounted v1 hierarchy
HIER=()
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  HIER=(/sys/fs/cgroup)
  note "host cgroup v2: the path is made and counted in its one hierarchy"
else
  while read -r mnt; do HIER+=("$mnt"); done < <(awk '{for (i = 7; $i != "-"; i++); if ($(i + 1) == "cgroup") print $5}' /proc/self/mountinfo)
  note "host cgroup v1 (v2 only as the hybrid 'unified' mount, which cgroup1 and runc's shim leave alone): the path is made and counted in every v1 hierarchy: ${HIER[*]##*/}; the v2 case runs where the host is v2 (not here)"
fi
[[ ${#HIER[@]} -gt 0 ]] || { fail e2e-shim-cgroup "no cgroup hierarchy is mounted"; exit 1; }

cg_make() { # $1 = path: mkdir -p in every hierarchy, cpuset levels get their parent's cpus/mems
  local h d rel parent f
  for h in "${HIER[@]}"; do
    d=$h
    for rel in ${1//\// }; do
      parent=$d; d=$d/$rel
      mkdir -p "$d" || return 1
      for f in cpuset.cpus cpuset.mems; do
        [[ -f $d/$f && -z $(cat "$d/$f") ]] && cat "$parent/$f" > "$d/$f"
      done
    done
  done
  return 0
}

ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
DRV=("$CRI_PY" test/drivers/ctd_task.py -a "unix://$CTD_SOCK" -n default)

declare -A RTN=([runc]=io.containerd.runc.v2 [cvm]=$RT)
declare -A SHIMEXE=([runc]=containerd-shim-runc-v2 [cvm]=containerd-shim-cvm-v1)

# ---- 1. TestShimInCgroup: the shim is in the path in every hierarchy after Create returns
for t in runc cvm; do
  id=sc-$t path=/$TOP/$t-shim
  cg_make "$path" || { fail "$t-shim-cgroup-made" "mkdir $path"; continue; }
  # cvm: no runtime config, as the client test has none (the request's options are runc's):
  # the shim's default config and its own kernel and initrd
  ctr containers create --runtime "${RTN[$t]}" "$IMG" "$id" sleep 30 >/dev/null 2>&1 ||
    { fail "$t-shim-cgroup-container" "ctr containers create failed"; continue; }
  out=$(timeout 300 "${DRV[@]}" create "$id" "${RTN[$t]}" "$path" 2>&1); rc=$?
  # read at once, the task created and not started (as the client test counts)
  bad= seen=
  for h in "${HIER[@]}"; do
    procs=$(tr '\n' ' ' < "$h$path/cgroup.procs" 2>/dev/null)
    ok=
    for p in $procs; do
      exe=$(basename "$(readlink "/proc/$p/exe" 2>/dev/null)")
      if [[ $exe == "${SHIMEXE[$t]}" ]] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q -- "-id $id "; then ok=1; else bad+="${h##*/}: pid $p ($exe) is not $t's shim of $id; "; fi
    done
    [[ -n $ok ]] || bad+="${h##*/}: no shim in $h$path (cgroup.procs '$procs'); "
    seen+="${h##*/}=[${procs% }] "
  done
  note "$t: Tasks.Create with shim_cgroup $path: rc=$rc $out; cgroup.procs per hierarchy: $seen"
  if [[ $rc -ne 0 ]]; then
    fail "$t-shim-in-cgroup-every-hierarchy" "Create failed: $out"
  elif [[ -n $bad ]]; then
    fail "$t-shim-in-cgroup-every-hierarchy" "$bad"
  else
    pass "$t-shim-in-cgroup-every-hierarchy"
  fi
  ctr task kill -s SIGKILL "$id" >/dev/null 2>&1
  for _ in $(seq 1 50); do [[ $(task_field "$id" 3) == STOPPED || -z $(task_field "$id" 3) ]] && break; sleep 0.2; done
  ctr task delete "$id" >/dev/null 2>&1; ctr containers delete "$id" >/dev/null 2>&1
done

# ---- 2. a shim_cgroup found nowhere: refused by the shim's start, as runc's shim refuses it
for t in runc cvm; do
  id=sm-$t path=/$TOP/$t-missing
  ctr containers create --runtime "${RTN[$t]}" "$IMG" "$id" sleep 30 >/dev/null 2>&1 ||
    { fail "$t-shim-cgroup-container" "ctr containers create failed"; continue; }
  out=$(timeout 300 "${DRV[@]}" create "$id" "${RTN[$t]}" "$path" 2>&1); rc=$?
  note "$t: shim_cgroup $path (nowhere): rc=$rc $out"
  # containerd 1.6 runtime/v2/binary.go: a failed start comes back as "<its output>: exit status N"
  if [[ $rc -ne 0 && $out == *"failed to start shim"*"$path"*"exit status 1"* ]]; then
    pass "$t-missing-shim-cgroup-refused-at-start"
  else
    fail "$t-missing-shim-cgroup-refused-at-start" "rc=$rc: $out"
  fi
  sleep 0.5
  left=$(pgrep -f -- "${SHIMEXE[$t]} .*-id $id( |$)")
  [[ -z $left ]] && pass "$t-refused-start-leaves-no-daemon" || fail "$t-refused-start-leaves-no-daemon" "pids $left"
  ctr containers delete "$id" >/dev/null 2>&1
done

shim_log_check

#!/usr/bin/env bash
# Docker 20.10 through cvm-runtime beyond run/exec/stop (70-docker.sh), runc beside it in the
# same private dockerd, results compared: `-v` bind volumes rw and ro, `--network bridge` with
# `-p` publishing reached from the test's netns (Docker's own libnetwork: docker0 there, the
# veth arriving through the prestart hook libnetwork-setkey; docker-proxy on 127.0.0.1 and the
# iptables DNAT on the bridge's address), `docker network connect` of a second network to a
# created container, `pause`/`unpause`, `top`, `update --memory --cpus`, `run --cpus --memory`
# (under cvm the VM's vCPUs and RAM too), `--user --workdir -e --hostname`; then a SIGKILLed shim
# daemon mid-run leaving nothing (processes, run dirs, mounts, state, uid lease) after `rm -f`.
set -uo pipefail
cd "$(dirname "$0")/../.."
source test/e2e/lib-docker.sh

trap 'dockerd_stop' EXIT
dockerd_start || exit 1
read -r -a RUNTIMES <<< "${RUNTIMES:-runc cvm}" # RUNTIMES=cvm: only our half (a deliberately broken build)
declare -A got
NET2=cvmdk2net$$
NET2_V4=10.233.0
PORT=18080
GW=${DK_BIP%/*} # docker0's address in DK_NS

# retry a fetch from "the host" (DK_NS) until it answers (the server may still be starting)
fetch() { # $1 url -> body
  local o
  for _ in $(seq 1 40); do
    o=$(dkhost curl -sS -m 5 "$1" 2>/dev/null) && { printf '%s' "$o"; return 0; }
    sleep 0.5
  done
  return 1
}
# packets through Docker's DNAT rule for the published port (iptables in DK_NS only)
dnat_count() { dkhost iptables -t nat -nvxL DOCKER | awk -v p="dpt:$PORT" '/DNAT/ && $0 ~ p {n += $1} END {print n + 0}'; }
# the container's own cgroup: memory limit and cpu quota/period (cgroup v2 in our guest, where
# the container sees the guest's tree and its cgroup is named in /proc/self/cgroup; v1 under
# runc on this host, the container's own cgroup mounted at /sys/fs/cgroup/<controller>)
CG='if [ -f /sys/fs/cgroup/cgroup.controllers ]; then d=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup);
  echo "mem=$(cat $d/memory.max) cpu=$(cat $d/cpu.max)";
else echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi'

dk network create --subnet "$NET2_V4.0/24" "$NET2" >/dev/null ||
  fail docker-network-create "docker network create $NET2 failed"

ALL_IDS=()
for rt in "${RUNTIMES[@]}"; do
  # --- -v: a rw bind volume the container writes, a ro one it reads and cannot write
  V=$DK_DIR/vol-$rt
  mkdir -p "$V/rw" "$V/ro" && echo from-host > "$V/ro/in"
  o=$(dk run --rm --runtime "$rt" --network none -v "$V/rw:/rw" -v "$V/ro:/ro:ro" "$IMG" sh -c \
      'echo from-container > /rw/out && cat /ro/in; if echo x 2>/dev/null > /ro/new; then echo ro-written; else echo ro-refused; fi' 2>&1)
  h=$(cat "$V/rw/out" 2>&1)
  got[vol-$rt]="$(printf '%s' "$o" | tr '\n' ' ')| host sees: $h | ro/new $([[ -e $V/ro/new ]] && echo exists || echo absent)"
  if [[ $o == $'from-host\nro-refused' && $h == from-container && ! -e $V/ro/new ]]; then pass "volume-rw-ro-$rt"
  else fail "volume-rw-ro-$rt" "${got[vol-$rt]}"; fi

  # --- --network bridge -p: published from the host through docker-proxy and iptables DNAT
  c=$(dk run -d --runtime "$rt" --network bridge -p "$PORT:80" "$IMG" sh -c \
      'mkdir /www && echo "served-by-$(hostname)" > /www/index.html && echo ready && exec httpd -f -p 80 -h /www')
  ALL_IDS+=("$c")
  if ! wait_log "$c" ready; then
    fail "publish-proxy-$rt" "container did not start: $(dk logs "$c" 2>&1 | tail -3)"
    fail "publish-dnat-$rt" "container did not start"
  else
    want="served-by-${c:0:12}"
    o=$(fetch "http://127.0.0.1:$PORT/")
    if [[ $o == "$want" ]]; then pass "publish-proxy-$rt"; else fail "publish-proxy-$rt" "127.0.0.1:$PORT answered '$o', want $want"; fi
    got[proxy-$rt]=${o%-*}
    # docker-proxy listens on every address too: the DNAT rule's packet count shows the path
    n0=$(dnat_count); o=$(fetch "http://$GW:$PORT/"); n1=$(dnat_count)
    if [[ $o == "$want" && $n1 -gt $n0 ]]; then pass "publish-dnat-$rt"
    else fail "publish-dnat-$rt" "$GW:$PORT answered '$o', want $want; DNAT rule packets $n0 -> $n1"; fi
    got[dnat-$rt]=${o%-*}
  fi
  dk rm -f "$c" >/dev/null

  # --- network connect of a second network to a created container: both reached from the host
  c=$(dk create --runtime "$rt" --network bridge "$IMG" sh -c \
      'mkdir /www && echo net-ok > /www/index.html &&
       echo nets $(ip -4 -o addr show | awk "\$2 != \"lo\" {print \$4}" | sort | tr "\n" " ") && exec httpd -f -p 80 -h /www')
  ALL_IDS+=("$c")
  dk network connect "$NET2" "$c" && dk start "$c" >/dev/null
  a1=$(dk inspect -f '{{(index .NetworkSettings.Networks "bridge").IPAddress}}' "$c")
  a2=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$NET2\").IPAddress}}" "$c")
  if wait_log "$c" nets && [[ $(fetch "http://$a1/") == net-ok && $(fetch "http://$a2/") == net-ok ]] &&
     dk logs "$c" 2>&1 | grep -q -- "$NET2_V4\."; then
    pass "network-connect-$rt"
  else
    fail "network-connect-$rt" "bridge $a1, $NET2 $a2; container: $(dk logs "$c" 2>&1 | tail -3 | tr '\n' ' ')"
  fi
  got[connect-$rt]=$(dk logs "$c" 2>&1 | grep nets | sed "s/$NET2_V4\.[0-9]*/NET2/; s/${GW%.*}\.[0-9]*/BRIDGE/")
  dk rm -f "$c" >/dev/null

  # --- pause/unpause (the ticks stop, then go on), top, update --memory --cpus
  c=$(dk run -d --runtime "$rt" --network none "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done')
  ALL_IDS+=("$c")
  if wait_log "$c" "tick 3"; then
    dk pause "$c" >/dev/null
    st=$(dk inspect -f '{{.State.Status}}' "$c")
    sleep 0.5
    n1=$(dk logs "$c" 2>&1 | wc -l); sleep 2; n2=$(dk logs "$c" 2>&1 | wc -l)
    dk unpause "$c" >/dev/null
    st2=$(dk inspect -f '{{.State.Status}}' "$c")
    sleep 2; n3=$(dk logs "$c" 2>&1 | wc -l)
    got[pause-$rt]="$st $([[ $n1 -eq $n2 ]] && echo still || echo moving) $st2 $([[ $n3 -gt $n2 ]] && echo moving || echo still)"
    if [[ ${got[pause-$rt]} == "paused still running moving" ]]; then pass "pause-unpause-$rt"
    else fail "pause-unpause-$rt" "${got[pause-$rt]} (lines $n1 $n2 $n3)"; fi
  else
    fail "pause-unpause-$rt" "container did not start: $(dk logs "$c" 2>&1 | tail -3)"
  fi
  # top: Docker runs the host's ps and keeps the rows of the pids the runtime names; the
  # container's pid (.State.Pid: runc's init, our monitor) is among them
  pid=$(dk inspect -f '{{.State.Pid}}' "$c")
  t=$(dk top "$c" -o pid,args 2>&1)
  if [[ $pid -gt 0 ]] && printf '%s\n' "$t" | awk 'NR > 1 {print $1}' | grep -qx "$pid"; then pass "top-$rt"
  else fail "top-$rt" "pid $pid not in: $(printf '%s' "$t" | tr '\n' ' ')"; fi
  got[top-$rt]=$(printf '%s\n' "$t" | head -1)
  # update: the limits reach the container's cgroup
  if dk update --memory 256m --memory-swap 512m --cpus 1 "$c" >/dev/null; then
    got[update-$rt]=$(dk exec "$c" sh -c "$CG" 2>&1 | tr -s ' ')
  else
    got[update-$rt]="update failed"
  fi
  if [[ ${got[update-$rt]} == "mem=268435456 cpu=100000 100000" ]]; then pass "update-$rt"
  else fail "update-$rt" "${got[update-$rt]}"; fi
  dk rm -f "$c" >/dev/null

  # --- --cpus/--memory at run: the container's cgroup; under cvm also the VM's size (2 vCPUs,
  # the guest RAM raised from the default 256 MiB to the limit)
  o=$(dk run --rm --runtime "$rt" --network none --cpus 2 -m 512m "$IMG" sh -c \
      "$CG; echo cpus=\$(nproc) memtotal_mib=\$(awk '/^MemTotal/ {print int(\$2 / 1024)}' /proc/meminfo)" 2>&1)
  got[size-$rt]=$(printf '%s\n' "$o" | head -1 | tr -s ' ')
  if [[ ${got[size-$rt]} == "mem=536870912 cpu=200000 100000" ]]; then pass "run-cpus-memory-cgroup-$rt"
  else fail "run-cpus-memory-cgroup-$rt" "$(printf '%s' "$o" | tr '\n' ' ')"; fi
  if [[ $rt == cvm ]]; then
    m=$(printf '%s' "$o" | sed -n 's/.*memtotal_mib=\([0-9]*\).*/\1/p')
    if [[ $o == *cpus=2* && ${m:-0} -gt 400 && ${m:-0} -le 512 ]]; then pass "run-cpus-memory-size-vm"
    else fail "run-cpus-memory-size-vm" "want 2 vCPUs and 400-512 MiB: $(printf '%s' "$o" | tail -1)"; fi
  fi

  # --- --user, --workdir, -e, --hostname (and the HOSTNAME Docker sets)
  got[opts-$rt]=$(dk run --rm --runtime "$rt" --network none --user 1000:1000 --workdir /tmp -e FOO=bar \
      --hostname hname "$IMG" sh -c 'echo "$(id) $(pwd) $FOO $HOSTNAME $(hostname)"' 2>&1)
  if [[ ${got[opts-$rt]} == "uid=1000 gid=1000 groups=1000 /tmp bar hname hname" ]]; then pass "run-user-workdir-env-hostname-$rt"
  else fail "run-user-workdir-env-hostname-$rt" "${got[opts-$rt]}"; fi
done

# --- the same answers from both runtimes
for k in vol proxy dnat connect pause top update size opts; do
  if [[ -n ${got[$k-runc]:-} && ${got[$k-runc]} == "${got[$k-cvm]:-unset}" ]]; then pass "cvm-same-as-runc-$k"
  else fail "cvm-same-as-runc-$k" "runc: ${got[$k-runc]:-unset} cvm: ${got[$k-cvm]:-unset}"; fi
done

# --- SIGKILL of the shim daemon mid-run (a container with a volume and a published port):
# Docker sees the exit (255: the status is lost with the daemon), rm -f leaves nothing
V=$DK_DIR/vol-kill && mkdir -p "$V"
c=$(dk run -d --runtime cvm --network bridge -p "$PORT:80" -v "$V:/v" "$IMG" sh -c 'echo up; while :; do sleep 1; done')
ALL_IDS+=("$c")
if wait_log "$c" up; then
  shim=$(pgrep -f "containerd-shim-cvm-v1 -namespace cvm-runtime -id $c")
  CVM_UIDS=$(cvm_vm_uid "$c")
  kill -9 $shim
  ec=$(timeout 60 "$DOCKER_CLI" -H "unix://$DK_SOCK" wait "$c")
  dk rm -f "$c" >/dev/null
  left=$(cvm_footprint "$c")
  # the monitor loses its Wait with the daemon: the status is unknown, 255 (README)
  if [[ -n $shim && -n $CVM_UIDS && $ec == 255 && -z $left ]]; then pass "shim-killed-leaves-nothing"
  else fail "shim-killed-leaves-nothing" "shim '${shim:-none}', VM uid ${CVM_UIDS:-none seen}, exit '$ec'; left: $left"; fi
else
  fail "shim-killed-leaves-nothing" "container did not start: $(dk logs "$c" 2>&1 | tail -3)"
fi

left=$(cvm_footprint "${ALL_IDS[@]}")
if [[ -z $left ]]; then pass "rm-leaves-nothing"; else fail "rm-leaves-nothing" "$left"; fi
dk network rm "$NET2" >/dev/null 2>&1
exit "$FAILED"

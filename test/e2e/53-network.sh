#!/usr/bin/env bash
# 53-network: the sandbox's CNI interfaces reach the guest, with the real CNI plugins
# (containernetworking-plugins: bridge, host-local, portmap) and the real ctr, compared with
# runc in the same run. Everything happens in a network namespace of the test's own ("the
# host" below): containerd, the shims, QEMU, the hooks and the CNI bridge live there; the
# machine's own network is never touched.
#   - ctr run --cni (CNI after the VM booted, before Start: the spare NIC): the container has
#     the addresses CNI allocated, IPv4 and IPv6, the same layout/MTU/routes as under runc
#   - a busybox httpd in the container is reached from the host over IPv4 and IPv6; the
#     container reaches the bridge gateway both ways; a second sandbox reaches the first
#   - portmap: a hostPort on the host reaches the container
#   - a netns made before the sandbox (as CRI does), joined with --with-ns: its interface gets a
#     NIC at boot; after delete no tap, qdisc or filter of ours is left in it
#   - OCI hooks: a createRuntime hook that runs CNI itself in /proc/<pid>/ns/net (what nerdctl
#     does) gives the container a working network; a failing hook fails Create with its message
#   - nothing left behind
# Root only. PASS:/FAIL:/NOTE: lines; never skips.
set -u
cd "$(dirname "$0")/../.."
source test/e2e/lib-shim.sh
source test/e2e/lib-net.sh
NS=$NET_NS
BR=$NET_BR
POD=cvmpod$$
cleanup() {
  shim_ctd_teardown
  ip netns del "$POD" 2>/dev/null
  rm -rf "/var/lib/cni/networks/cvmhook$$"
  net_teardown
}
trap cleanup EXIT
[[ $(id -u) -eq 0 ]] || { fail network "must run as root"; exit 1; }
shim_env_check || exit 1
net_setup || exit 1
ctd_start || exit 1
shim_use_ctd
shim_import_image || { fail image-import "ctr images import failed"; exit 1; }
CFG=$CTD_DIR/cvm.json
shim_write_config "$CFG"
RT_ARGS=(--runtime "$RT" --runtime-config-path "$CFG")
host() { nhost "$@"; }
addr_of() { # $1 task, $2 4|6: the global address of eth0
  ctr task exec --exec-id "a$2$RANDOM" "$1" ip -o -"$2" addr show dev eth0 scope global 2>/dev/null |
    awk '{print $4}' | cut -d/ -f1 | head -1
}
wait_running() { for _ in $(seq 1 150); do [[ $(task_field "$1" 3) == RUNNING ]] && return 0; sleep 0.2; done; return 1; }
# The layout to compare with runc: interface names and MTUs, addresses (family, prefix, scope)
# and routes, with the values CNI allocated masked. Left out on purpose: the device's own
# traits (a veth has qdisc noqueue and M-DOWN, a virtio NIC fq_codel and qlen 1000) and the
# IPv6 "flags 02" (nodad: the agent skips DAD, the address is usable at once).
layout() {
  ctr task exec --exec-id "l$RANDOM" "$1" sh -c 'ip -o link; ip -o addr; ip route; ip -6 route' 2>&1 |
    sed -E 's/^[0-9]+: //; s/@if[0-9]+//; s/^([^ :]+): <[^>]*> (mtu [0-9]+) .*/link \1 \2/;
            s/(inet6? )[0-9a-f.:]+/\1A/g; s/valid_lft [^ ]+ preferred_lft [^ ]+//; s/ flags 02//;
            s/src [0-9a-f.:]+/src A/; s/proto kernel //; s/ +/ /g; s/[ \\]+$//' |
    grep -v -E 'fe80::|inet6 A/64 scope link' | sort
}
HTTPD='mkdir -p /www && echo hello-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www'

# --- 1. ctr run --cni: runc first, then cvm, same network
nctr run --cni -d "$IMG" rnet1 sh -c "$HTTPD" >/dev/null 2>&1
wait_running rnet1 || fail runc-cni-run "runc rnet1 not running"
t0=$(date +%s%N)
out=$(nctr run --cni -d "${RT_ARGS[@]}" "$IMG" cnet1 sh -c "$HTTPD" 2>&1); rc=$?
wait_running cnet1 && pass cvm-cni-run || fail cvm-cni-run "rc=$rc out=$out $(grep -m3 'level=error' "$CTD_DIR/containerd.log")"
note "ctr run --cni -d (boot included): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
c4=$(addr_of cnet1 4); c6=$(addr_of cnet1 6); r4=$(addr_of rnet1 4); r6=$(addr_of rnet1 6)
note "cvm eth0: $c4 $c6; runc eth0: $r4 $r6"
[[ $c4 == 10.231.0.* && $c6 == fd00:231::* ]] && pass cni-addresses-in-guest || fail cni-addresses-in-guest "v4='$c4' v6='$c6'"
lc=$(layout cnet1); lr=$(layout rnet1)
note "layout (cvm): $(echo "$lc" | tr "\n" "|")"
if [[ $lc == "$lr" ]]; then pass layout-same-as-runc; else
  fail layout-same-as-runc "$(diff <(echo "$lr") <(echo "$lc") | tr '\n' '|')"; fi

# --- 2. reachability
get() { # $1 URL host part: from the test's host netns, retried (the bridge's IPv6 does DAD)
  local i out
  for i in $(seq 1 20); do
    # (busybox 1.35's wget -T segfaults: bound it with timeout instead)
    out=$(host timeout 5 busybox wget -q -O - "http://$1:8080/" 2>/dev/null) && { echo "$out"; return 0; }
    sleep 0.5
  done
  return 1
}
[[ $(get "$c4") == hello-* ]] && pass host-to-container-ipv4 || fail host-to-container-ipv4 "wget http://$c4:8080/ failed"
[[ $(get "[$c6]") == hello-* ]] && pass host-to-container-ipv6 || fail host-to-container-ipv6 "wget http://[$c6]:8080/ failed"
ctr task exec --exec-id g4 cnet1 ping -c 1 -W 3 10.231.0.1 >/dev/null 2>&1 && pass container-to-gateway-ipv4 ||
  fail container-to-gateway-ipv4 "$(ctr task exec --exec-id g4b cnet1 ping -c 1 -W 3 10.231.0.1 2>&1 | tail -2)"
ok=0
for _ in 1 2 3 4 5; do ctr task exec --exec-id "g6$RANDOM" cnet1 ping -6 -c 1 -W 3 fd00:231::1 >/dev/null 2>&1 && { ok=1; break; }; sleep 1; done
[[ $ok -eq 1 ]] && pass container-to-gateway-ipv6 || fail container-to-gateway-ipv6 "ping -6 fd00:231::1 failed"
[[ $(host timeout 5 busybox wget -q -O - "http://10.231.0.1:$NET_HOSTPORT/" 2>/dev/null) == *hello-* ]] &&
  pass portmap-hostport || fail portmap-hostport "hostPort $NET_HOSTPORT not reached ($(host iptables -t nat -S 2>&1 | grep -c "$NET_HOSTPORT") nat rules)"
out=$(nctr run --cni -d "${RT_ARGS[@]}" "$IMG" cnet2 sleep 1000 2>&1)
wait_running cnet2 || fail second-sandbox "cnet2 not running: $out"
[[ $(ctr task exec --exec-id w4 cnet2 timeout 5 wget -q -O - "http://$c4:8080/" 2>&1) == hello-* ]] && pass sandbox-to-sandbox-ipv4 ||
  fail sandbox-to-sandbox-ipv4 "$(ctr task exec --exec-id w4b cnet2 timeout 5 wget -q -O - "http://$c4:8080/" 2>&1)"
ok=0
for _ in 1 2 3 4 5; do [[ $(ctr task exec --exec-id "w6$RANDOM" cnet2 timeout 5 wget -q -O - "http://[$c6]:8080/" 2>&1) == hello-* ]] && { ok=1; break; }; sleep 1; done
[[ $ok -eq 1 ]] && pass sandbox-to-sandbox-ipv6 || fail sandbox-to-sandbox-ipv6 "wget http://[$c6]:8080/ from cnet2 failed"
for t in cnet1 cnet2 rnet1; do ctr task kill -s SIGKILL "$t" >/dev/null 2>&1; done
for t in cnet1 cnet2 rnet1; do for _ in $(seq 1 50); do [[ $(task_field $t 3) == STOPPED ]] && break; sleep 0.2; done; done
for t in cnet1 cnet2 rnet1; do ctr task delete "$t" >/dev/null 2>&1; ctr containers delete "$t" >/dev/null 2>&1; done

# --- 3. a netns made first (as CRI does), joined with --with-ns: the NIC exists at boot
ip netns add "$POD"
ip -n "$POD" link set lo up
ip link add "vp$$" netns "$NS" type veth peer name eth0 netns "$POD"
ip -n "$NS" link set "vp$$" master "$BR" up
ip -n "$POD" addr add 10.231.0.200/24 dev eth0
ip -n "$POD" addr add fd00:231::200/64 dev eth0 nodad
ip -n "$POD" link set eth0 up
ip -n "$POD" route add default via 10.231.0.1
ip -n "$POD" -6 route add default via fd00:231::1
timeout 120 ctr run -d "${RT_ARGS[@]}" --with-ns "network:/run/netns/$POD" "$IMG" cpod1 sh -c "$HTTPD" >/dev/null 2>&1
wait_running cpod1 && pass with-ns-run || fail with-ns-run "$(grep -m3 'level=error' "$CTD_DIR/containerd.log")"
[[ $(addr_of cpod1 4) == 10.231.0.200 && $(addr_of cpod1 6) == fd00:231::200 ]] && pass with-ns-addresses ||
  fail with-ns-addresses "v4=$(addr_of cpod1 4) v6=$(addr_of cpod1 6)"
[[ $(get 10.231.0.200) == hello-* && $(get "[fd00:231::200]") == hello-* ]] && pass with-ns-reachable || fail with-ns-reachable "wget to .200 failed"
[[ $(ip -n "$POD" -o link | grep -c cvmtap) -ge 1 && $(tc -n "$POD" filter show dev eth0 ingress | grep -c mirred) -ge 1 ]] &&
  pass with-ns-tc-redirect || fail with-ns-tc-redirect "$(ip -n "$POD" -o link | awk '{print $2}' | tr '\n' ' ') $(tc -n "$POD" filter show dev eth0 ingress)"
ctr task kill -s SIGKILL cpod1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field cpod1 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete cpod1 >/dev/null 2>&1; ctr containers delete cpod1 >/dev/null 2>&1
# the shim takes its plumbing off when it stops the VM, right after the last Delete: poll
for _ in $(seq 1 50); do
  left="$(ip -n "$POD" -o link | grep cvmtap)$(tc -n "$POD" qdisc show dev eth0 | grep -E 'ingress|clsact')$(tc -n "$POD" filter show dev eth0 ingress)"
  [[ -z $left ]] && break
  sleep 0.2
done
[[ -z $left && $(ip -n "$POD" -o link | wc -l) -eq 2 ]] && pass with-ns-nothing-left || fail with-ns-nothing-left "$left $(ip -n "$POD" -o link)"

# --- 4. OCI hooks: createRuntime runs CNI itself on /proc/<pid>/ns/net (nerdctl's way)
cat > "$CTD_DIR/hook-net.json" <<JSON
{"cniVersion": "1.0.0", "name": "cvmhook$$", "type": "bridge", "bridge": "$BR", "isGateway": true,
 "ipMasq": false, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.231.0.0/24", "rangeStart": "10.231.0.100", "rangeEnd": "10.231.0.150"}]],
 "routes": [{"dst": "0.0.0.0/0"}]}}
JSON
cat > "$CTD_DIR/cni-hook.sh" <<SH
#!/bin/sh
# OCI state on stdin: take the pid, run the bridge plugin in that process's netns
pid=\$(/bin/busybox sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
CNI_COMMAND=ADD CNI_CONTAINERID=hook\$pid CNI_NETNS=/proc/\$pid/ns/net CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
  /usr/lib/cni/bridge < $CTD_DIR/hook-net.json > $CTD_DIR/hook-result.json
SH
chmod +x "$CTD_DIR/cni-hook.sh"
printf '127.0.0.1 localhost\n10.231.0.77 cvm-peer\n' > "$CTD_DIR/etc-hosts"
printf 'nameserver 10.231.0.53\nsearch cvm.test\n' > "$CTD_DIR/etc-resolv.conf"
echo cvm-hook-host > "$CTD_DIR/etc-hostname"
# ctr run --config takes a whole spec (root.path an absolute directory): a busybox rootfs
mkdir -p "$CTD_DIR/hookroot/bin" "$CTD_DIR/hookroot/proc" "$CTD_DIR/hookroot/sys" "$CTD_DIR/hookroot/dev" "$CTD_DIR/hookroot/etc"
cp /bin/busybox "$CTD_DIR/hookroot/bin/busybox"
for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$CTD_DIR/hookroot/bin/$a"; done
ctr oci spec > "$CTD_DIR/spec.json"
python3 - "$CTD_DIR" <<'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/spec.json"))
s["process"]["args"] = ["sh", "-c", "mkdir -p /www && echo hello-hook > /www/index.html && exec httpd -f -p 8080 -h /www"]
s["process"]["terminal"] = False
s["root"] = {"path": d + "/hookroot", "readonly": False}
ok = json.loads(json.dumps(s))
ok["hooks"] = {"createRuntime": [{"path": d + "/cni-hook.sh", "args": ["cni-hook.sh"]}]}
# names and DNS the way CRI and nerdctl supply them: the spec's hostname, file bind mounts
ok["hostname"] = "cvm-hook-host"
for f in ("hosts", "resolv.conf", "hostname"):
    ok["mounts"].append({"destination": "/etc/" + f, "type": "bind", "source": d + "/etc-" + f,
                         "options": ["rbind", "ro"]})
json.dump(ok, open(d + "/spec-hook.json", "w"))
# the names part alone (no hook), for runc in the same run
names = json.loads(json.dumps(ok))
del names["hooks"]
# a cgroup of its own: `ctr oci spec` names the namespace's ("/default"), which holds other
# containers' cgroups, and runc's devices.deny on a cgroup with children fails
names["linux"]["cgroupsPath"] = "/default/rnames"
# an absolute path: `ctr oci spec` sets no PATH, and runc looks the command up in the spec's
names["process"]["args"] = ["/bin/sh", "-c", "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf"]
json.dump(names, open(d + "/spec-names.json", "w"))
bad = json.loads(json.dumps(s))
bad["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo the-cni-setup-broke >&2; exit 4"]}]}
json.dump(bad, open(d + "/spec-badhook.json", "w"))
PY
timeout 120 ctr run -d "${RT_ARGS[@]}" --config "$CTD_DIR/spec-hook.json" chook1 >/dev/null 2>&1
wait_running chook1 && pass hook-create-runtime-run || fail hook-create-runtime-run "$(grep -m3 -E 'level=(error|warning)' "$CTD_DIR/containerd.log")"
h4=$(addr_of chook1 4)
[[ $h4 == 10.231.0.1[0-5]* && -s $CTD_DIR/hook-result.json ]] && pass hook-cni-address-in-guest || fail hook-cni-address-in-guest "v4='$h4' result=$(head -c 300 "$CTD_DIR/hook-result.json" 2>/dev/null)"
[[ -n $h4 && $(get "$h4") == hello-hook ]] && pass hook-network-works || fail hook-network-works "wget http://$h4:8080/ failed"
names=$(ctr task exec --exec-id nm chook1 sh -c 'hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf' 2>&1)
# runc, same spec (without the hook), same run: what its container sees
rnames=$(timeout 60 ctr run --rm --runtime io.containerd.runc.v2 --config "$CTD_DIR/spec-names.json" rnames 2>&1)
[[ $names == "cvm-hook-host"$'\n'* && $names == "$rnames" ]] &&
  pass hostname-hosts-resolv-as-runc || fail hostname-hosts-resolv-as-runc "cvm '$(tr '\n' '|' <<< "$names")' runc '$(tr '\n' '|' <<< "$rnames")'"
ctr task kill -s SIGKILL chook1 >/dev/null 2>&1
for _ in $(seq 1 50); do [[ $(task_field chook1 3) == STOPPED ]] && break; sleep 0.2; done
ctr task delete chook1 >/dev/null 2>&1; ctr containers delete chook1 >/dev/null 2>&1
out=$(timeout 120 ctr run --rm "${RT_ARGS[@]}" --config "$CTD_DIR/spec-badhook.json" chook2 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"createRuntime hook #0"* && $out == *"exit status 4"* && $out == *"the-cni-setup-broke"* ]] &&
  pass hook-failure-fails-create || fail hook-failure-fails-create "rc=$rc out=$out"
ctr containers delete chook2 >/dev/null 2>&1

# --- 5. nothing left
sleep 1
new=$(shim_footprint_ours "$CTD_SOCK" default cnet1 cnet2 cpod1 chook1 chook2)
[[ -z $new ]] && pass no-leftovers || fail no-leftovers "$new"
[[ -z $(ip -n "$NS" -o link | grep cvmtap) ]] && pass no-tap-in-host-netns || fail no-tap-in-host-netns "$(ip -n "$NS" -o link | grep cvmtap)"
shim_log_check
exit $FAILED

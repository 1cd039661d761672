#!/usr/bin/env bash
# The agent's network API (ConfigureNetwork, ListNetwork, NIC parking) for real, with the
# agent as a host process (--listen-unix --park-nics, as root) inside a test network
# namespace of its own: a veth end with a QEMU-style MAC plays the guest's virtio-net NIC,
# its peer sits in a second test namespace playing the host side. The host's own network is
# never touched; both namespaces go at the end.
# Prints PASS/FAIL per check; exits non-zero on any failure; never skips.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/bin/cvm-agent}
AGENT_RUN=${AGENT_RUN:-$AGENT}
CTL=$BUILD/drivers/agent_ctl
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }

[[ $(id -u) -eq 0 ]] || { echo "FAIL: setup: must run as root"; exit 1; }
source test/e2e/lib-agent.sh
for b in "$AGENT_RUN" "$CTL" /bin/busybox; do
  [[ -x $b ]] || { echo "FAIL: setup: $b missing (make BUILD=$BUILD all unit; busybox-static)"; exit 1; }
done

NS=cvmnet-$$      # the "guest": the agent runs here
PEER=cvmpeer-$$   # the "host" end of the wire
NIC_MAC=52:54:00:c7:00:00
GUEST_MAC=02:42:0a:fa:00:02
W=$(mktemp -d /tmp/agent-net-e2e.XXXXXX)
APID=
cleanup() {
  [[ -n $APID ]] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  ip netns del "$PEER" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

ip netns add "$NS" && ip netns add "$PEER" || { echo "FAIL: setup: ip netns add"; exit 1; }
ip -n "$NS" link add veth-g address $NIC_MAC type veth peer name veth-p netns "$PEER" &&
  ip -n "$NS" link set lo up && ip -n "$PEER" link set lo up &&
  ip -n "$PEER" addr add 10.250.0.1/24 dev veth-p &&
  ip -n "$PEER" addr add fd00:250::1/64 dev veth-p nodad &&
  ip -n "$PEER" link set veth-p up || { echo "FAIL: setup: veth pair"; exit 1; }
PEER_MAC=$(ip netns exec "$PEER" cat /sys/class/net/veth-p/address)

ip netns exec "$NS" "$AGENT_RUN" --listen-unix "$W/a.sock" --park-nics --log-level debug >"$W/agent.log" 2>&1 &
APID=$!
for _ in $(seq 50); do [[ -S $W/a.sock.stdio ]] && break; sleep 0.1; done
ctl() { "$CTL" --unix "$W/a.sock" "$@"; }
ctl health >/dev/null 2>&1 || { echo "FAIL: setup: agent not answering"; cat "$W/agent.log"; exit 1; }

# jq-free JSON checks: py EXPR over the object j (the file's JSON); prints True/False
py() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(bool($2))" "$1"; }
expect() { # name, file, python expression
  if [[ $(py "$2" "$3" 2>&1) == True ]]; then pass "$1"; else fail "$1" "$3 on $(cat "$2")"; fi
}

# ---- parking ----
links=$(ip -n "$NS" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ')
[[ $links == "lo " ]] && pass "parking: the agent's namespace holds only lo" || fail "parking: only lo" "links: $links"
parked=$(nsenter -t "$APID" -m -- nsenter --net="$W/a.sock.netns" ip -o link show 2>&1)
[[ $parked == *veth-g*$NIC_MAC* ]] && pass "parking: the NIC is in the parking namespace" ||
  fail "parking: NIC parked" "$parked"

# ---- ConfigureNetwork ----
cat >"$W/net.json" <<EOF
{"interfaces":[{"nic_mac":"$NIC_MAC","name":"eth0","mac":"$GUEST_MAC","mtu":1400,
  "addresses":[{"address":"10.250.0.2","prefix_len":24},{"address":"fd00:250::2","prefix_len":64}]}],
 "routes":[{"family":4,"gateway":"10.250.0.1","device":"eth0"},
           {"family":6,"gateway":"fd00:250::1","device":"eth0"},
           {"family":4,"dest":"10.251.0.0","dest_prefix_len":16,"device":"eth0","metric":100}],
 "neighbors":[{"address":"10.250.0.1","lladdr":"$PEER_MAC","device":"eth0"}]}
EOF
out=$(ctl configure-network --net "$W/net.json" 2>&1)
[[ $out == ok ]] && pass "ConfigureNetwork eth0 (IPv4 /24, IPv6 /64, default routes, neighbour)" ||
  fail "ConfigureNetwork" "$out"

eth0=$(ip -n "$NS" -o link show eth0 2>&1)
[[ $eth0 == *"mtu 1400"* && $eth0 == *"$GUEST_MAC"* && $eth0 == *UP* ]] &&
  pass "eth0 is up with the MAC and MTU asked" || fail "eth0 identity" "$eth0"

ctl list-network >"$W/list1.json" 2>&1 || fail "ListNetwork" "$(cat "$W/list1.json")"
expect "ListNetwork: lo listed with 127.0.0.1/8" "$W/list1.json" \
  "any(i['name']=='lo' and {'address':'127.0.0.1','prefix_len':8} in i['addresses'] for i in j['interfaces'])"
expect "ListNetwork: eth0 with its MAC, MTU and both addresses" "$W/list1.json" \
  "any(i['name']=='eth0' and i['mac']=='$GUEST_MAC' and i['mtu']==1400 and
       {'address':'10.250.0.2','prefix_len':24} in i['addresses'] and
       {'address':'fd00:250::2','prefix_len':64} in i['addresses'] for i in j['interfaces'])"
expect "ListNetwork: no IPv6 link-local addresses or fe80::/64 routes" "$W/list1.json" \
  "not any(a['address'].startswith('fe80') for i in j['interfaces'] for a in i['addresses']) and
   not any(r['dest'].startswith('fe80') for r in j['routes'])"
expect "ListNetwork: IPv4 default route via 10.250.0.1 dev eth0" "$W/list1.json" \
  "any(r['family']==4 and r['dest']=='' and r['gateway']=='10.250.0.1' and r['device']=='eth0' for r in j['routes'])"
expect "ListNetwork: IPv6 default route via fd00:250::1 dev eth0" "$W/list1.json" \
  "any(r['family']==6 and r['dest']=='' and r['gateway']=='fd00:250::1' and r['device']=='eth0' for r in j['routes'])"
expect "ListNetwork: on-link 10.251.0.0/16 metric 100" "$W/list1.json" \
  "any(r['dest']=='10.251.0.0' and r['dest_prefix_len']==16 and r['gateway']=='' and r['metric']==100 for r in j['routes'])"
expect "ListNetwork: permanent neighbour 10.250.0.1" "$W/list1.json" \
  "{'address':'10.250.0.1','lladdr':'$PEER_MAC','device':'eth0'} in j['neighbors']"

# ---- traffic, both families, from the peer to the configured addresses ----
out=$(ip netns exec "$PEER" busybox ping -c 2 -W 3 10.250.0.2 2>&1)
[[ $out == *" 0% packet loss"* ]] && pass "ping 10.250.0.2 from the peer" || fail "IPv4 ping" "$out"
out=$(ip netns exec "$PEER" busybox ping -6 -c 2 -W 3 fd00:250::2 2>&1)
[[ $out == *" 0% packet loss"* ]] && pass "ping fd00:250::2 from the peer" || fail "IPv6 ping" "$out"
out=$(ip netns exec "$NS" busybox ping -c 1 -W 3 10.250.0.1 2>&1)
[[ $out == *" 0% packet loss"* ]] && pass "ping the peer from the agent's namespace" || fail "IPv4 ping out" "$out"

# ---- idempotent ----
out=$(ctl configure-network --net "$W/net.json" 2>&1)
[[ $out == ok ]] && pass "second ConfigureNetwork with the same content succeeds" || fail "idempotent ConfigureNetwork" "$out"
ctl list-network >"$W/list2.json" 2>&1
cmp -s "$W/list1.json" "$W/list2.json" && pass "ListNetwork unchanged by the repeat" ||
  fail "ListNetwork unchanged" "$(diff "$W/list1.json" "$W/list2.json")"

eth0=$(ip -n "$NS" -o link show eth0 2>&1)
[[ $eth0 == *LOWER_UP* && $eth0 != *NO-CARRIER* ]] && pass "eth0 keeps its carrier after the repeat" || fail "eth0 carrier" "$eth0"

# ---- bad requests: INVALID_ARGUMENT naming the field ----
bad() { # name, expected substring of the message, JSON
  printf '%s' "$3" >"$W/bad.json"
  local o; o=$(ctl configure-network --net "$W/bad.json" 2>&1); local rc=$?
  if [[ $rc -ne 0 && $o == *INVALID_ARGUMENT* && $o == *"$2"* ]]; then pass "rejected: $1 ($o)"; else fail "rejected: $1" "rc=$rc $o"; fi
}
ifc() { echo "{\"interfaces\":[{\"nic_mac\":\"$NIC_MAC\",\"name\":\"eth0\"$1}]}"; }
bad "interface named lo" "interfaces[0].name" '{"interfaces":[{"nic_mac":"52:54:00:c7:00:00","name":"lo"}]}'
bad "interface name too long" "interfaces[0].name" '{"interfaces":[{"nic_mac":"52:54:00:c7:00:00","name":"abcdefghijklmnop"}]}'
bad "interface name with a slash" "interfaces[0].name" '{"interfaces":[{"nic_mac":"52:54:00:c7:00:00","name":"a/b"}]}'
bad "bad nic_mac" "interfaces[0].nic_mac" '{"interfaces":[{"nic_mac":"52:54:00:c7:00","name":"eth0"}]}'
bad "multicast mac" "interfaces[0].mac" "$(ifc ',"mac":"01:00:5e:00:00:01"')"
bad "MTU 67" "interfaces[0].mtu" "$(ifc ',"mtu":67')"
bad "IPv4 prefix 33" "interfaces[0].addresses[0].prefix_len" "$(ifc ',"addresses":[{"address":"10.0.0.1","prefix_len":33}]')"
bad "unparsable address" "interfaces[0].addresses[0].address" "$(ifc ',"addresses":[{"address":"10.0.0.300","prefix_len":24}]')"
bad "route family 5" "routes[0].family" '{"routes":[{"family":5,"device":"eth0"}]}'
bad "route dest with host bits" "routes[0].dest" '{"routes":[{"family":4,"dest":"10.1.2.3","dest_prefix_len":16,"device":"eth0"}]}'
bad "IPv6 gateway on an IPv4 route" "routes[0].gateway" '{"routes":[{"family":4,"gateway":"fd00::1"}]}'
bad "neighbour without lladdr" "neighbors[0].lladdr" '{"neighbors":[{"address":"10.250.0.9","device":"eth0"}]}'
bad "17 interfaces" "interfaces: 17" "$(python3 -c 'import json; print(json.dumps({"interfaces":[{"nic_mac":"52:54:00:c7:01:%02x"%i,"name":"e%d"%i} for i in range(17)]}))')"
bad "257 routes" "routes: 257" "$(python3 -c 'import json; print(json.dumps({"routes":[{"family":4,"device":"eth0"}]*257}))')"

# ---- a NIC that does not exist ----
o=$(ctl configure-network --net <(echo '{"interfaces":[{"nic_mac":"52:54:00:c7:00:09","name":"eth1"}]}') 2>&1); rc=$?
[[ $rc -ne 0 && $o == *NOT_FOUND* && $o == *52:54:00:c7:00:09* ]] && pass "unknown NIC MAC: NOT_FOUND ($o)" ||
  fail "unknown NIC MAC" "rc=$rc $o"
# ---- a kernel refusal names the route ----
o=$(ctl configure-network --net <(echo '{"routes":[{"family":4,"dest":"10.99.0.0","dest_prefix_len":16,"gateway":"10.98.0.1","device":"eth0"}]}') 2>&1); rc=$?
[[ $rc -ne 0 && $o == *"route 10.99.0.0/16 via 10.98.0.1 dev eth0"* ]] && pass "unreachable gateway: error names the route ($o)" ||
  fail "unreachable gateway" "rc=$rc $o"
o=$(ctl configure-network --net <(echo '{"routes":[{"family":4,"device":"eth7"}]}') 2>&1); rc=$?
[[ $rc -ne 0 && $o == *NOT_FOUND* && $o == *eth7* ]] && pass "route on an unknown device: NOT_FOUND" || fail "route unknown device" "rc=$rc $o"

# ---- no fd leak across calls ----
fds1=$(ls /proc/$APID/fd | wc -l)
for _ in 1 2 3 4 5; do ctl list-network >/dev/null; ctl configure-network --net "$W/net.json" >/dev/null; done
fds2=$(ls /proc/$APID/fd | wc -l)
[[ $fds1 -eq $fds2 ]] && pass "no fd leak over 10 calls ($fds1 fds)" || fail "fd leak" "$fds1 -> $fds2"
kill -0 "$APID" 2>/dev/null && pass "agent still running" || fail "agent still running" "$(tail -5 "$W/agent.log")"

# ---- teardown ----
agent_end_check "$APID" "$W/agent.log"; APID=
# teardown, not a check of ours: it only has to work (what is left is checked below)
ip netns del "$NS" && ip netns del "$PEER" || fail "netns removal" "ip netns del failed"
left=$(ip netns list | awk -v a="$NS" -v b="$PEER" '$1 == a || $1 == b')
[[ -z $left ]] && pass "nothing left behind" || fail "nothing left behind" "$left"

[[ $fails -eq 0 ]]

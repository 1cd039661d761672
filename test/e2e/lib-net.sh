# Sourced after lib-shim.sh by the network tests and benchmarks: a network namespace of the
# test's own that plays "the host" (containerd, the shims, QEMU, the hooks and the CNI bridge
# live there; the machine's own network is never touched), a dual-stack CNI bridge config, and
# ctr run in that namespace with a private /etc/cni.
#   net_setup      creates NET_NS (before ctd_start: it exports CTD_NETNS) and the CNI config
#   net_teardown   removes what net_setup made (call from the EXIT trap, after ctd_stop)
#   nctr ARGS      ctr in NET_NS with the test's /etc/cni (CNI plugins run in ctr's process)
#   nhost CMD      a command in NET_NS
NET_NS=cvmnet$$
NET_BR=cvmbr$$
NET_NAME=cvmtest$$
NET_V4=10.231.0        # the bridge's /24: gateway .1
NET_V6=fd00:231:       # the bridge's /64: gateway ::1
NET_HOSTPORT=18080     # portmap: hostPort -> container 8080
net_made_etc_cni=0

net_setup() {
  local p
  for p in bridge host-local portmap loopback; do
    [[ -x /usr/lib/cni/$p ]] || { fail network-prereq "/usr/lib/cni/$p missing (make setup: containernetworking-plugins)"; return 1; }
  done
  ip netns add "$NET_NS" || { fail network-prereq "ip netns add $NET_NS"; return 1; }
  ip -n "$NET_NS" link set lo up
  export CTD_NETNS=$NET_NS
  NET_CNI_DIR=$(mktemp -d /tmp/cvm-cni.XXXXXX)
  mkdir -p "$NET_CNI_DIR/net.d"
  # ctr --cni reads /etc/cni/net.d: a private mount over /etc/cni in nctr's own mount
  # namespace; the machine's config, if any, is neither read nor changed.
  [[ -d /etc/cni ]] || { mkdir /etc/cni && net_made_etc_cni=1; }
  cat > "$NET_CNI_DIR/net.d/10-$NET_NAME.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "$NET_NAME", "plugins": [
  {"type": "bridge", "bridge": "$NET_BR", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "$NET_V4.0/24", "rangeEnd": "$NET_V4.99"}], [{"subnet": "$NET_V6:/64"}]],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true},
   "runtimeConfig": {"portMappings": [{"hostPort": $NET_HOSTPORT, "containerPort": 8080, "protocol": "tcp"}]}}
]}
JSON
}

net_teardown() {
  ip netns del "$NET_NS" 2>/dev/null
  rm -rf "/var/lib/cni/networks/$NET_NAME" "${NET_CNI_DIR:-/nonexistent}"
  [[ $net_made_etc_cni -eq 1 ]] && rmdir /etc/cni 2>/dev/null
  return 0
}

nctr() {
  nsenter --net=/run/netns/"$NET_NS" unshare -m --propagation private bash -c \
    'mount --bind "$0" /etc/cni && exec ctr -a "$1" "${@:2}"' "$NET_CNI_DIR" "$CTD_SOCK" "$@"
}

nhost() { ip netns exec "$NET_NS" "$@"; }

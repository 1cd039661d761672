# Sourced after lib-shim.sh by the network tests and benchmarks: a network namespace of the
# test's own that plays "the host" (containerd, the shims, QEMU, the hooks and the CNI bridge
# live there; the machine's own network is never touched), a dual-stack CNI bridge config, and
# ctr run in that namespace with a private /etc/cni.
#   net_setup      creates NET_NS (before ctd_start: it exports CTD_NETNS) and the CNI config
#   net_teardown   removes what net_setup made (call from the EXIT trap, after ctd_stop)
#   nctr ARGS      ctr in NET_NS seeing the test's /etc/cni/net.d (CNI plugins run in ctr's
#                  process): an overlay over /etc in ctr's own mount namespace, whose /etc/cni is
#                  opaque, so the machine's /etc is neither read for CNI nor changed
#   nhost CMD      a command in NET_NS
NET_NS=cvmnet$$
NET_BR=cvmbr$$
NET_NAME=cvmtest$$
NET_V4=10.231.0        # the bridge's /24: gateway .1
NET_V6=fd00:231:       # the bridge's /64: gateway ::1
NET_HOSTPORT=18080     # portmap: hostPort -> container 8080

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
  return 0
}

nctr() {
  local ov
  ov=$(mktemp -d "$NET_CNI_DIR/ov.XXXXXX") || return 1
  mkdir -p "$ov/upper/cni" "$ov/work" && cp -r "$NET_CNI_DIR/net.d" "$ov/upper/cni/" &&
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$ov/upper/cni" ||
    return 1
  nsenter --net=/run/netns/"$NET_NS" unshare -m --propagation private bash -c \
    'mount -t overlay cvm-cni -o "lowerdir=/etc,upperdir=$0/upper,workdir=$0/work" /etc &&
     exec ctr -a "$1" "${@:2}"' "$ov" "$CTD_SOCK" "$@"
}

nhost() { ip netns exec "$NET_NS" "$@"; }

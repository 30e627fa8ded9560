#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that only `make bench` needs (as root), or
# prints the exact apt-get line to run. The build's and the tests' packages
# are tests/deps.sh's; these are the benchmark's peers and the runner's tools:
# sshd and stunnel for the forwarding section's references (ssh -L and a TLS
# tunnel); wireguard-go with wg, OpenVPN and iperf3 for the IP VPN section's
# (bench/vpn.sh: ip, ping); taskset, ss, pgrep and timeout for the runner itself.
#
#   bench/deps.sh    exit 0: all there; 1: missing and not root, or apt failed
set -u
BENCH_PKGS="openssh-server openssh-client stunnel4 openssl util-linux iproute2 procps coreutils python3
	wireguard-go wireguard-tools openvpn iperf3 iputils-ping"
missing=""
for p in $BENCH_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: missing Debian packages:$missing" >&2
	echo "Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "bench: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# No recommends: openssh-server's would pull in a desktop's worth of packages
# the bench never runs. policy-rc.d keeps the packages from starting a system
# sshd on port 22 or an OpenVPN service: the bench starts its own.
norc=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && norc=1
fi
rc=0
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=1
[ -n "$norc" ] && rm -f /usr/sbin/policy-rc.d
if [ $rc -ne 0 ]; then
	echo "bench: apt-get install failed for:$missing" >&2
	exit 1
fi
exit 0

#!/bin/sh
# Installs the Debian packages that building and testing cvpn need (as root),
# or prints the exact apt-get line to run.
set -u
PKGS="build-essential clang pkg-config libssl-dev libreadline-dev libuv1-dev libcmocka-dev libcap-dev libseccomp-dev libmnl-dev python3 python3-pycryptodome python3-dissononce tshark lua-luaossl tmux groff-base valgrind libclang-rt-14-dev python3-cryptography iproute2 git sudo libcap2-bin xxd openssl iperf3 iputils-ping curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "cvpn: missing Debian packages:$missing" >&2
	echo "Run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "cvpn: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $missing >/dev/null || {
	echo "cvpn: apt-get install failed for:$missing" >&2
	exit 1
}

#!/bin/sh
# make install honours PREFIX and DESTDIR and installs the man pages; the man
# pages render cleanly and document every option that --help lists.
. tests/lib.sh

ROOT=$TMP/root
if make -s install DESTDIR="$ROOT" PREFIX=/opt/cvpn BUILD="$BUILD" >"$TMP/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/opt/cvpn"
else
	not_ok "make install"; sed 's/^/#   /' "$TMP/install.log"
fi
for b in cvpn-server cvpn-client cvpn-mitm; do
	check "$b installed executable" [ -x "$ROOT/opt/cvpn/bin/$b" ]
	check "$b.1 installed" [ -f "$ROOT/opt/cvpn/share/man/man1/$b.1" ]
	check "$b.1 renders without warnings" sh -c \
		"LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z docs/$b.1 2>&1 | { ! grep -q .; }"
	for opt in $("$BUILD/$b" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		esc=$(echo "$opt" | sed 's/-/\\\\-/g')
		check "$b.1 documents $opt" grep -qE -- "$esc([^a-z-]|\$)" "docs/$b.1"
	done
done
make -s uninstall DESTDIR="$ROOT" PREFIX=/opt/cvpn >/dev/null 2>&1
check "make uninstall removes the binaries" [ ! -e "$ROOT/opt/cvpn/bin/cvpn-client" ]
make -s install-wireshark WIRESHARK_PLUGINS="$TMP/plugins" >/dev/null 2>&1
check "make install-wireshark copies the dissector" cmp -s captures/wireshark/cvpn.lua "$TMP/plugins/cvpn.lua"
finish

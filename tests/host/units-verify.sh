#!/usr/bin/env bash
# 'systemd-analyze verify' of the installed units, in a root holding what
# they name; a warning (e.g. an unknown key) fails it as well.
#
#   tests/host/units-verify.sh ROOT    (ROOT: a 'make install DESTDIR=ROOT')
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1
stage=$1

units_verify() {
	local vroot out rc
	vroot=$(mktemp -d)
	cp -a "$stage"/. "$vroot"/
	mkdir -p "$vroot/usr/lib/systemd" "$vroot/usr/bin" "$vroot/usr/sbin"
	cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"
	ln -s usr/bin "$vroot/bin"
	ln -s usr/sbin "$vroot/sbin"
	cp /usr/bin/kmod /usr/bin/kill "$vroot/usr/bin/"
	ln -s ../bin/kmod "$vroot/usr/sbin/modprobe"
	out=$(systemd-analyze verify --man=no --root="$vroot" "$vroot"/lib/systemd/system/netatop*.service 2>&1)
	rc=$?
	rm -rf "$vroot"
	echo "$out"
	[ $rc -eq 0 ] && [ -z "$out" ]
}
units_verify "$@"

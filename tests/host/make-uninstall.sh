#!/usr/bin/env bash
# 'make uninstall' removes every file 'make install' put there.
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1
kver=$(cat "$(kernel_build_dir)/include/config/kernel.release")

uninstall_check() {
	local tree rc=0
	tree=$(mktemp -d)
	make -s install DESTDIR="$tree" KVER="$kver" >/dev/null &&
		[ -n "$(find "$tree" -type f)" ] &&
		make -s uninstall DESTDIR="$tree" KVER="$kver" >/dev/null &&
		[ -z "$(find "$tree" -type f)" ] || { find "$tree" -type f; rc=1; }
	rm -rf "$tree"
	return $rc
}
uninstall_check "$@"

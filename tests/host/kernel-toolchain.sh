#!/usr/bin/env bash
# The Makefile's choice of compiler (tools/kernel-toolchain.sh): the
# kernel's own rustc; another version, or a tree without a configured
# kernel, is refused with a message naming the problem.
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1

toolchain_check() {
	local kdir out fake rc=0
	kdir=$(kernel_build_dir)
	out=$(sh tools/kernel-toolchain.sh "$kdir") || return 1
	set -- $out
	[ "$("${1#RUSTC=}" --version)" = "$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT=//p' "$kdir/include/config/auto.conf")" ] ||
		{ echo "picked $out"; return 1; }
	fake=$(mktemp -d)
	printf '#!/bin/sh\necho "rustc 1.0.0 (elsewhere)"\n' >"$fake/rustc"
	chmod +x "$fake/rustc"
	if out=$(RUSTC="$fake/rustc" sh tools/kernel-toolchain.sh "$kdir" 2>&1); then
		echo "accepted a rustc of another version: $out"; rc=1
	elif ! echo "$out" | grep -q "rustc 1.0.0 (elsewhere)"; then
		echo "message does not name the compiler's version: $out"; rc=1
	fi
	rm -rf "$fake"
	if out=$(sh tools/kernel-toolchain.sh "$fake" 2>&1) || ! echo "$out" | grep -q "auto.conf not found"; then
		echo "a tree without a kernel: $out"; rc=1
	fi
	return $rc
}
toolchain_check "$@"

#!/usr/bin/env bash
# The module, with its KUnit suite, built with the kernel's CLIPPY=1: not
# a single warning.
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1

module_clippy() {
	local dir="$NETATOP_TOP/out/clippy-module" out
	copy_module_sources "$dir"
	# Rebuild the crate every time, so its warnings are printed every time.
	rm -f "$dir/module/netatop_main.o"
	out=$(make -C "$dir" module KDIR="$(kernel_build_dir)" CLIPPY=1 NETATOP_KUNIT=1 2>&1) ||
		{ echo "$out"; return 1; }
	if echo "$out" | grep -q -E '^(warning|error)'; then
		echo "$out"
		return 1
	fi
}
module_clippy "$@"

#!/usr/bin/env bash
# tools/rust-kbuild.sh, which 'make dkms' asks for the tree to build in:
# a kernel tree with Rust metadata as it is; without, each missing piece
# is one line naming the Debian package (checked with a fake kernel tree
# of release 7.99.1-test, and NETATOP_KBUILD_ROOT in a scratch directory).
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1

rust_kbuild_check() {
	local k fake out rc=0
	k=$(mktemp -d)
	fake=$(mktemp -d)
	mkdir -p "$k/include/config" "$k/rust" "$k/scripts" "$fake/bin" "$fake/sysroot"
	echo "CONFIG_RUST=y" >"$k/.config"
	: >"$k/Module.symvers"
	{
		echo "CONFIG_RUST=y"
		echo "CONFIG_RUSTC_VERSION_TEXT=$(/usr/bin/rustc --version)"
		echo "CONFIG_BINDGEN_VERSION_TEXT=$(bindgen --version)"
		echo "CONFIG_CC_IS_GCC=y"
		echo "CONFIG_CC_VERSION_TEXT=$(gcc --version | head -n 1)"
	} >"$k/include/config/auto.conf"
	kbuild() { # EXPECTED-TEXT: fails with one line containing it
		local out
		if out=$(NETATOP_KBUILD_ROOT="$fake" sh tools/rust-kbuild.sh 7.99.1-test "$k" 2>&1); then
			echo "succeeded, expected '$1': $out"
			return 1
		fi
		[ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -qF "$1" ||
			{ echo "expected one line with '$1': $out"; return 1; }
	}
	touch "$k/rust/libkernel.rmeta" "$k/scripts/target.json"
	out=$(NETATOP_KBUILD_ROOT="$fake" sh tools/rust-kbuild.sh 7.99.1-test "$k") && [ "$out" = "$k" ] ||
		{ echo "a tree with metadata: $out"; rc=1; }
	rm "$k/rust/libkernel.rmeta" "$k/scripts/target.json"
	printf '#!/bin/sh\ncase "$1" in --version) /usr/bin/rustc --version ;; *) echo %s ;; esac\n' \
		"$fake/sysroot" >"$fake/bin/rustc"
	chmod +x "$fake/bin/rustc"
	RUSTC="$fake/bin/rustc" kbuild "(Debian: rust-src)" || rc=1
	sed -i 's/^CONFIG_BINDGEN_VERSION_TEXT=.*/CONFIG_BINDGEN_VERSION_TEXT=bindgen 0.1.0/' "$k/include/config/auto.conf"
	kbuild "the kernel was built with bindgen 0.1.0: install that version (Debian: bindgen)" || rc=1
	sed -i "s/^CONFIG_BINDGEN_VERSION_TEXT=.*/CONFIG_BINDGEN_VERSION_TEXT=$(bindgen --version)/" "$k/include/config/auto.conf"
	sed -i 's/^CONFIG_CC_VERSION_TEXT=.*/CONFIG_CC_VERSION_TEXT=gcc-77 (Debian 77.1.0-1) 77.1.0/' "$k/include/config/auto.conf"
	kbuild "(Debian: gcc-77)" || rc=1
	sed -i "s/^CONFIG_CC_VERSION_TEXT=.*/CONFIG_CC_VERSION_TEXT=$(gcc --version | head -n 1)/" "$k/include/config/auto.conf"
	# Every tool present (stubs where this machine lacks one), no source.
	for tool in make bc flex bison xz pahole openssl python3; do
		command -v "$tool" >/dev/null || printf '#!/bin/sh\n' >"$fake/bin/$tool"
		chmod +x "$fake/bin/$tool" 2>/dev/null || true
	done
	rm "$fake/bin/rustc"
	PATH="$fake/bin:$PATH" kbuild "/usr/src/linux-source-7.99.tar.xz not found" || rc=1
	PATH="$fake/bin:$PATH" kbuild "(Debian: linux-source-7.99)" || rc=1
	[ -z "$(ls "$fake" | grep -v '^bin$\|^sysroot$')" ] || { echo "wrote into NETATOP_KBUILD_ROOT: $(ls "$fake")"; rc=1; }
	rm -rf "$k" "$fake"
	return $rc
}
rust_kbuild_check "$@"

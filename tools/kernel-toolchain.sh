#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the make variables that build netatop.ko with the toolchain the
# kernel in KDIR was built with:
#
#   RUSTC=... RUSTDOC=... [CLIPPY_DRIVER=...] [LLVM=1 | CC=...]
#
# Rust crate metadata is only compatible within one compiler version, so
# the compiler must print exactly the kernel's CONFIG_RUSTC_VERSION_TEXT.
# RUSTC and RUSTDOC from the environment are used as given (RUSTC is still
# checked); otherwise the first match among rustc on PATH, rustc-X.Y
# (versioned distribution packages), /usr/bin/rustc and /usr/local/bin/rustc
# is taken, so that a rustup toolchain first on PATH does not get in the
# way. For kernels built with clang, LLVM= is chosen the same way (see
# below) unless LLVM is set.
#
#   kernel-toolchain.sh KDIR
set -eu

fail() {
	echo "netatop: $*" >&2
	exit 1
}

[ $# -eq 1 ] || fail "usage: kernel-toolchain.sh KDIR"
kdir=$1
conf=$kdir/include/config/auto.conf
[ -r "$conf" ] ||
	fail "$conf not found: KDIR must be a configured kernel build tree (are the kernel headers installed?)"
grep -q '^CONFIG_RUST=y$' "$conf" ||
	fail "the kernel in $kdir was built without Rust support (CONFIG_RUST is not set)"
# auto.conf is make syntax: strings are unquoted (older kernels quote them).
conf_get() {
	sed -n "s/^CONFIG_$1=//p" "$conf" | sed 's/^"\(.*\)"$/\1/'
}
want=$(conf_get RUSTC_VERSION_TEXT)
[ -n "$want" ] || fail "$conf does not record the kernel's Rust compiler"

# "rustc 1.96.0 (...)" -> "1.96"
minor=$(echo "$want" | sed -n 's/^rustc \([0-9]*\.[0-9]*\)\..*/\1/p')

if [ -n "${RUSTC:-}" ]; then
	candidates=$RUSTC
else
	candidates="rustc rustc-$minor /usr/bin/rustc /usr/local/bin/rustc"
fi

rustc=
tried=
for c in $candidates; do
	path=$(command -v "$c" 2>/dev/null) || continue
	have=$("$path" --version 2>/dev/null) || continue
	if [ "$have" = "$want" ]; then
		rustc=$path
		break
	fi
	tried="$tried
  $path: $have"
done
[ -n "$rustc" ] || fail "no Rust compiler is the one the kernel was built with, $want: install that version (Debian: rustc) or set RUSTC${tried:+; found:$tried}${tried:-
  (no candidate found: tried $candidates)}"

# rustdoc comes with the compiler: same directory, same version suffix;
# so does clippy-driver where it is installed (used by make CLIPPY=1).
beside() {
	echo "$(dirname "$rustc")/$(basename "$rustc" | sed "s/^rustc/$1/")"
}
rustdoc=${RUSTDOC:-$(beside rustdoc)}
clippy=${CLIPPY_DRIVER:-$(beside clippy-driver)}
[ -x "$clippy" ] || clippy=

# A clang-built kernel wants LLVM=: 1 when "clang" on PATH is the kernel's
# compiler, else the versioned names (LLVM=-19) or the versioned directory
# of Debian-style installs, whichever prints the kernel's
# CONFIG_CC_VERSION_TEXT; LLVM=1 when none does (kbuild then warns).
if [ -n "${LLVM+set}" ]; then
	llvm=$LLVM
elif grep -q '^CONFIG_CC_IS_CLANG=y$' "$conf"; then
	cc_want=$(conf_get CC_VERSION_TEXT)
	major=$(conf_get CLANG_VERSION | sed 's/[0-9]\{4\}$//')
	llvm=1
	for c in 1:clang -$major:clang-$major \
		/usr/lib/llvm-$major/bin/:/usr/lib/llvm-$major/bin/clang; do
		have=$("${c#*:}" --version 2>/dev/null | head -n 1) || continue
		if [ "$have" = "$cc_want" ]; then
			llvm=${c%%:*}
			break
		fi
	done
else
	llvm=
fi

# A gcc-built kernel records its compiler by the name it was called
# ("x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0"): CC from the
# environment (DKMS may set it), that name, or plain gcc, whichever prints
# exactly that (none: kbuild warns).
cc=
if grep -q '^CONFIG_CC_IS_GCC=y$' "$conf"; then
	cc_want=$(conf_get CC_VERSION_TEXT)
	for c in ${CC:-} "${cc_want%% *}" gcc; do
		if [ "$("$c" --version 2>/dev/null | head -n 1)" = "$cc_want" ]; then
			cc=$c
			break
		fi
	done
fi

echo "RUSTC=$rustc RUSTDOC=$rustdoc${clippy:+ CLIPPY_DRIVER=$clippy}${llvm:+ LLVM=$llvm}${cc:+ CC=$cc}"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel build tree to build netatop.ko in, for kernel release
# KVER whose build tree (the kernel headers) is KDIR:
#
#   rust-kbuild.sh KVER KDIR
#
# A Rust module needs the kernel's Rust crate metadata (rust/*.rmeta and
# the proc macro libraries) and scripts/target.json. Where KDIR has them
# (a self-built kernel, Ubuntu's linux-lib-rust package), KDIR is printed
# as it is. Debian's linux-headers packages ship neither, so this script
# then makes them once per kernel release from the same version's
# linux-source package, with the headers' .config and the very compiler
# the kernel recorded (tools/kernel-toolchain.sh), in
# $NETATOP_KBUILD_ROOT/netatop-kbuild-KVER (default /usr/src, beside the
# headers; nothing of the headers package is changed), and prints that
# tree. A second build for the same release reuses it. Anything missing
# stops it with one line naming the package to install.
set -eu

fail() {
	echo "netatop: $*" >&2
	exit 1
}

[ $# -eq 2 ] || fail "usage: rust-kbuild.sh KVER KDIR"
kver=$1
kdir=$2
here=$(cd "$(dirname "$0")" && pwd)

has_rust_metadata() { # DIR
	[ -f "$1/rust/libkernel.rmeta" ] && [ -f "$1/scripts/target.json" ]
}

[ -r "$kdir/.config" ] ||
	fail "$kdir/.config not found: install the headers of kernel $kver (Debian: linux-headers-$kver)"
if has_rust_metadata "$kdir"; then
	echo "$kdir"
	exit 0
fi

root=${NETATOP_KBUILD_ROOT:-/usr/src}
tree=$root/netatop-kbuild-$kver
stamp=$tree/.netatop-kbuild
# The prepared tree is only valid for the headers it was made from.
want_stamp=$(cat "$kdir/.config" "$kdir/Module.symvers" | cksum)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && has_rust_metadata "$tree"; then
	echo "$tree"
	exit 0
fi

# --- what the kernel was built with, and whether it is all here ---
tools=$(sh "$here/kernel-toolchain.sh" "$kdir") || exit 1
conf=$kdir/include/config/auto.conf
conf_get() {
	sed -n "s/^CONFIG_$1=//p" "$conf" | sed 's/^"\(.*\)"$/\1/'
}
rustc=$(echo "$tools" | sed -n 's/.*RUSTC=\([^ ]*\).*/\1/p')
sysroot=$("$rustc" --print sysroot)
[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
	fail "the Rust library sources of $("$rustc" --version) are missing (Debian: rust-src)"

bindgen_want=$(conf_get BINDGEN_VERSION_TEXT)
bindgen=${BINDGEN:-bindgen}
command -v "$bindgen" >/dev/null 2>&1 ||
	fail "bindgen not found; the kernel was built with $bindgen_want (Debian: bindgen)"
bindgen_have=$("$bindgen" --version 2>/dev/null | head -n 1)
[ -z "$bindgen_want" ] || [ "$bindgen_have" = "$bindgen_want" ] ||
	fail "$bindgen is $bindgen_have, the kernel was built with $bindgen_want: install that version (Debian: bindgen)"
ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* >/dev/null 2>&1 ||
	fail "libclang not found, bindgen needs it (Debian: libclang-dev)"

# A gcc-built kernel's C compiler (clang kernels: LLVM= above).
if grep -q '^CONFIG_CC_IS_GCC=y$' "$conf"; then
	cc=$(echo "$tools" | sed -n 's/.*CC=\([^ ]*\).*/\1/p')
	cc_want=$(conf_get CC_VERSION_TEXT)
	[ -n "$cc" ] || fail "the kernel's C compiler '$cc_want' is not installed (Debian: ${cc_want%% *})"
fi

for need in make:make bc:bc flex:flex bison:bison xz:xz-utils pahole:dwarves openssl:openssl python3:python3; do
	command -v "${need%%:*}" >/dev/null 2>&1 || fail "${need%%:*} not found (Debian: ${need#*:})"
done
for need in gelf.h:libelf-dev openssl/ssl.h:libssl-dev; do
	[ -f "/usr/include/${need%%:*}" ] || fail "/usr/include/${need%%:*} not found (Debian: ${need#*:})"
done

# The source: linux-source-X.Y of exactly the kernel's version.
series=$(echo "$kver" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
version=$(sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p; s/^SUBLEVEL = //p' "$kdir/Makefile" 2>/dev/null | paste -sd.)
[ -n "$version" ] || version=$(echo "$kver" | sed -n 's/^\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
tarball=/usr/src/linux-source-$series.tar.xz
[ -f "$tarball" ] || fail "$tarball not found: the kernel's source is needed for its Rust metadata (Debian: linux-source-$series)"

# --- make the tree ---
echo "netatop: making the Rust metadata of kernel $kver in $tree (once per kernel release)" >&2
work=$tree.tmp
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
tar -C "$work" --strip-components=1 -xf "$tarball"
src_version=$(make -s -C "$work" kernelversion)
[ "$src_version" = "$version" ] ||
	fail "$tarball is Linux $src_version, the kernel is $version: install linux-source-$series of the kernel's version"
cp "$kdir/.config" "$work/.config"
# shellcheck disable=SC2086 # word splitting of the variable lists is meant
mk() { make -s -C "$work" $tools BINDGEN="$bindgen" "$@"; }
mk olddefconfig
# The same toolchain gives the same configuration; anything else would
# build against a kernel that is not the one running.
if ! diff -q "$kdir/.config" "$work/.config" >/dev/null; then
	diff "$kdir/.config" "$work/.config" | grep '^[<>] CONFIG' | head -n 5 >&2
	fail "the kernel's configuration changed with this toolchain (above): it is not the one the kernel was built with"
fi
jobs=$(nproc 2>/dev/null || echo 1)
mk -j"$jobs" prepare >&2
mk -j"$jobs" rust/ >&2
mk modules_prepare >&2
# Module builds read none of these; they are most of the tree's size.
rm -rf "$work/Documentation" "$work/drivers" "$work/sound" "$work/samples"
# What ties modules to this kernel: its exported symbols and its release.
cp "$kdir/Module.symvers" "$work/Module.symvers"
cp "$kdir/include/config/kernel.release" "$work/include/config/kernel.release"
cp "$kdir/include/generated/utsrelease.h" "$work/include/generated/utsrelease.h"
# The kernel's BTF, where the headers have it, for the module's BTF.
[ ! -e "$kdir/vmlinux" ] || ln -s "$(readlink -f "$kdir/vmlinux")" "$work/vmlinux"
has_rust_metadata "$work" || fail "building the Rust metadata in $work did not produce it"
echo "$want_stamp" >"$work/.netatop-kbuild"
rm -rf "$tree"
mv "$work" "$tree"
trap - EXIT
echo "$tree"

#!/usr/bin/env bash
# A Debian system of SUITE with its stock kernel, as a user has it: a
# chroot made with debootstrap from Debian's packages, holding systemd as
# init, the suite's atop, and the stock linux-image, linux-headers and
# linux-source exactly as README's "Installing" section tells a user of
# that suite to install them. netatop's packages and what they depend on
# are not in it: tests/debian/lifecycle.sh installs and purges them. Cached under
# $NETATOP_CACHE/stock/SUITE and brought up to date on every run (apt-get
# update and upgrade), so it follows the suite when it moves.
#
#   scripts/stock-kernel.sh SUITE             prints the chroot's path
#   scripts/stock-kernel.sh SUITE --packages  prints the apt command for the
#                                             kernel README gives a user of SUITE
#   scripts/stock-kernel.sh SUITE --guest-tree KVER DIR
#       fills DIR with what a VM booting the chroot's kernel KVER needs
#       over the usual guest root (scripts/vm-run.sh --kernel --tree): the
#       kernel's module index, the netatop module DKMS installed, veth, tun
#       and what they depend on, kmod (the kernel's modules are compressed)
#       and the suite's atop (/usr/bin/atop), with their own libraries
#
# SUITE is one of:
#   forky              Debian testing: its 7.2 kernel, rustc and linux-source
#   trixie-backports   Debian 13 with the backports kernel (7.3): kernel,
#                      headers and linux-source from trixie-backports, the
#                      compiler and everything else from trixie
set -euo pipefail
. "$(dirname "$0")/env.sh"

suite=${1:-}
# What a Debian system has besides: an init, an initramfs generator, and
# the atop netatop serves.
SYSTEM_PACKAGES=(systemd-sysv initramfs-tools atop)
case "$suite" in
forky)
	base=forky
	KERNEL_PACKAGES=(linux-image-amd64 linux-headers-amd64 linux-source-7.2)
	;;
trixie-backports)
	base=trixie
	# The backports kernel pulls backports' libelf, which libelf-dev must
	# match; the compiler must be trixie's own.
	KERNEL_PACKAGES=(linux-image-amd64 linux-headers-amd64 linux-source-7.3 libelf-dev)
	;;
*) die "usage: scripts/stock-kernel.sh forky|trixie-backports [--packages | --guest-tree KVER DIR]" ;;
esac
target=()
[ "$suite" = trixie-backports ] && target=(-t trixie-backports)
if [ "${2:-}" = --packages ]; then
	echo "apt install ${target[*]}${target[*]:+ }${KERNEL_PACKAGES[*]}"
	exit 0
fi
root="$NETATOP_CACHE/stock/$suite/root"
trap 'chroot_release "$root"' EXIT
mirror=$(debian_mirror)

if [ ! -f "$root/.netatop-bootstrapped" ]; then
	log "stock $suite: debootstrap of $base into $root" >&2
	debian_bootstrap minbase "$base" "$root"
	# No service of the chroot starts.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	{
		echo "deb $mirror $base main"
		[ "$suite" = trixie-backports ] && echo "deb $mirror trixie-backports main"
	} >"$root/etc/apt/sources.list"
	touch "$root/.netatop-bootstrapped"
fi

if [ "${2:-}" = --guest-tree ]; then
	kver=${3:?kernel release} tree=${4:?directory}
	[ -d "$root/lib/modules/$kver" ] || die "no kernel $kver in $root"
	[ -d "$tree" ] || die "no directory $tree"
	# The guest's root directory gets this one's mode.
	chmod 755 "$tree"
	mkdir -p "$tree/lib/modules/$kver" "$tree/bin" "$tree/sbin" "$tree/opt/stock/lib"
	cp "$root/lib/modules/$kver"/modules.* "$tree/lib/modules/$kver/"
	in_chroot "$root" modprobe -S "$kver" --show-depends -a netatop veth tun |
		sed -n 's/^insmod \([^ ]*\).*/\1/p' | while read -r lib; do
			mkdir -p "$tree$(dirname "$lib")"
			cp "$root$lib" "$tree$lib"
		done
	# kmod with the suite's own C library and loader, kept apart from the
	# guest's other programs and their libraries, in /opt/stock.
	cp "$root/usr/bin/kmod" "$tree/opt/stock/kmod"
	in_chroot "$root" ldd /usr/bin/kmod | grep -oE '/[^ ]+' | while read -r lib; do
		cp -L "$root$lib" "$tree/opt/stock/lib/"
	done
	# The suite's own atop, with its libraries beside kmod's.
	mkdir -p "$tree/usr/bin"
	cp "$root/usr/bin/atop" "$tree/opt/stock/atop"
	in_chroot "$root" ldd /usr/bin/atop | grep -oE '/[^ ]+' | while read -r lib; do
		cp -L "$root$lib" "$tree/opt/stock/lib/"
	done
	printf '#!/bin/sh\nexec /opt/stock/lib/%s --library-path /opt/stock/lib --argv0 atop /opt/stock/atop "$@"\n' \
		ld-linux-x86-64.so.2 >"$tree/usr/bin/atop"
	chmod 755 "$tree/usr/bin/atop"
	# Before busybox's applets on PATH, and where the kernel calls modprobe.
	for tool in modprobe insmod rmmod lsmod modinfo depmod; do
		printf '#!/bin/sh\nexec /opt/stock/lib/%s --library-path /opt/stock/lib --argv0 %s /opt/stock/kmod "$@"\n' \
			ld-linux-x86-64.so.2 "$tool" >"$tree/bin/$tool"
		chmod 755 "$tree/bin/$tool"
		ln -s "/bin/$tool" "$tree/sbin/$tool"
	done
	exit 0
fi

log "stock $suite: bringing the chroot up to date" >&2
in_chroot "$root" apt-get update -qq >&2 || die "apt-get update in the $suite chroot failed"
in_chroot "$root" apt-get install -y -qq --no-install-recommends "${SYSTEM_PACKAGES[@]}" >&2
in_chroot "$root" apt-get install -y -qq --no-install-recommends "${target[@]}" "${KERNEL_PACKAGES[@]}" >&2
in_chroot "$root" apt-get upgrade -y -qq --with-new-pkgs >&2
echo "$root"

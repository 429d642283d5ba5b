#!/usr/bin/env bash
# The life cycle of netatop's Debian packages on a Debian system of the
# suite with its stock kernel (scripts/stock-kernel.sh), as apt and the
# kernel packages drive it: install the previous version, which pulls
# what the packages depend on, and DKMS builds the module for the
# installed kernel; the kernel removed takes its build tree along; the
# kernel installed again gets the module; the upgrade to this version;
# and, with --purge, the purge, which must leave the file system as it
# was before the install.
#
#   tests/debian/lifecycle.sh SUITE ROOT DEBS PREVIOUS install
#   tests/debian/lifecycle.sh SUITE ROOT DEBS PREVIOUS prepare-boot
#   tests/debian/lifecycle.sh SUITE ROOT DEBS PREVIOUS purge
#
# DEBS and PREVIOUS hold the .deb files of this version and of the
# previous one (scripts/debian-packages.sh --previous). 'install' leaves
# this version installed; 'prepare-boot' takes netatopd back to the
# previous version, so that the booted system (tests/debian/system-test.sh)
# can upgrade it; 'purge' removes both packages. Reports each check in
# KTAP (vm/checks.sh).
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
. "$NETATOP_TOP/vm/checks.sh"

suite=$1 root=$2 debs=$3 previous=$4 step=$5
target=()
[ "$suite" = trixie-backports ] && target=(-t trixie-backports)
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$NETATOP_TOP/dkms.conf")
version=$(dpkg-deb -f "$(ls "$debs"/netatopd_*.deb)" Version)
prev_version=$(dpkg-deb -f "$(ls "$previous"/netatopd_*.deb)" Version)
kver=$(chroot_kernel_version "$root")
snapshot="$NETATOP_CACHE/stock/$suite/files-before-netatop"

# Every file of the system but the kernel's file systems and apt's,
# dpkg's and the logs' own book-keeping; DKMS's signing key
# (/var/lib/dkms/mok.key and mok.pub), made at its first build for every
# module of the machine, stays by design; so does /etc/hosts, which
# netbase (pulled in with perl) makes where a system has none and keeps.
file_list() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./run -o -path ./var/log -o -path ./var/cache -o -path ./var/lib/apt \
		-o -path ./var/lib/dpkg/triggers -o -path ./build \) -prune -o \
		! -path './var/lib/dpkg/status*' ! -path './var/lib/dpkg/available*' \
		! -path './var/lib/dpkg/lock*' ! -path './var/lib/dpkg/diversions*' \
		! -path ./var/lib/dkms ! -path './var/lib/dkms/mok.*' ! -path './etc/ld.so.cache' \
		! -path ./etc/hosts \
		! -path './var/lib/dpkg/info/format' -print | sort)
}

# DKMS's own view: netatop built and installed for KVER.
dkms_installed() { # KVER
	local status
	status=$(in_chroot "$root" dkms status -m netatop -k "$1")
	echo "$status" | grep -q "^netatop/$dkms_version, $1, [^:]*: installed" ||
		{ echo "dkms status for $1: '$status'"; return 1; }
	in_chroot "$root" modinfo -k "$1" -n netatop | grep -q "^/lib/modules/$1/updates/dkms/netatop.ko" ||
		{ echo "modinfo -k $1: $(in_chroot "$root" modinfo -k "$1" -n netatop 2>&1)"; return 1; }
	[ -f "$root/usr/src/netatop-kbuild-$1/rust/libkernel.rmeta" ] ||
		{ echo "no Rust metadata in /usr/src/netatop-kbuild-$1"; return 1; }
}

installed_version() { # PACKAGE VERSION
	local got
	got=$(in_chroot "$root" dpkg-query -W -f='${Status} ${Version}' "$1" 2>&1)
	[ "$got" = "install ok installed $2" ] || { echo "$1: $got, expected $2"; return 1; }
}

units_enabled() {
	local unit
	for unit in netatop.service netatopd.service; do
		[ -L "$root/etc/systemd/system/multi-user.target.wants/$unit" ] ||
			{ echo "$unit is not enabled"; return 1; }
	done
	ls "$root"/etc/rc2.d/S*netatop >/dev/null 2>&1 || { echo "no /etc/rc2.d link for the init script"; return 1; }
}

install_previous() {
	local dep missing=()
	# What the packages depend on is not on the system before.
	for dep in dkms rustc rust-src bindgen libclang-dev dwarves; do
		in_chroot "$root" dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'ok installed' &&
			missing+=("$dep")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "already installed before: ${missing[*]}"; return 1; }
	mkdir -p "$root/build"
	cp "$previous"/*.deb "$root/build/"
	chroot_apt "$root" install /build/netatop-dkms_"$prev_version"_all.deb \
		/build/netatopd_"$prev_version"_amd64.deb >"$NETATOP_TOP/out/vm-test/debian-$suite-install.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-install.log"; return 1; }
	for dep in dkms rustc rust-src bindgen libclang-dev dwarves; do
		in_chroot "$root" dpkg-query -W -f='${Status}' "$dep" | grep -q 'ok installed' ||
			{ echo "$dep was not pulled in"; return 1; }
	done
	installed_version netatop-dkms "$prev_version" && installed_version netatopd "$prev_version"
}

remove_kernel() {
	chroot_apt "$root" purge "linux-image-$kver" linux-image-amd64 "linux-headers-$kver" linux-headers-amd64 \
		>"$NETATOP_TOP/out/vm-test/debian-$suite-kernel-remove.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-kernel-remove.log"; return 1; }
	[ ! -e "$root/usr/src/netatop-kbuild-$kver" ] || { echo "/usr/src/netatop-kbuild-$kver is still there"; return 1; }
	[ ! -e "$root/var/lib/dkms/netatop/$dkms_version/$kver" ] || { echo "DKMS still lists $kver"; return 1; }
	[ -z "$(find "$root/lib/modules/$kver" -name 'netatop.ko*' 2>/dev/null)" ] || { echo "netatop.ko of $kver is still there"; return 1; }
}

install_kernel() {
	chroot_apt "$root" install "${target[@]}" linux-image-amd64 linux-headers-amd64 \
		>"$NETATOP_TOP/out/vm-test/debian-$suite-kernel-install.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-kernel-install.log"; return 1; }
	dkms_installed "$kver"
}

upgrade() {
	cp "$debs"/*.deb "$root/build/"
	chroot_apt "$root" install /build/netatop-dkms_"$version"_all.deb /build/netatopd_"$version"_amd64.deb \
		>"$NETATOP_TOP/out/vm-test/debian-$suite-upgrade.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-upgrade.log"; return 1; }
	installed_version netatop-dkms "$version" && installed_version netatopd "$version" && dkms_installed "$kver"
}

downgrade_netatopd() {
	chroot_apt "$root" install --allow-downgrades /build/netatopd_"$prev_version"_amd64.deb \
		>"$NETATOP_TOP/out/vm-test/debian-$suite-downgrade.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-downgrade.log"; return 1; }
	installed_version netatopd "$prev_version"
}

# The purge leaves the system as it was: after it, apt may keep packages
# our dependencies pulled in because a package of the user's recommends
# them (linux-source recommends the kernel's build tools); those are
# purged too, then every file must be as before.
purge() {
	local after extra
	chroot_apt "$root" purge --autoremove netatop-dkms netatopd >"$NETATOP_TOP/out/vm-test/debian-$suite-purge.log" 2>&1 ||
		{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-purge.log"; return 1; }
	extra=$(chroot_packages "$root" | comm -13 "$snapshot.packages" -)
	if echo "$extra" | grep -q '^netatop'; then
		echo "still installed: $extra"
		return 1
	fi
	if [ -n "$extra" ]; then
		echo "kept by apt as recommended, purged: $(echo $extra)" >>"$NETATOP_TOP/out/vm-test/debian-$suite-purge.log"
		# shellcheck disable=SC2086 # one argument per package
		chroot_apt "$root" purge $extra >>"$NETATOP_TOP/out/vm-test/debian-$suite-purge.log" 2>&1 ||
			{ tail -n 30 "$NETATOP_TOP/out/vm-test/debian-$suite-purge.log"; return 1; }
	fi
	rm -rf "$root/build"
	after=$(mktemp)
	file_list >"$after"
	if ! diff -u "$snapshot" "$after" >"$after.diff"; then
		echo "the system differs from before the install:"
		grep '^[-+]\.' "$after.diff" | head -n 40
		rm -f "$after" "$after.diff"
		return 1
	fi
	rm -f "$after" "$after.diff"
}

mkdir -p "$NETATOP_TOP/out/vm-test"
case "$step" in
install)
	# A run that stopped half way left our packages: purge them first.
	chroot_apt "$root" purge --autoremove netatop-dkms netatopd >/dev/null 2>&1 || true
	rm -rf "$root/build"
	file_list >"$snapshot"
	chroot_packages "$root" >"$snapshot.packages"
	check apt_install_of_the_previous_version_pulls_the_dependencies install_previous
	check dkms_built_and_installed_the_module_for_the_installed_kernel dkms_installed "$kver"
	check units_and_init_script_are_enabled units_enabled
	check removed_kernel_takes_its_module_and_build_tree remove_kernel
	check kernel_installed_later_gets_the_module install_kernel
	check upgrade_to_this_version_rebuilds_the_module upgrade
	check units_stay_enabled_over_the_upgrade units_enabled
	;;
prepare-boot)
	check netatopd_downgrades_to_the_previous_version downgrade_netatopd
	;;
purge)
	check purge_leaves_no_file_behind purge
	;;
*) die "unknown step $step" ;;
esac
chroot_release "$root"
summary

#!/usr/bin/env bash
# scripts/bench.sh --stock SUITE: the benchmark on the kernel a user of
# SUITE runs (see scripts/bench.sh). In the suite's chroot with its stock
# kernel (scripts/stock-kernel.sh) this tree's netatop-dkms package
# (scripts/debian-packages.sh) is installed, so DKMS builds the module as
# it does for a user; the floor and, with NETATOP_BENCH_C, netatop 3.2.2
# are built there with the suite's compiler against its linux-headers.
# Then the package is purged, with whatever it pulled in, and Debian's
# kernel image boots with that module tree to run netatop-bench.
#
#   scripts/bench-stock.sh SUITE [--rounds N] [--seconds S] [--records N]
set -euo pipefail
. "$(dirname "$0")/env.sh"

suite=${1:?usage: scripts/bench-stock.sh SUITE [--rounds N] [--seconds S] [--records N]}
shift
"$NETATOP_TOP/scripts/setup.sh"
"$NETATOP_TOP/scripts/build.sh"
root=$("$NETATOP_TOP/scripts/stock-kernel.sh" "$suite")
kver=$(chroot_kernel_version "$root")
[ -f "$root/boot/vmlinuz-$kver" ] || die "no kernel image $kver in $root"

work="$NETATOP_CACHE/bench-stock/$suite"
rm -rf "$work"
mkdir -p "$work"
log "bench on $suite's $kver: building the packages"
rc=0
"$NETATOP_TOP/scripts/debian-packages.sh" "$suite" "$work/debs" >"$work/packages.log" 2>&1 || rc=$?
# 2: lintian had something to say, which is the tests' business.
[ $rc -eq 0 ] || [ $rc -eq 2 ] || { tail -n 30 "$work/packages.log"; die "the packages did not build"; }
deb=$(basename "$(ls "$work"/debs/netatop-dkms_*_all.deb)")

chroot_packages "$root" >"$work/packages.before"
chroot_build="$root/tmp/netatop-bench"
tree=$(mktemp -d)
# The chroot is left with the packages it had.
restore_chroot() {
	local extra
	chroot_apt "$root" purge --autoremove netatop-dkms >>"$work/apt.log" 2>&1 || true
	extra=$(chroot_packages "$root" | comm -13 "$work/packages.before" -)
	# shellcheck disable=SC2086 # one argument per package
	[ -z "$extra" ] || chroot_apt "$root" purge $extra >>"$work/apt.log" 2>&1 || true
	rm -rf "$chroot_build"
	chroot_release "$root"
}
trap 'restore_chroot; rm -rf "$tree"' EXIT

mkdir -p "$chroot_build"
cp "$work/debs/$deb" "$chroot_build/"
log "bench on $suite's $kver: installing $deb (DKMS builds the module)"
chroot_apt "$root" install "/tmp/netatop-bench/$deb" >"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log"; die "netatop-dkms did not install"; }

headers=/usr/src/linux-headers-$kver
mkdir -p "$chroot_build/floor"
cp -p "$NETATOP_TOP"/bench/floor/{Kbuild,netatop_floor.c} "$chroot_build/floor/"
in_chroot "$root" make -s -C "$headers" M=/tmp/netatop-bench/floor modules
"$NETATOP_TOP/scripts/stock-kernel.sh" "$suite" --guest-tree "$kver" "$tree"
module=/$(cd "$tree" && find lib/modules -name 'netatop.ko*' | head -n 1)
[ "$module" != / ] || die "DKMS installed no netatop module for $kver"
configs=(none=- floor=/lib/modules/netatop_floor.ko "netatop=$module" "no-readers=$module:readers=0"
	"100k=$module@records")
if [ -n "${NETATOP_BENCH_C:-}" ]; then
	mkdir -p "$chroot_build/c"
	c_netatop_sources "$NETATOP_BENCH_C" "$chroot_build/c"
	in_chroot "$root" make -s -C "$headers" M=/tmp/netatop-bench/c modules
	configs+=(c-3.2.2=/lib/modules/c/netatop.ko)
fi
# The guest's files are out of the chroot: it goes back as it was.
mkdir -p "$work/modules"
cp "$chroot_build/floor/netatop_floor.ko" "$work/modules/"
files=(-f "$work/modules/netatop_floor.ko:/lib/modules/netatop_floor.ko")
if [ -n "${NETATOP_BENCH_C:-}" ]; then
	cp "$chroot_build/c/netatop.ko" "$work/modules/netatop-3.2.2.ko"
	files+=(-f "$work/modules/netatop-3.2.2.ko:/lib/modules/c/netatop.ko")
fi
restore_chroot
trap 'rm -rf "$tree"' EXIT

# netatop-bench loads each module with insmod: the modules netatop needs
# (the netfilter socket lookup) are loaded first, by modprobe, and stay.
log "bench on $suite's $kver: booting it"
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --kernel "$root/boot/vmlinuz-$kver" --tree "$tree" \
	--timeout 3000 "${files[@]}" -- \
	"modprobe netatop && rmmod netatop && netatop-bench $* ${configs[*]} &&
	insmod $module && netatopd && sleep 1 && netatop-exit-storm 10000"

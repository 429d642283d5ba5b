#!/usr/bin/env bash
# Build netatop's Debian packages for SUITE the way a Debian builder does:
# 'dpkg-buildpackage -us -uc -b' in a chroot of the suite holding nothing
# but build-essential and the Build-Depends of debian/control, then
# lintian of the same suite on the result.
#
#   scripts/debian-packages.sh SUITE OUTDIR [--previous]
#
# The crates of Cargo.lock are vendored on this machine into the copied
# tree's vendor/, so the build in the chroot runs offline.
#
# SUITE is forky or trixie (trixie-backports builds in trixie: only the
# kernel comes from backports). OUTDIR receives the .deb files, the
# .changes, the build log (build.log) and lintian's output (lintian.log).
# With --previous the same tree is built again, after the first build, as
# the lower version the life-cycle tests upgrade from (changelog version
# with its revision one lower, e.g. 4.0-0 for 4.0-1), into OUTDIR/previous.
#
# The chroot with the Build-Depends is cached under
# $NETATOP_CACHE/debian-build/SUITE and made anew when they change; every
# build runs in a fresh copy of it, so nothing of an earlier build (nor
# lintian, installed after the build) is there for the next one.
# Exit status: 1 if the build failed, 2 if lintian reported an error or a
# warning (its output is in OUTDIR/lintian.log).
set -euo pipefail
. "$(dirname "$0")/env.sh"

suite=${1:-}
out=${2:-}
previous=${3:-}
case "$suite" in
forky|trixie) ;;
trixie-backports) suite=trixie ;;
*) die "usage: scripts/debian-packages.sh forky|trixie OUTDIR [--previous]" ;;
esac
[ -n "$out" ] || die "usage: scripts/debian-packages.sh forky|trixie OUTDIR [--previous]"
mkdir -p "$out"
out=$(cd "$out" && pwd)

cache="$NETATOP_CACHE/debian-build/$suite"
base="$cache/base"
work="$cache/work"
version=$(dpkg-parsechangelog -l "$NETATOP_TOP/debian/changelog" -S Version)
upstream=${version%-*}
# The base is valid for exactly these Build-Depends.
want=$(sed -n '/^Build-Depends:/,/^[^ ]/p' "$NETATOP_TOP/debian/control" | cksum)
trap 'chroot_release "$work"; chroot_release "$base"' EXIT

if [ "$(cat "$base/.netatop-build-depends" 2>/dev/null)" != "$want" ]; then
	log "debian $suite: a build chroot with the Build-Depends in $base" >&2
	debian_bootstrap buildd "$suite" "$base"
	echo "deb $(debian_mirror) $suite main" >"$base/etc/apt/sources.list"
	mkdir -p "$base/build/netatop/debian"
	cp "$NETATOP_TOP/debian/control" "$base/build/netatop/debian/control"
	in_chroot "$base" apt-get update -qq >&2
	in_chroot "$base" sh -c 'cd /build/netatop && apt-get build-dep -y -qq ./' >&2 ||
		die "installing the Build-Depends in the $suite chroot failed"
	rm -rf "$base/build"
	chroot_release "$base"
	echo "$want" >"$base/.netatop-build-depends"
fi

log "debian $suite: dpkg-buildpackage of $version in a copy of the build chroot" >&2
rm -rf "$work"
cp -a "$base" "$work"
src="/build/netatop-$upstream"
mkdir -p "$work$src"
(cd "$NETATOP_TOP" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 cp -p --parents -t "$work$src")
# The crates Cargo.lock pins, vendored here as a builder without network
# provides them (debian/rules), so the build itself runs offline.
CARGO_HOME="$NETATOP_CACHE/cargo-vendor-home" cargo vendor --quiet --locked \
	--manifest-path "$work$src/Cargo.toml" "$work$src/vendor" >/dev/null ||
	die "cargo vendor failed"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
if ! in_chroot "$work" sh -c "cd $src && dpkg-buildpackage -us -uc -b" >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	exit 1
fi
cp "$work"/build/*.deb "$work"/build/*.changes "$work"/build/*.buildinfo "$out/"

if [ "$previous" = --previous ]; then
	prev="${upstream}-$((${version##*-} - 1))"
	log "debian $suite: the same tree as version $prev" >&2
	rm -f "$work"/build/*.deb "$work"/build/*.changes "$work"/build/*.buildinfo
	sed -i "1s/($version)/($prev)/" "$work$src/debian/changelog"
	rm -f "$work$src/debian/files"
	mkdir -p "$out/previous"
	rm -f "$out"/previous/*.deb
	in_chroot "$work" sh -c "cd $src && dpkg-buildpackage -us -uc -b -nc" >"$out/previous/build.log" 2>&1 ||
		{ tail -n 30 "$out/previous/build.log" >&2; exit 1; }
	cp "$work"/build/*.deb "$out/previous/"
fi

log "debian $suite: lintian" >&2
in_chroot "$work" apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1 ||
	die "installing lintian in the $suite chroot failed"
changes=$(cd "$out" && ls ./*.changes)
cp "$out/$changes" "$out"/*.deb "$out"/*.buildinfo "$work/build/" 2>/dev/null || true
set +e
in_chroot "$work" sh -c "cd /build && lintian --fail-on error,warning --display-info ${changes#./}" >"$out/lintian.log" 2>&1
rc=$?
set -e
chroot_release "$work"
rm -rf "$work"
[ $rc -eq 0 ] || { cat "$out/lintian.log" >&2; exit 2; }
ls "$out"/*.deb

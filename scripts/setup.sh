#!/usr/bin/env bash
# Set up everything the build and the VM tests need, idempotently:
#   1. Debian packages (toolchain, QEMU, busybox, atop, linters);
#   2. bindgen-cli, installed under $NETATOP_CACHE/tools;
#   3. the Linux source (linux-source-7.2 from Debian's forky suite, fetched
#      as one .deb with a private apt configuration);
#   4. a test kernel built from kernel/netatop-test.config, cached under
#      $NETATOP_CACHE/build keyed by kernel version and configuration;
#   5. a lean kernel, without tracepoints and the netfilter socket lookup
#      (kernel/netatop-lean.config), cached the same way.
# A second run finds everything in place and does nothing expensive.
#
#   scripts/setup.sh           the above
#   scripts/setup.sh --bench   also a benchmark kernel: the same without the
#                              debugging options (kernel/netatop-bench.config)
#   scripts/setup.sh --packages  only step 1
set -euo pipefail
. "$(dirname "$0")/env.sh"

PACKAGES=(
	rustc-web rust-web-src rust-web-clippy
	clang-19 lld-19 llvm-19 libclang-19-dev
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod xz-utils
	qemu-system-x86 busybox-static atop mandoc iproute2 ethtool python3
	dkms systemd debootstrap
)
BINDGEN_VERSION=0.72.1

time_phase() {
	local name=$1; shift
	local t0=$SECONDS
	"$@"
	log "phase '$name' took $((SECONDS - t0)) s"
}

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "Debian packages: all present"
		return
	fi
	log "Debian packages: installing ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "installing packages needs root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# qemu-system-x86 from bookworm conflicts with a newer qemu-utils
	# backport some images carry; nothing here needs qemu-utils.
	apt-get install -y -qq --no-install-recommends --allow-downgrades \
		-o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

install_bindgen() {
	local bin="$NETATOP_CACHE/tools/bin/bindgen"
	if [ -x "$bin" ] && "$bin" --version | grep -q " $BINDGEN_VERSION\$"; then
		log "bindgen $BINDGEN_VERSION: present"
		return
	fi
	log "bindgen $BINDGEN_VERSION: installing under $NETATOP_CACHE/tools"
	cargo install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION" \
		--root "$NETATOP_CACHE/tools"
}

# Writes the path of the extracted kernel source to stdout.
fetch_kernel_source() {
	local srcroot="$NETATOP_CACHE/src"
	mkdir -p "$srcroot"
	local found
	found=$(ls -d "$srcroot"/linux-source-"$NETATOP_KSERIES" 2>/dev/null || true)
	if [ -n "$found" ] && [ -f "$found/.netatop-extracted" ]; then
		log "kernel source: $(cat "$found/.netatop-extracted") present" >&2
		echo "$found"
		return
	fi

	local aptdir="$NETATOP_CACHE/apt-forky"
	mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial"
	local mirror
	mirror=$(debian_mirror)
	cat >"$aptdir/sources.list" <<-EOF
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror forky main
	EOF
	local aptopts=(-o Dir::Etc::SourceList="$aptdir/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$aptdir/lists"
		-o Dir::Cache::Archives="$aptdir/archives"
		-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
	log "kernel source: reading the forky suite from $mirror" >&2
	apt-get "${aptopts[@]}" update -qq >&2 ||
		die "could not read the forky package lists from $mirror"

	local pkg="linux-source-$NETATOP_KSERIES"
	if ! apt-cache "${aptopts[@]}" show "$pkg" >/dev/null 2>&1; then
		local newest
		newest=$(apt-cache "${aptopts[@]}" pkgnames linux-source-7. 2>/dev/null |
			sort -V | tail -n1)
		[ -n "$newest" ] || die "neither $pkg nor any linux-source-7.x is in forky any more"
		log "kernel source: $pkg is gone from forky; falling back to $newest" >&2
		pkg=$newest
		NETATOP_KSERIES=${pkg#linux-source-}
	fi
	local ver
	ver=$(apt-cache "${aptopts[@]}" show "$pkg" | awk '/^Version:/{print $2; exit}')
	log "kernel source: downloading $pkg $ver" >&2
	(cd "$aptdir/archives" && apt-get "${aptopts[@]}" download -qq "$pkg" >&2)
	local deb
	deb=$(ls -t "$aptdir/archives/${pkg}"_*.deb | head -n1)
	local tmp="$srcroot/tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	dpkg-deb -x "$deb" "$tmp/deb"
	tar -C "$tmp" -xf "$tmp/deb/usr/src/$pkg.tar.xz"
	rm -rf "$srcroot/$pkg"
	mv "$tmp/$pkg" "$srcroot/$pkg"
	rm -rf "$tmp" "$deb"
	echo "$pkg $ver" >"$srcroot/$pkg/.netatop-extracted"
	log "kernel source: $pkg $ver extracted" >&2
	echo "$srcroot/$pkg"
}

# Builds a kernel from tinyconfig plus the fragments given, unless a
# build for the same source and fragments is cached, and writes its path
# to $NETATOP_CACHE/$pointer.
build_kernel() {
	local src=$1 pointer=$2
	shift 2
	local kver key out frag
	kver=$(make -s -C "$src" kernelversion)
	key=$(cat "$@" "$src/.netatop-extracted" | sha256sum | cut -c1-12)
	out="$NETATOP_CACHE/build/linux-$kver-$key"
	if [ -f "$out/.netatop-built" ]; then
		log "kernel ($pointer): $out present"
	else
		log "kernel ($pointer): building $kver in $out"
		rm -rf "$out"
		mkdir -p "$out"
		# The effective fragment: later fragments override earlier ones.
		frag="$out/netatop.config"
		effective_fragment "$@" >"$frag"
		local mk=(make -s -C "$src" O="$out" "${KMAKE_VARS[@]}")
		"${mk[@]}" tinyconfig >/dev/null
		"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >/dev/null
		"${mk[@]}" olddefconfig >/dev/null
		"${mk[@]}" rustavailable >/dev/null || die "Rust is not available for this kernel build"
		check_config "$out/.config" "$frag"
		"${mk[@]}" -j"$(nproc)" bzImage modules_prepare
		"${mk[@]}" -j"$(nproc)" modules
		touch "$out/.netatop-built"
	fi
	echo "$out" >"$NETATOP_CACHE/$pointer"
}

# The CONFIG_ lines of the given fragments, the last setting of each
# option winning.
effective_fragment() {
	grep -h '^CONFIG_' "$@" | awk -F= '{ v[$1] = $0; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
		END { for (i = 0; i < n; i++) print v[order[i]] }'
}

# Every option the fragment sets must survive olddefconfig: a silently
# dropped dependency would give a kernel that tests less than it claims.
check_config() {
	local config=$1 frag=$2 bad=0 line opt
	while read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}
			grep -qx "$opt=y" "$config" && { echo "  $opt is set" >&2; bad=1; } ;;
		CONFIG_*) grep -qxF "$line" "$config" || { echo "  $line missing" >&2; bad=1; } ;;
		esac
	done <"$frag"
	[ $bad -eq 0 ] || die "the test kernel config lost options of $frag (see above)"
}

bench=0
case "${1:-}" in
--bench) bench=1 ;;
--packages) time_phase packages install_packages; exit 0 ;;
"") ;;
*) die "usage: scripts/setup.sh [--bench | --packages]" ;;
esac

mkdir -p "$NETATOP_CACHE"
time_phase packages install_packages
# bindgen compiles while the kernel source downloads.
time_phase bindgen install_bindgen &
bindgen_pid=$!
SRC=
fetch_source_phase() { SRC=$(fetch_kernel_source); }
time_phase kernel-source fetch_source_phase
wait "$bindgen_pid"
test_frag="$NETATOP_TOP/kernel/netatop-test.config"
# The test and the lean kernel build at once: each build spends long
# stretches on one core (the Rust crates, the links), which the other's
# compilers fill.
build_test_and_lean() {
	build_kernel "$SRC" kernel-lean "$test_frag" \
		"$NETATOP_TOP/kernel/netatop-bench.config" "$NETATOP_TOP/kernel/netatop-lean.config" &
	local lean=$!
	build_kernel "$SRC" kernel-current "$test_frag"
	wait "$lean"
}
time_phase kernel-builds build_test_and_lean
if [ $bench -eq 1 ]; then
	time_phase bench-kernel-build build_kernel "$SRC" kernel-bench \
		"$test_frag" "$NETATOP_TOP/kernel/netatop-bench.config"
fi
log "setup complete: test kernel in $(cat "$NETATOP_CACHE/kernel-current")"

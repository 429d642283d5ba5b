# Common settings for the development scripts; sourced, not run.
#
# Everything expensive (toolchain, kernel source, kernel build) lives under
# $NETATOP_CACHE, outside the repository, so a second run reuses it.

NETATOP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NETATOP_CACHE=${NETATOP_CACHE:-$HOME/.cache/netatop-dev}

# Kernel version the tests are pinned to; setup falls back to the newest
# linux-source-7.x it can find when this exact package is gone.
NETATOP_KSERIES=${NETATOP_KSERIES:-7.2}

export PATH="/usr/lib/llvm-19/bin:$NETATOP_CACHE/tools/bin:$HOME/.cargo/bin:$PATH"
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

# Variables every kernel-tree make needs: Debian's rustc-web has rust-src,
# the rustup toolchain does not.
KMAKE_VARS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
            HOSTRUSTC=/usr/bin/rustc BINDGEN=bindgen)

# The shared libraries the host program BINARY needs, copied into the tree
# ROOT at the same paths.
copy_libs() { # ROOT BINARY
	local lib
	ldd "$2" | grep -oE '/[^ ]+' | while read -r lib; do
		mkdir -p "$1$(dirname "$lib")"
		cp -L "$lib" "$1$lib"
	done
}

# Where scripts/build.sh builds the module's KUnit test build (relative to
# the top directory).
KUNIT_MODULE_DIR=out/kunit-module
# The module built for the lean kernel (kernel/netatop-lean.config).
LEAN_MODULE_DIR=out/lean-module

# Copies the module's source files (those DKMS gets: tracked or new, not
# ignored) into DIR, keeping their times, so a build there is incremental.
copy_module_sources() { # DIR
	mkdir -p "$1"
	(cd "$NETATOP_TOP" &&
		git ls-files -z --cached --others --exclude-standard Kbuild Makefile include module tools |
		xargs -0 cp -p --parents -t "$1")
}

# The Debian mirror this machine's apt uses.
debian_mirror() {
	local mirror
	mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		head -n1 | tr -d ' ' || true)
	if [ -z "$mirror" ]; then
		mirror=$(grep -hE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null |
			head -n1 | awk '{print $2}' || true)
	fi
	[ -n "$mirror" ] || die "cannot find the Debian mirror in /etc/apt/sources.list*"
	echo "$mirror"
}

# A chroot of the Debian SUITE in DIR made with debootstrap's VARIANT
# (minbase, buildd) from this machine's mirror, its apt set up as this
# machine's is.
debian_bootstrap() { # VARIANT SUITE DIR
	local script=/usr/share/debootstrap/scripts/$2
	# This machine's debootstrap may predate the suite: the sid script
	# serves every later suite.
	[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
	rm -rf "$3"
	mkdir -p "$3"
	debootstrap --variant="$1" "$2" "$3" "$(debian_mirror)" "$script" >&2 ||
		die "debootstrap of $2 failed"
	# Testing suites' Release files may carry a Valid-Until in the past on
	# this mirror; this machine's apt ignores it too.
	printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
		>"$3/etc/apt/apt.conf.d/99netatop-valid-until"
}

# Runs COMMAND in the chroot DIR with a clean environment and /proc
# mounted (apt and objtool need it); chroot_release unmounts it.
in_chroot() { # DIR COMMAND...
	local dir=$1
	shift
	mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive chroot "$dir" "$@"
}
chroot_release() { # DIR
	! mountpoint -q "$1/proc" || umount "$1/proc"
}
# apt-get in the chroot DIR, as a script runs it: no questions, no
# recommended packages.
chroot_apt() { # DIR ARGS...
	local dir=$1
	shift
	in_chroot "$dir" apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@"
}
# The version of the kernel the chroot DIR's linux-image-amd64 stands for.
chroot_kernel_version() { # DIR
	in_chroot "$1" dpkg-query -W -f='${Depends}' linux-image-amd64 | tr ',' '\n' |
		sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p'
}
# The packages installed in the chroot DIR, sorted, one a line.
chroot_packages() { # DIR
	in_chroot "$1" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort
}

# netatop 3.2.2's sources from SRC in DIR, with a Kbuild file that builds
# them: its K&R-style declarations are errors for today's compilers.
c_netatop_sources() { # SRC DIR
	[ -f "$1/netatop.c" ] || die "no netatop.c in $1: give netatop 3.2.2's source directory"
	cp -p "$1"/netatop.c "$1"/*.h "$2"
	printf 'obj-m := netatop.o\nccflags-y := -Wno-error -Wno-strict-prototypes\n' >"$2/Kbuild"
}

log() { printf '\033[1m[%s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The kernel build directory for the current config fragment and source,
# written by setup.sh: the test kernel, or with NETATOP_KERNEL=bench the
# benchmark kernel, with NETATOP_KERNEL=lean the lean one.
kernel_build_dir() {
	local f="$NETATOP_CACHE/kernel-current"
	case "${NETATOP_KERNEL:-test}" in
	bench) f="$NETATOP_CACHE/kernel-bench" ;;
	lean) f="$NETATOP_CACHE/kernel-lean" ;;
	esac
	[ -f "$f" ] || die "no test kernel yet: run scripts/setup.sh first"
	cat "$f"
}

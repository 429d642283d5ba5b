#!/usr/bin/env bash
# Measure what netatop costs per packet: boots the benchmark kernel (the
# test kernel without its debugging options; built on first use, about 9
# minutes) and runs netatop-bench (tests/guest/src/bench.rs) over these
# configurations, interleaved in every round:
#   none     no module
#   floor    bench/floor: empty hooks where netatop hooks (the floor)
#   netatop  netatop.ko as built from this tree, default parameters
#   no-readers  the same with readers=0 (no probe on socket reads): what
#            charging receive-only sockets to their readers costs
#   100k     netatop while it holds 100 000 socket records
#   c-3.2.2  with NETATOP_BENCH_C=DIR: netatop 3.2.2's netatop.c from DIR
#            (the C original, IPv4 hooks only; not part of this project)
#   LABEL    with NETATOP_BENCH_EXTRA="LABEL=FILE ...": the module FILE (a
#            netatop.ko built for the benchmark kernel, e.g. a variant with
#            a part of the packet path left out)
# then, with netatopd running, netatop-exit-storm: 10 000 short-lived
# processes, how fast netatopd drains them and how long EMPTY_EXIT waits.
#
# With --stock SUITE (forky) it measures on the kernel a user of SUITE
# runs instead: Debian's own image, booted with its module tree, netatop
# built there by DKMS from this tree's netatop-dkms package (installed in
# the suite's chroot of scripts/stock-kernel.sh, and purged again after),
# the floor and, with NETATOP_BENCH_C, netatop 3.2.2 built with the
# suite's gcc against its linux-headers. No profile there (Debian ships
# no System.map).
#
# With --profile N it times nothing: it boots the same configurations
# once under a QEMU plugin (bench/profile) that counts the instructions
# the kernel executes during exactly N transactions of each request/reply
# workload, and prints them per transaction, by function, against the
# first configuration. Counts differ by up to about 60 instructions from
# boot to boot: compare builds in one boot (NETATOP_BENCH_EXTRA).
#
#   scripts/bench.sh [--rounds N] [--seconds S] [--records N]
#   scripts/bench.sh --stock SUITE [--rounds N] [--seconds S] [--records N]
#   scripts/bench.sh --profile N [--records N]
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "${1:-}" = --stock ]; then
	suite=${2:?usage: scripts/bench.sh --stock SUITE [--rounds N] [--seconds S] [--records N]}
	shift 2
	exec "$NETATOP_TOP/scripts/bench-stock.sh" "$suite" "$@"
fi

"$NETATOP_TOP/scripts/setup.sh" --bench
"$NETATOP_TOP/scripts/build.sh"
export NETATOP_KERNEL=bench
KDIR=$(kernel_build_dir)
tools=$(sh "$NETATOP_TOP/tools/kernel-toolchain.sh" "$KDIR")

# The modules for the benchmark kernel, built in copies of the sources so
# the test build in the top directory stays as it is.
modsrc="$NETATOP_CACHE/bench-module"
copy_module_sources "$modsrc"
make -s -C "$modsrc" module KDIR="$KDIR"
floor="$NETATOP_CACHE/bench-floor"
mkdir -p "$floor"
cp -p "$NETATOP_TOP"/bench/floor/{Kbuild,netatop_floor.c} "$floor"
# shellcheck disable=SC2086 # $tools is a list of make variables
make -s -C "$KDIR" M="$floor" $tools modules

files=(-f "$floor/netatop_floor.ko:/lib/modules/netatop_floor.ko")
configs=(none=- floor=/lib/modules/netatop_floor.ko netatop=/lib/modules/netatop.ko
	no-readers=/lib/modules/netatop.ko:readers=0 100k=/lib/modules/netatop.ko@records)
if [ -n "${NETATOP_BENCH_C:-}" ]; then
	csrc="$NETATOP_CACHE/bench-c"
	# The build directory is emptied first: it cannot be the sources.
	[ "$(realpath "$NETATOP_BENCH_C")" != "$(realpath -m "$csrc")" ] ||
		die "NETATOP_BENCH_C: $NETATOP_BENCH_C is the benchmark's build directory; give netatop 3.2.2's own source directory"
	rm -rf "$csrc"
	mkdir -p "$csrc"
	c_netatop_sources "$NETATOP_BENCH_C" "$csrc"
	# shellcheck disable=SC2086
	make -s -C "$KDIR" M="$csrc" $tools modules
	files+=(-f "$csrc/netatop.ko:/lib/modules/c/netatop.ko")
	configs+=(c-3.2.2=/lib/modules/c/netatop.ko)
fi

for spec in ${NETATOP_BENCH_EXTRA:-}; do
	label=${spec%%=*}
	files+=(-f "${spec#*=}:/lib/modules/$label/netatop.ko")
	configs+=("$label=/lib/modules/$label/netatop.ko")
done

profile=
for ((i = 1; i <= $#; i++)); do
	if [ "${!i}" = --profile ]; then
		j=$((i + 1))
		profile=${!j:-}
	fi
done
if [ -n "$profile" ]; then
	plugin="$NETATOP_CACHE/netatop_profile.so"
	gcc -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden \
		-o "$plugin" "$NETATOP_TOP/bench/profile/netatop_profile.c"
	out=$(mktemp -d "${TMPDIR:-/tmp}/netatop-profile.XXXXXX")
	trap 'rm -rf "$out"' EXIT
	NETATOP_PROFILE_MARK=$(awk '$3 == "__x64_sys_sync" { print $1 }' "$KDIR/System.map")
	[ -n "$NETATOP_PROFILE_MARK" ] || die "no __x64_sys_sync in $KDIR/System.map"
	export NETATOP_PROFILE_MARK NETATOP_PROFILE_OUT="$out/window"
	"$NETATOP_TOP/scripts/vm-run.sh" --no-build --module "$modsrc/netatop.ko" --timeout 3000 \
		--plugin "$plugin" "${files[@]}" -- "netatop-bench $* ${configs[*]}" >"$out/bench"
	python3 "$NETATOP_TOP/bench/profile/report.py" "$KDIR/System.map" "$out/bench" \
		"$out/window" "$profile"
	exit
fi

exec "$NETATOP_TOP/scripts/vm-run.sh" --no-build --module "$modsrc/netatop.ko" --timeout 3000 \
	"${files[@]}" -- "netatop-bench $* ${configs[*]} && insmod /lib/modules/netatop.ko && netatopd && sleep 1 && netatop-exit-storm 10000"

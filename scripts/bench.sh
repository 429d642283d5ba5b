#!/usr/bin/env bash
# Measure what netatop costs: boots the benchmark kernel (the test kernel
# without its debugging options; built on first use, about 9 minutes) and
# runs netatop-bench, which measures loopback UDP packet rate and TCP
# throughput over IPv4 and IPv6 without the module, with it, and with it
# holding 100 000 socket records, and prints the ratios; then, with
# netatopd running, netatop-exit-storm: 10 000 short-lived processes,
# how fast netatopd drains them and how long EMPTY_EXIT waits. Arguments
# are passed to netatop-bench (--udp-packets N, --tcp-bytes N, --rounds N).
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$NETATOP_TOP/scripts/setup.sh" --bench
"$NETATOP_TOP/scripts/build.sh"
export NETATOP_KERNEL=bench
KDIR=$(kernel_build_dir)
# The module for the benchmark kernel, built in a copy of the sources so
# the test build in the top directory stays as it is.
modsrc="$NETATOP_CACHE/bench-module"
copy_module_sources "$modsrc"
make -s -C "$modsrc" module KDIR="$KDIR"
exec "$NETATOP_TOP/scripts/vm-run.sh" --no-build --module "$modsrc/netatop.ko" --timeout 3000 \
	-- "netatop-bench $* && insmod /lib/modules/netatop.ko && netatopd && sleep 1 && netatop-exit-storm 10000"

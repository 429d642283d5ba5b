#!/usr/bin/env bash
# Build netatop.ko against the cached test kernel, the daemon, and the
# static programs that run inside the test VM. Incremental.
set -euo pipefail
. "$(dirname "$0")/env.sh"

KDIR=$(kernel_build_dir)
cd "$NETATOP_TOP"
make -s module KDIR="$KDIR"
make -s daemon
# Static binaries for the busybox guest, in their own target directory so
# the host build's cache stays valid.
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked \
	--target x86_64-unknown-linux-gnu --target-dir target/guest \
	-p netatop-guest-tests -p netatopd

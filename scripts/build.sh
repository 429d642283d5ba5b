#!/usr/bin/env bash
# Build netatop.ko against the cached test kernel, its KUnit test build
# (in $KUNIT_MODULE_DIR, from a copy of the sources), the module for the
# lean kernel (in $LEAN_MODULE_DIR, likewise), the daemon, and the static
# programs that run inside the test VM. Incremental.
set -euo pipefail
. "$(dirname "$0")/env.sh"

KDIR=$(kernel_build_dir)
cd "$NETATOP_TOP"
make -s module KDIR="$KDIR"
copy_module_sources "$NETATOP_TOP/$KUNIT_MODULE_DIR"
make -s -C "$NETATOP_TOP/$KUNIT_MODULE_DIR" module KDIR="$KDIR" NETATOP_KUNIT=1
copy_module_sources "$NETATOP_TOP/$LEAN_MODULE_DIR"
make -s -C "$NETATOP_TOP/$LEAN_MODULE_DIR" module KDIR="$(NETATOP_KERNEL=lean kernel_build_dir)"
make -s daemon
# Static binaries for the busybox guest, in their own target directory so
# the host build's cache stays valid.
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked \
	--target x86_64-unknown-linux-gnu --target-dir target/guest \
	-p netatop-guest-tests -p netatopd

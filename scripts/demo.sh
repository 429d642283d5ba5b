#!/usr/bin/env bash
# Set everything up (idempotent), build, and boot the test VM to show
# netatop at work: load the module, generate TCP and UDP traffic, and
# show what the module counted.
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$NETATOP_TOP/scripts/setup.sh"
"$NETATOP_TOP/scripts/build.sh"
log "booting the demo VM (QEMU, software emulation: about a minute)"
exec "$NETATOP_TOP/scripts/vm-run.sh" --no-build \
	--file "$NETATOP_TOP/vm/demo.sh:/demo.sh" -- sh /demo.sh

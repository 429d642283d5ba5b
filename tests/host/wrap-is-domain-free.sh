#!/usr/bin/env bash
# module/wrap/ is written as kernel abstractions are: it names nothing of
# the driver or the logic (no crate:: path at all).
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1

wrap_is_domain_free() {
	! grep -rn 'crate::' module/wrap.rs module/wrap/
}
wrap_is_domain_free "$@"

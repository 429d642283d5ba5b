#!/usr/bin/env bash
# The module's files formatted with the kernel's own rustfmt
# configuration.
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1

module_rustfmt() {
	local ksrc
	ksrc=$(readlink -f "$(kernel_build_dir)/source")
	rustfmt --check --edition 2021 --config-path "$ksrc/.rustfmt.toml" \
		module/netatop_main.rs module/logic/lib.rs module/logic/build.rs
}
module_rustfmt "$@"

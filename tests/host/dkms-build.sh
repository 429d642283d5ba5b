#!/usr/bin/env bash
# DKMS: 'dkms add' and 'dkms build' of the tracked source files, in private
# trees under DIR (nothing of the host's /usr/src, /var/lib/dkms or
# /lib/modules is touched), against the test kernel; the module it builds
# is left in DIR/netatop-dkms.ko.
#
#   tests/host/dkms-build.sh DIR
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1
kver=$(cat "$(kernel_build_dir)/include/config/kernel.release")
dkms_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
dkms_dir=$1

dkms_build() {
	local ver=$dkms_ver src tree=("--sourcetree" "$dkms_dir/src" "--dkmstree" "$dkms_dir/dkms")
	src="$dkms_dir/src/netatop-$ver"
	mkdir -p "$src" "$dkms_dir/dkms"
	git ls-files -z | xargs -0 cp --parents -t "$src"
	dkms add -m netatop -v "$ver" "${tree[@]}" &&
		dkms build -m netatop -v "$ver" -k "$kver" --kernelsourcedir "$(kernel_build_dir)" "${tree[@]}" &&
		dkms status -m netatop -v "$ver" -k "$kver" "${tree[@]}" | grep -q ': built$\|, built$' &&
		cp "$dkms_dir/dkms/netatop/$ver/$kver/$(uname -m)/module/netatop.ko" "$dkms_dir/netatop-dkms.ko"
}
dkms_build "$@"

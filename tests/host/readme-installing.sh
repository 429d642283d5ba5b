#!/usr/bin/env bash
# README's "Installing" tells Debian users to install exactly the kernel
# packages the stock kernel tests install, and names the packages
# of this version; the DKMS module's version is the packages' upstream
# version.
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
cd "$NETATOP_TOP" || exit 1
dkms_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)

readme_install_check() {
	local suite line version rc=0
	for suite in forky trixie-backports; do
		while read -r line; do
			grep -qxF "$line" README.md || { echo "README lacks: $line"; rc=1; }
		done < <("$NETATOP_TOP/scripts/stock-kernel.sh" "$suite" --packages)
	done
	version=$(dpkg-parsechangelog -l debian/changelog -S Version)
	line="apt install ../netatop-dkms_${version}_all.deb ../netatopd_${version}_amd64.deb"
	grep -qxF "$line" README.md || { echo "README lacks: $line"; rc=1; }
	[ "${version%-*}" = "$dkms_ver" ] || { echo "dkms.conf has $dkms_ver, debian/changelog $version"; rc=1; }
	grep -qF "/usr/src/netatop-$dkms_ver" README.md || { echo "README lacks /usr/src/netatop-$dkms_ver"; rc=1; }
	# The booted system configures atop's logging service with README's line.
	line=$(sed -n 's/^\t\(sed -i .*LOGOPTS.* systemctl restart atop\) || return 1$/\1/p' tests/debian/system-test.sh)
	[ -n "$line" ] && grep -qxF "$line" README.md || { echo "README lacks the logging service line '$line'"; rc=1; }
	return $rc
}
readme_install_check "$@"

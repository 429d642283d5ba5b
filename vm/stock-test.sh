#!/bin/sh
# Inside a VM running a distribution's own kernel, with netatop installed
# in its module tree by DKMS: that this is the kernel expected, that
# modprobe loads the DKMS module, then the in-guest tests named.
#
#   sh /stock-test.sh KERNEL-RELEASE TEST...
. /checks.sh
kver=$1
shift
echo "uname -r: $(uname -r)"
check runs_the_stock_kernel test "$(uname -r)" = "$kver"
modprobe_check() {
	modprobe netatop || return 1
	grep -q '^netatop ' /proc/modules || { echo "not in /proc/modules"; return 1; }
	path=$(modinfo -n netatop) || return 1
	case "$path" in
	*/updates/dkms/*) ;;
	*) echo "loaded from $path, not DKMS's tree"; return 1 ;;
	esac
	head -n 1 /proc/netatop || return 1
	rmmod netatop
}
check modprobe_loads_the_dkms_module modprobe_check
summary
netatop-guest-test "$@"

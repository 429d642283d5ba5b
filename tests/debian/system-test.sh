#!/bin/sh
# Run inside a booted Debian system (scripts/vm-run.sh --disk): Debian's
# kernel, its systemd as PID 1, netatop's packages installed with apt
# (tests/debian/lifecycle.sh), netatopd at the previous version, and the
# suite's atop with its services. Nobody has started anything of ours.
# Reports each check in KTAP (vm/checks.sh) and ends with "N passed,
# N failed".
#
#   sh /system-test.sh KERNEL-RELEASE NETATOPD-DEB
#
# NETATOPD-DEB is this version's netatopd package, for the upgrade.
. /checks.sh
kver=$1
deb=$2
# The chroot this system was made from keeps its services from starting
# (tests/debian/lifecycle.sh); a booted system has no such policy.
rm -f /usr/sbin/policy-rc.d
# The wire bytes of a UDP IPv4 datagram of SIZE bytes on loopback.
udp4_wire() {
	echo $(($1 + 8 + 20 + 14 + 4))
}
udp_sent() {
	sed -n 's/^udpsndpacks: *\([0-9]*\).*/\1/p' /proc/netatop
}

check runs_the_stock_kernel test "$(uname -r)" = "$kver"
loaded_at_boot() {
	systemctl is-active netatop.service || return 1
	grep -q '^netatop ' /proc/modules || { echo "not in /proc/modules"; return 1; }
	path=$(modinfo -n netatop) || return 1
	case "$path" in
	/lib/modules/$kver/updates/dkms/*) ;;
	*) echo "loaded from $path, not DKMS's tree"; return 1 ;;
	esac
}
check module_is_loaded_at_boot_from_dkms loaded_at_boot
daemon_at_boot() {
	systemctl is-active netatopd.service || return 1
	# Started, it makes its log first thing.
	i=0
	while [ ! -f /run/netatop.log ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -f /run/netatop.log ] || { echo "no /run/netatop.log 10 s after netatopd.service started"; return 1; }
	[ "$(pidof netatopd)" = "$(systemctl show -p MainPID --value netatopd.service)" ] ||
		{ echo "netatopd pid $(pidof netatopd), the unit's $(systemctl show -p MainPID --value netatopd.service)"; return 1; }
}
check netatopd_runs_at_boot daemon_at_boot

# The suite's atop with -K, live and for exited processes through the
# packaged netatopd (tests/guest/src/atop.rs).
netatop-guest-test atop_shows_exact_process_and_thread_counters atop_shows_a_receive_only_process \
	atop_shows_exited_process_counters_via_netatopd >/tmp/guest.out 2>&1
ktap_results /tmp/guest.out || report atop_tests_ran fail "$(tail -n 3 /tmp/guest.out)"

# An upgrade of netatopd under a running 'atop -K': the module stays
# loaded with its counters, the daemon is restarted with the new binary,
# and atop shows the exact counters of a process that exited after it.
upgrade_under_atop() {
	old=$(systemctl show -p MainPID --value netatopd.service)
	before=$(udp_sent)
	# atop takes its first sample now and the others only when told
	# (SIGUSR1: one more; SIGUSR2: a last one): trixie's atop ends
	# with "#threads (N) < #procs (N+1)" when a process starts within
	# one of its samples, as dpkg's do.
	atop -K -P PRN 3600 10 >/tmp/upgrade-atop.out 2>&1 &
	atop=$!
	sleep 3
	t0=$(date +%s)
	apt-get install -y -q "$deb" >/tmp/upgrade.log 2>&1 ||
		{ tail -n 20 /tmp/upgrade.log; return 1; }
	took=$(($(date +%s) - t0))
	new=$(systemctl show -p MainPID --value netatopd.service)
	[ "$new" -gt 0 ] && [ "$new" != "$old" ] || { echo "netatopd pid $old before, $new after"; return 1; }
	want=$(dpkg-deb -f "$deb" Version)
	[ "$(dpkg-query -W -f='${Version}' netatopd)" = "$want" ] || { echo "netatopd is not at $want"; return 1; }
	after=$(udp_sent)
	[ "$after" -ge "$before" ] || { echo "udpsndpacks $before before, $after after: the module was reloaded"; return 1; }
	kill -0 "$atop" || { echo "atop ended (the upgrade took $took s)"; tail -n 5 /tmp/upgrade-atop.out; return 1; }
	# atop takes up the new log at its next sample.
	kill -USR1 "$atop"
	sleep 3
	netatop-traffic udp 127.0.0.1 7 10 >/dev/null &
	sender=$!
	wait "$sender"
	sleep 4
	kill -USR2 "$atop"
	wait "$atop"
	w=$(udp4_wire 10)
	got=$(netatop-prn-sum "$sender" </tmp/upgrade-atop.out) || return 1
	[ "$got" = "0 0 0 0 7 $((7 * w)) 7 $((7 * w))" ] ||
		{ echo "atop shows '$got' for the sender $sender, expected 0 0 0 0 7 $((7 * w)) 7 $((7 * w))"; return 1; }
}
check upgrade_restarts_netatopd_and_atop_goes_on_counting upgrade_under_atop

# atop's logging service configured as README says (LOGOPTS="-K"), with
# a short interval for the test: its raw log shows the exact counters of
# a process that ran and exited while it logged.
logging_service() {
	sed -i 's/^LOGINTERVAL=.*/LOGINTERVAL=2/' /etc/default/atop
	# README's line, word for word (scripts/test.sh checks it is there).
	sed -i 's/^LOGOPTS=.*/LOGOPTS="-K"/' /etc/default/atop && systemctl restart atop || return 1
	sleep 5
	systemctl is-active atop.service || return 1
	netatop-traffic udp 127.0.0.1 9 20 >/dev/null &
	sender=$!
	wait "$sender"
	sleep 8
	systemctl stop atop.service
	log=$(ls -t /var/log/atop/atop_* | head -n 1)
	[ -n "$log" ] || { echo "no raw log in /var/log/atop"; return 1; }
	w=$(udp4_wire 20)
	got=$(atop -r "$log" -P PRN | netatop-prn-sum "$sender") || return 1
	[ "$got" = "0 0 0 0 9 $((9 * w)) 9 $((9 * w))" ] ||
		{ echo "atop -r $log shows '$got' for the sender $sender, expected 0 0 0 0 9 $((9 * w)) 9 $((9 * w))"; return 1; }
}
check atop_logging_service_records_an_exited_process logging_service
summary

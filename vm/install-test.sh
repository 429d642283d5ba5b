# Run inside the test VM by scripts/test.sh over a root installed with
# 'make install DESTDIR=...'. Reports each check in KTAP (vm/checks.sh)
# and ends with "N passed, N failed".
. /checks.sh
kver=$(uname -r)

check installed_files_are_in_place test -f /lib/modules/$kver/extra/netatop.ko -a -x /usr/sbin/netatopd \
	-a -f /usr/share/man/man4/netatop.4 -a -f /usr/share/man/man8/netatopd.8 -a -x /etc/init.d/netatop \
	-a -f /lib/systemd/system/netatop.service -a -f /lib/systemd/system/netatopd.service
check depmod_finds_the_module sh -c "depmod && grep -q extra/netatop.ko /lib/modules/$kver/modules.dep"
check modinfo_shows_the_parameters sh -c "modinfo /lib/modules/$kver/extra/netatop.ko | grep -q 'parm:.*sockmem' && modinfo /lib/modules/$kver/extra/netatop.ko | grep -q 'parm:.*taskmem'"
# The same module as 'dkms build' made it from the source tree (scripts/test.sh).
check dkms_built_module_loads_and_unloads sh -c "insmod /root/netatop-dkms.ko && grep -q modversion /proc/netatop && rmmod netatop"
check status_when_stopped_is_3 expect_status 3 /etc/init.d/netatop status
check start_loads_module_and_daemon sh -c "/etc/init.d/netatop start && grep -q '^netatop ' /proc/modules && pidof netatopd"
check status_when_running_is_0 expect_status 0 /etc/init.d/netatop status
# reload keeps the module and its counters (a running atop keeps netatop)
# and the daemon.
reload_check() {
	pid=$(pidof netatopd) || return 1
	netatop-traffic udp 127.0.0.1 5 10 >/dev/null || return 1
	before=$(sed -n 's/^udpsndpacks: *\([0-9]*\).*/\1/p' /proc/netatop)
	/etc/init.d/netatop reload || return 1
	after=$(sed -n 's/^udpsndpacks: *\([0-9]*\).*/\1/p' /proc/netatop)
	[ "$before" -ge 5 ] && [ "$after" -ge "$before" ] ||
		{ echo "udpsndpacks $before before reload, $after after"; return 1; }
	[ "$(pidof netatopd)" = "$pid" ] || { echo "daemon $pid replaced by $(pidof netatopd)"; return 1; }
}
check reload_keeps_the_module_and_the_daemon reload_check
# restart gives a new daemon and keeps the module with its counters (as
# a package upgrade restarts it under a running atop).
restart_check() {
	old=$(pidof netatopd) || return 1
	before=$(sed -n 's/^udpsndpacks: *\([0-9]*\).*/\1/p' /proc/netatop)
	/etc/init.d/netatop restart || return 1
	new=$(pidof netatopd) || { echo "no netatopd after restart"; return 1; }
	[ "$new" != "$old" ] || { echo "netatopd $old was not replaced"; return 1; }
	after=$(sed -n 's/^udpsndpacks: *\([0-9]*\).*/\1/p' /proc/netatop)
	[ "$before" -ge 5 ] && [ "$after" -ge "$before" ] ||
		{ echo "udpsndpacks $before before restart, $after after: the module was reloaded"; return 1; }
}
check restart_gives_a_new_daemon_and_keeps_the_module restart_check
check stop_stops_daemon_and_unloads sh -c "/etc/init.d/netatop stop && ! pidof netatopd && ! grep -q '^netatop ' /proc/modules"
check status_after_stop_is_3 expect_status 3 /etc/init.d/netatop status
check unknown_action_is_usage_error_2 expect_status 2 /etc/init.d/netatop frobnicate
summary

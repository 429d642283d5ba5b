# Run inside the test VM booted with systemd as PID 1 (scripts/test.sh,
# vm-run.sh --systemd) over a root installed with 'make install
# DESTDIR=...': the packaged units, with their sandboxing, doing the real
# job. Reports each check in KTAP (vm/checks.sh) and ends with "N passed,
# N failed".
. /checks.sh
# What a package does after installing the files.
depmod

main_pid() {
	systemctl show -p MainPID --value netatopd.service
}
# FIELD of /proc/PID/status
proc_status() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}
sandboxed() {
	pid=$(main_pid)
	[ "$pid" -gt 0 ] || { echo "no main pid"; return 1; }
	# CAP_NET_ADMIN (12) for GETCNT_EXIT, CAP_SYS_NICE (23) for the
	# priority; nothing else.
	[ "$(proc_status "$pid" CapBnd)" = 0000000000801000 ] || { echo "CapBnd $(proc_status "$pid" CapBnd)"; return 1; }
	[ "$(proc_status "$pid" NoNewPrivs)" = 1 ] || { echo "NoNewPrivs unset"; return 1; }
	[ "$(proc_status "$pid" Seccomp)" = 2 ] || { echo "no seccomp filter"; return 1; }
	# The daemon raised its priority (nice -10, field 19 of stat).
	nice=$(cut -d' ' -f19 "/proc/$pid/stat")
	[ "$nice" = -10 ] || { echo "nice $nice, expected -10"; return 1; }
	# The root is read-only for it, /run is not (fields 5 and 6 of
	# mountinfo: mount point and options; the last mount of a point wins).
	root_opts=$(awk '$5 == "/" { o = $6 } END { print o }' "/proc/$pid/mountinfo")
	run_opts=$(awk '$5 == "/run" { o = $6 } END { print o }' "/proc/$pid/mountinfo")
	case ",$root_opts," in *,ro,*) ;; *) echo "/ mounted $root_opts"; return 1 ;; esac
	case ",$run_opts," in *,rw,*) ;; *) echo "/run mounted $run_opts"; return 1 ;; esac
	# A network namespace of its own.
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/1/ns/net)" ] || { echo "host network namespace"; return 1; }
}
# A start returns once the daemon is ready (Type=notify): its priority is
# raised and its log there as soon as systemctl returns, every time.
ready_when_started() {
	[ "$(systemctl show -p Type --value netatopd.service)" = notify ] || { echo "not Type=notify"; return 1; }
	for i in 1 2 3 4 5; do
		# Six starts in ten seconds would hit the unit's start limit.
		systemctl reset-failed netatopd.service
		systemctl restart netatopd.service || return 1
		pid=$(main_pid)
		nice=$(cut -d' ' -f19 "/proc/$pid/stat")
		[ "$nice" = -10 ] || { echo "restart $i: nice $nice when systemctl returned"; return 1; }
		[ -s /run/netatop.log ] || { echo "restart $i: no log when systemctl returned"; return 1; }
	done
}
reload_keeps_pid() {
	old=$(main_pid)
	systemctl reload netatopd.service || return 1
	sleep 1
	systemctl is-active --quiet netatopd.service && [ "$(main_pid)" = "$old" ]
}
restarted_after_kill() {
	old=$(main_pid)
	[ "$old" -gt 0 ] || { echo "no main pid"; return 1; }
	kill -KILL "$old"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 1
		new=$(main_pid)
		if [ "$new" -gt 0 ] && [ "$new" != "$old" ] && systemctl is-active --quiet netatopd.service; then
			return 0
		fi
	done
	echo "main pid $old -> $new, $(systemctl is-active netatopd.service)"
	return 1
}

loaded() {
	for unit in netatop.service netatopd.service; do
		state=$(systemctl show -p LoadState --value $unit)
		[ "$state" = loaded ] || { echo "$unit: $state"; return 1; }
	done
}

check units_load_cleanly loaded
check starting_the_daemon_loads_the_module sh -c 'systemctl start netatopd.service &&
	systemctl is-active --quiet netatop.service && systemctl is-active --quiet netatopd.service &&
	grep -q "^netatop " /proc/modules'
check daemon_runs_sandboxed sandboxed
check the_log_is_written_in_run test -s /run/netatop.log
check a_start_returns_once_the_daemon_is_ready ready_when_started
check atop_sees_exits_through_the_sandboxed_daemon \
	netatop-guest-test atop_shows_exited_process_counters_via_netatopd
check reload_keeps_the_daemon reload_keeps_pid
check killed_daemon_is_restarted restarted_after_kill
check stopping_the_module_unit_stops_the_daemon_first sh -c 'systemctl stop netatop.service &&
	! systemctl is-active --quiet netatopd.service && ! grep -q "^netatop " /proc/modules'
check daemon_stopped_cleanly sh -c '[ "$(systemctl show -p Result --value netatopd.service)" = success ]'
check is_active_reports_3_when_stopped expect_status 3 systemctl is-active --quiet netatopd.service
summary

#!/usr/bin/env bash
# Run every test of the project: set up (idempotent), build, run the host
# tests (cargo test, man page lint, packaging checks) and the VM boots
# (in-guest tests, installation, systemd), and list each test with its
# result. The last line is "N passed, N failed".
#
#   scripts/test.sh            everything
#   scripts/test.sh NAME...    the host tests and only the named guest tests
#                              (and the one that loads the module)
#
# Logs are kept in out/vm-test/: host logs at the top, each boot's console
# log, kernel log, output and splat list in a directory of its own.
set -uo pipefail
. "$(dirname "$0")/env.sh"

t0=$SECONDS
results=$(mktemp)
logs="$NETATOP_TOP/out/vm-test"
rm -rf "$logs"
mkdir -p "$logs"

# record NAME COMMAND...: "PASS NAME" or "FAIL NAME" by the command's
# status; its output is shown when it fails.
record() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "PASS $name" >>"$results"
	else
		echo "FAIL $name" >>"$results"
		[ -z "$out" ] || echo "$name: $out" | tail -n 40
	fi
}

# ktap_results NAME FILE: each KTAP result line of FILE ("ok N T",
# "not ok N T") as the result NAME::T; fails when FILE has none.
ktap_results() {
	sed -n "s/^ok [0-9][0-9]* \([^ ]*\).*/PASS $1::\1/p; s/^not ok [0-9][0-9]* \([^ ]*\).*/FAIL $1::\1/p" \
		"$2" >>"$results"
	grep -q '^ok [0-9]\|^not ok [0-9]' "$2"
}

# vm_tests NAME VM-RUN-ARGS...: one VM boot of tests, its logs kept in
# $logs/NAME. Each test it reports in KTAP becomes a result NAME::T;
# NAME::vm_finished_in_time and NAME::kernel_log_has_no_splat are added,
# and NAME::no_test_ran fails when it reported none.
vm_tests() {
	local name=$1 dir="$logs/$1" status
	shift
	mkdir -p "$dir"
	"$NETATOP_TOP/scripts/vm-run.sh" --no-build --keep "$dir" "$@" | tee "$dir/tests.log"
	status=${PIPESTATUS[0]}
	ktap_results "$name" "$dir/tests.log" || echo "FAIL $name::no_test_ran" >>"$results"
	record "$name::vm_finished_in_time" [ "$status" -ne 124 ]
	record "$name::kernel_log_has_no_splat" test -f "$dir/splats" -a ! -s "$dir/splats"
}

# Debian's own kernels, and netatop's Debian packages on them
# (scripts/debian-packages.sh): built in a clean chroot of the suite, and
# lintian; in a chroot of the suite with the stock kernel
# (scripts/stock-kernel.sh), their life cycle as apt drives it
# (tests/debian/lifecycle.sh); that stock kernel image booted with the
# installed module tree and the in-guest tests that need no debugging
# kernel; then the chroot itself booted as a whole system
# (tests/debian/system-test.sh), and last the purge. Results are named
# after the suite and the kernel release.
#
# The packages, the chroots and the life cycles up to the upgrade need no
# VM and none of the kernels setup.sh builds: they run in the background,
# both suites at once, while the kernels build and the host tests run
# (much of that work is downloads, dpkg and single-threaded compilers);
# the VM boots wait for them, so that nothing competes with a guest's
# clock.
stock_prepare() { # SUITE
	local suite=$1 root kver boot debs rc t0=$SECONDS
	debs="$logs/debian-$suite"
	"$NETATOP_TOP/scripts/debian-packages.sh" "$suite" "$debs" --previous >"$logs/debian-$suite-packages.log" 2>&1
	rc=$?
	record "debian-$suite::packages_build_in_a_clean_chroot_of_the_suite" [ $rc -ne 1 ]
	record "debian-$suite::lintian_reports_no_error_and_no_warning" [ $rc -eq 0 ]
	[ $rc -ne 1 ] || { tail -n 30 "$logs/debian-$suite-packages.log"; return; }
	[ $rc -eq 0 ] || tail -n 30 "$logs/debian-$suite-packages.log"
	if ! root=$("$NETATOP_TOP/scripts/stock-kernel.sh" "$suite" 2>"$logs/stock-$suite.log"); then
		echo "FAIL debian-$suite::chroot_with_the_stock_kernel" >>"$results"
		tail -n 20 "$logs/stock-$suite.log"
		return
	fi
	kver=$(chroot_kernel_version "$root")
	if [ ! -f "$root/boot/vmlinuz-$kver" ]; then
		echo "FAIL debian-$suite::stock_kernel_installed" >>"$results"
		return
	fi
	boot="debian-$suite-$kver"
	log "stock kernel $kver of $suite: packages and chroot ready after $((SECONDS - t0)) s"
	"$NETATOP_TOP/tests/debian/lifecycle.sh" "$suite" "$root" "$debs" "$debs/previous" install |
		tee "$logs/$boot-lifecycle.log"
	ktap_results "$boot" "$logs/$boot-lifecycle.log" || echo "FAIL $boot::no_lifecycle_check_ran" >>"$results"
	log "stock kernel $kver of $suite: life cycle up to the upgrade took $((SECONDS - t0)) s"
	chroot_release "$root"
	echo "$root" >"$logs/debian-$suite.root"
}
"$NETATOP_TOP/scripts/setup.sh" --packages || die "setup failed"
prepare_pids=()
for suite in forky trixie-backports; do
	stock_prepare "$suite" >"$logs/debian-$suite-prepare.out" 2>&1 &
	prepare_pids+=($!)
done
trap 'wait; rm -f "$results"' EXIT

"$NETATOP_TOP/scripts/setup.sh" || die "setup failed"
"$NETATOP_TOP/scripts/build.sh" || die "build failed"
log "setup and build took $((SECONDS - t0)) s"

# --- host tests ---
t1=$SECONDS
cd "$NETATOP_TOP"
cargo test --workspace --locked 2>&1 | tee "$logs/host-tests.log" |
	sed -n 's/^test \(.*\) \.\.\. \(ok\|FAILED\)$/\2 host::\1/p' |
	sed 's/^ok /PASS /; s/^FAILED /FAIL /' >>"$results"
grep -q '^test result: FAILED' "$logs/host-tests.log" &&
	! grep -q '^FAIL ' "$results" && echo "FAIL host::cargo_test" >>"$results"
grep -q '^test result:' "$logs/host-tests.log" || echo "FAIL host::cargo_test_build" >>"$results"

# Upstream's gates: rustfmt and clippy without warnings for the host
# crates, the daemon and the guest programs; the module's files formatted
# with the kernel's own rustfmt configuration; the module (with its KUnit
# suite) built with the kernel's CLIPPY=1 and no warning at all.
record host::cargo_fmt_check cargo fmt --all --check
record host::cargo_clippy_denies_warnings cargo clippy --workspace --all-targets --locked -- -D warnings
record host::module_rustfmt_with_the_kernels_config tests/host/module-rustfmt.sh
record host::module_builds_clean_under_kernel_clippy tests/host/module-clippy.sh
record host::wrap_names_nothing_of_the_driver_or_the_logic tests/host/wrap-is-domain-free.sh
record host::readme_installing_names_what_the_stock_tests_install tests/host/readme-installing.sh
# The man pages must lint clean (warnings and errors; style notes aside).
record host::man_pages_pass_mandoc_lint mandoc -T lint -W warning man/*.[0-9]
record host::make_uninstall_removes_what_install_put tests/host/make-uninstall.sh
record host::kernel_toolchain_picks_the_kernels_rustc_and_refuses_others tests/host/kernel-toolchain.sh
record host::rust_kbuild_uses_a_tree_with_metadata_and_names_what_is_missing tests/host/rust-kbuild.sh
# The module 'dkms build' makes is loaded in the installation boot below.
dkms_dir=$(mktemp -d)
dkms_check() {
	"$NETATOP_TOP/tests/host/dkms-build.sh" "$dkms_dir" >"$logs/dkms.log" 2>&1 && return 0
	tail -n 20 "$logs/dkms.log"
	find "$dkms_dir" -name make.log -exec tail -n 30 {} \;
	return 1
}
record host::dkms_builds_the_module_for_the_test_kernel dkms_check

# 'make install' into a staging root, with the shared libraries the
# installed netatopd needs; booted as the guest's root below.
stage=$(mktemp -d)
make -s install DESTDIR="$stage" KVER="$(cat "$(kernel_build_dir)/include/config/kernel.release")" >/dev/null
copy_libs "$stage" "$stage/usr/sbin/netatopd"

record host::systemd_units_verify_cleanly tests/host/units-verify.sh "$stage"
log "host tests took $((SECONDS - t1)) s"

t_wait=$SECONDS
wait "${prepare_pids[@]}"
log "waited $((SECONDS - t_wait)) s for the Debian suites' packages, chroots and life cycles"
cat "$logs"/debian-*-prepare.out

# --- VM boots ---
t2=$SECONDS
# A selection of guest tests gets the one that loads the module (the
# guest runs tests in its own order, that one among the first).
if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF module_loads_and_creates_proc_netatop; then
	set -- module_loads_and_creates_proc_netatop "$@"
fi
# The in-guest tests (tests/guest), in one boot.
vm_tests guest --timeout 1500 "netatop-guest-test $*"

# The installed tree as the guest's root: depmod, modinfo, the init
# script, and the module 'dkms build' made.
dkms_file=()
[ -f "$dkms_dir/netatop-dkms.ko" ] && dkms_file=(--file "$dkms_dir/netatop-dkms.ko:/root/netatop-dkms.ko")
vm_tests install --timeout 300 --tree "$stage" "${dkms_file[@]}" \
	--file "$NETATOP_TOP/vm/install-test.sh:/install-test.sh" -- sh /install-test.sh
rm -rf "$dkms_dir"

# The same tree with systemd as PID 1: the units start, reload, restart
# and stop the real thing, sandboxed.
vm_tests systemd --systemd --timeout 400 --tree "$stage" \
	--file "$NETATOP_TOP/vm/systemd-test.sh:/systemd-test.sh" -- sh /systemd-test.sh
rm -rf "$stage"

# A kernel without tracepoints and without the netfilter socket lookup
# (kernel/netatop-lean.config): the module builds for it and loads without
# its probes, counts exactly, and there every datagram to a closed port
# makes a record without an owner: a flood gives way to a later server.
lean_tests=(
	module_loads_and_creates_proc_netatop
	proc_counts_udp_v4_and_v6_loopback_packets_exactly
	udp_v4_loopback_counts_exact_per_process_and_thread
	udp_v6_loopback_counts_exact_per_process_and_thread
	tcp_v4_each_side_sends_what_the_peer_receives_and_totals_match_snmp
	received_before_sent_is_charged_at_first_send
	a_flood_gives_way_to_a_later_server
	atop_shows_exact_process_and_thread_counters
	module_unloads_cleanly
)
# The load message names both probes it could not register.
# shellcheck disable=SC2016 # expanded in the guest
lean_probes='. /checks.sh
	said() { dmesg | grep -qF "netatop: no probe on $1 (error -2)" || { echo "no \"no probe on $1\" in the kernel log"; return 1; }; }
	check load_says_there_is_no_probe_on_socket_reads said "socket reads"
	check load_says_there_is_no_probe_on_process_exits said "process exits"
	summary'
# scripts/test.sh NAME...: those of them (the first one loads the module).
[ $# -eq 0 ] || mapfile -t lean_tests < <(printf '%s\n' "${lean_tests[@]}" | grep -xF "$(printf '%s\n' "$@")")
[ ${#lean_tests[@]} -eq 0 ] ||
	NETATOP_KERNEL=lean vm_tests lean --module "$NETATOP_TOP/$LEAN_MODULE_DIR/netatop.ko" --timeout 900 \
		"netatop-guest-test ${lean_tests[*]}; $lean_probes"

stock_exclude=(
	kunit_suites_of_the_module_pass                      # needs our KUnit test build
	load_unload_100_times_under_load_without_leak        # needs kmemleak
	unread_socket_becomes_unident_after_60_seconds       # 60 s; the rule is the module's, not the kernel's
)
stock_tests=$("$NETATOP_TOP/target/guest/x86_64-unknown-linux-gnu/release/netatop-guest-test" --list |
	grep -vxF "$(printf '%s\n' "${stock_exclude[@]}")")
# scripts/test.sh NAME...: only those.
[ $# -eq 0 ] || stock_tests=$(echo "$stock_tests" | grep -xF "$(printf '%s\n' "$@")" || echo none_selected)
stock_boot() { # SUITE
	local suite=$1 root kver boot tree debs version t0=$SECONDS
	[ -f "$logs/debian-$suite.root" ] || return 0
	root=$(cat "$logs/debian-$suite.root")
	debs="$logs/debian-$suite"
	kver=$(chroot_kernel_version "$root")
	boot="debian-$suite-$kver"
	tree=$(mktemp -d)
	"$NETATOP_TOP/scripts/stock-kernel.sh" "$suite" --guest-tree "$kver" "$tree"
	chroot_release "$root"
	# shellcheck disable=SC2086 # one argument per test name
	vm_tests "$boot" --kernel "$root/boot/vmlinuz-$kver" --tree "$tree" --timeout 1500 \
		--file "$NETATOP_TOP/vm/stock-test.sh:/stock-test.sh" -- sh /stock-test.sh "$kver" $stock_tests
	rm -rf "$tree"
	# The whole system, booted, with netatopd at the previous version for
	# the upgrade in it.
	"$NETATOP_TOP/tests/debian/lifecycle.sh" "$suite" "$root" "$debs" "$debs/previous" prepare-boot |
		tee "$logs/$boot-prepare-boot.log"
	ktap_results "$boot" "$logs/$boot-prepare-boot.log"
	version=$(dpkg-deb -f "$(ls "$debs"/netatopd_*.deb)" Version)
	vm_tests "$boot-system" --kernel "$root/boot/vmlinuz-$kver" --initrd "$root/boot/initrd.img-$kver" \
		--disk "$root" --timeout 900 \
		--file "$NETATOP_TOP/tests/debian/system-test.sh:/system-test.sh" \
		--file "$(ls "$debs"/netatopd_*.deb):/root/netatopd_${version}_amd64.deb" \
		-- sh /system-test.sh "$kver" "/root/netatopd_${version}_amd64.deb"
	"$NETATOP_TOP/tests/debian/lifecycle.sh" "$suite" "$root" "$debs" "$debs/previous" purge |
		tee "$logs/$boot-purge.log"
	ktap_results "$boot" "$logs/$boot-purge.log"
	log "stock kernel $kver of $suite: boots and purge took $((SECONDS - t0)) s"
}
for suite in forky trixie-backports; do
	stock_boot "$suite"
done

# The splat check must be able to fail: a boot logs a fake BUG line and
# vm-run has to report it (status 125).
splat_selftest() {
	"$NETATOP_TOP/scripts/vm-run.sh" --no-build --timeout 300 \
		'echo "BUG: injected by the harness self-test" >/dev/kmsg' >/dev/null 2>&1
	[ $? -eq 125 ]
}
record harness::vm_run_reports_a_kernel_splat splat_selftest
# A WARNING early in a boot is reported although the kernel's log buffer
# has wrapped long before the end: LKDTM provokes a real WARN, then 8 MiB of
# informational lines (twice the buffer) push it out of the final dmesg.
# The hung-task detector is on: its timeout must be what the kernel says.
early_warn_selftest() {
	local dir="$logs/harness-early-warn" rc
	mkdir -p "$dir"
	"$NETATOP_TOP/scripts/vm-run.sh" --no-build --keep "$dir" --timeout 300 \
		'[ "$(cat /proc/sys/kernel/hung_task_timeout_secs)" = 30 ] || exit 3
		echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
		echo on >/proc/sys/kernel/printk_devkmsg
		i=0; while [ $i -lt 65536 ]; do
			echo "<6>netatop harness filler line $i: padding padding padding padding padding padding padding"
			i=$((i + 1)); done >/dev/kmsg
		echo done' >"$dir/tests.log" 2>&1
	rc=$?
	[ $rc -eq 125 ] || { echo "vm-run status $rc, not 125"; tail -n 20 "$dir/tests.log"; return 1; }
	grep -q 'lkdtm_WARNING' "$dir/splats" || { echo "the WARN is not in the splat list"; return 1; }
	! grep -q 'lkdtm_WARNING' "$dir/dmesg.log" || { echo "the log buffer did not wrap: the check proves nothing"; return 1; }
}
record harness::early_warning_is_reported_after_the_log_buffer_wrapped early_warn_selftest
log "VM boots took $((SECONDS - t2)) s (logs in $logs)"

echo
echo "=== results ==="
cat "$results"
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
log "total $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/usr/bin/env bash
# Run every test of the project: set up (idempotent), build, run the host
# unit tests (cargo test) and the in-guest tests in the test VM, and list
# each test with its result. The last line is "N passed, N failed".
#
#   scripts/test.sh            everything
#   scripts/test.sh NAME...    the host tests and only the named guest tests
#
# The VM's console log, kernel log and output are kept in out/vm-test/.
set -uo pipefail
. "$(dirname "$0")/env.sh"

t0=$SECONDS
"$NETATOP_TOP/scripts/setup.sh" || die "setup failed"
"$NETATOP_TOP/scripts/build.sh" || die "build failed"
log "setup and build took $((SECONDS - t0)) s"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
logs="$NETATOP_TOP/out/vm-test"
rm -rf "$logs"
mkdir -p "$logs"

# --- host unit tests ---
t1=$SECONDS
cd "$NETATOP_TOP"
cargo test --workspace --locked 2>&1 | tee "$logs/host-tests.log" |
	sed -n 's/^test \(.*\) \.\.\. \(ok\|FAILED\)$/\2 host::\1/p' |
	sed 's/^ok /PASS /; s/^FAILED /FAIL /' >>"$results"
grep -q '^test result: FAILED' "$logs/host-tests.log" &&
	! grep -q '^FAIL ' "$results" && echo "FAIL host::cargo_test" >>"$results"
grep -q '^test result:' "$logs/host-tests.log" || echo "FAIL host::cargo_test_build" >>"$results"
# The man pages must lint clean (warnings and errors; style notes aside).
if mandoc -T lint -W warning man/*.[0-9] >"$logs/mandoc.log" 2>&1; then
	echo "PASS host::man_pages_pass_mandoc_lint" >>"$results"
else
	echo "FAIL host::man_pages_pass_mandoc_lint" >>"$results"
	cat "$logs/mandoc.log"
fi
log "host tests took $((SECONDS - t1)) s"

# --- guest tests, one VM boot ---
t2=$SECONDS
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --keep "$logs" --timeout 1500 \
	"netatop-guest-test $*" | tee "$logs/guest-tests.log"
vm_rc=${PIPESTATUS[0]}
sed -n 's/^ok \([^ ]*\).*/PASS guest::\1/p; s/^FAIL \([^:]*\):.*/FAIL guest::\1/p' \
	"$logs/guest-tests.log" >>"$results"
if [ "$vm_rc" -eq 124 ]; then
	echo "FAIL guest::vm_finished_in_time" >>"$results"
else
	echo "PASS guest::vm_finished_in_time" >>"$results"
fi
if [ -f "$logs/splats" ] && [ ! -s "$logs/splats" ]; then
	echo "PASS guest::kernel_log_has_no_splat" >>"$results"
else
	echo "FAIL guest::kernel_log_has_no_splat" >>"$results"
fi
grep -q '^PASS guest::\|^FAIL guest::' "$results" || echo "FAIL guest::no_guest_test_ran" >>"$results"

# Lines "ok NAME" / "FAIL NAME: why" of a VM boot's LOG as results
# PREFIX::NAME; the boot's STATUS adds a failure when the VM hung (124) or
# the kernel logged a splat (125).
collect() { # PREFIX LOG STATUS
	sed -n "s/^ok \([^ ]*\).*/PASS $1::\1/p; s/^FAIL \([^:]*\):.*/FAIL $1::\1/p" "$2" >>"$results"
	grep -q '^ok \|^FAIL ' "$2" || echo "FAIL $1::no_test_ran" >>"$results"
	case $3 in
	124) echo "FAIL $1::vm_finished_in_time" >>"$results" ;;
	125) echo "FAIL $1::kernel_log_has_no_splat" >>"$results" ;;
	esac
}
kver=$(cat "$(kernel_build_dir)/include/config/kernel.release")

# A host check: PASS/FAIL host::NAME by the status of COMMAND, whose
# output is shown when it fails.
host_check() { # NAME COMMAND...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "PASS host::$name" >>"$results"
	else
		echo "FAIL host::$name" >>"$results"
		echo "$name: $out" | tail -n 40
	fi
}

# 'make uninstall' removes every file 'make install' put there.
uninstall_check() {
	local tree rc=0
	tree=$(mktemp -d)
	make -s install DESTDIR="$tree" KVER="$kver" >/dev/null &&
		[ -n "$(find "$tree" -type f)" ] &&
		make -s uninstall DESTDIR="$tree" KVER="$kver" >/dev/null &&
		[ -z "$(find "$tree" -type f)" ] || { find "$tree" -type f; rc=1; }
	rm -rf "$tree"
	return $rc
}
host_check make_uninstall_removes_what_install_put uninstall_check

# The Makefile's choice of compiler (module/kernel-toolchain.sh): the
# kernel's own rustc; another version, or a tree without a configured
# kernel, is refused with a message naming the problem.
toolchain_check() {
	local kdir out fake rc=0
	kdir=$(kernel_build_dir)
	out=$(sh module/kernel-toolchain.sh "$kdir") || return 1
	set -- $out
	[ "$("${1#RUSTC=}" --version)" = "$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT=//p' "$kdir/include/config/auto.conf")" ] ||
		{ echo "picked $out"; return 1; }
	fake=$(mktemp -d)
	printf '#!/bin/sh\necho "rustc 1.0.0 (elsewhere)"\n' >"$fake/rustc"
	chmod +x "$fake/rustc"
	if out=$(RUSTC="$fake/rustc" sh module/kernel-toolchain.sh "$kdir" 2>&1); then
		echo "accepted a rustc of another version: $out"; rc=1
	elif ! echo "$out" | grep -q "rustc 1.0.0 (elsewhere)"; then
		echo "message does not name the compiler's version: $out"; rc=1
	fi
	rm -rf "$fake"
	if out=$(sh module/kernel-toolchain.sh "$fake" 2>&1) || ! echo "$out" | grep -q "auto.conf not found"; then
		echo "a tree without a kernel: $out"; rc=1
	fi
	return $rc
}
host_check kernel_toolchain_picks_the_kernels_rustc_and_refuses_others toolchain_check

# DKMS: 'dkms add' and 'dkms build' of the tracked source files, in private
# trees (nothing of the host's /usr/src, /var/lib/dkms or /lib/modules is
# touched), against the test kernel. The module it builds is loaded in the
# installation boot below.
dkms_dir=$(mktemp -d)
dkms_build() {
	local ver src tree=("--sourcetree" "$dkms_dir/src" "--dkmstree" "$dkms_dir/dkms")
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	src="$dkms_dir/src/netatop-$ver"
	mkdir -p "$src" "$dkms_dir/dkms"
	git ls-files -z | xargs -0 cp --parents -t "$src"
	dkms add -m netatop -v "$ver" "${tree[@]}" &&
		dkms build -m netatop -v "$ver" -k "$kver" --kernelsourcedir "$(kernel_build_dir)" "${tree[@]}" &&
		dkms status -m netatop -v "$ver" -k "$kver" "${tree[@]}" | grep -q ': built$\|, built$' &&
		cp "$dkms_dir/dkms/netatop/$ver/$kver/$(uname -m)/module/netatop.ko" "$dkms_dir/netatop-dkms.ko"
}
dkms_check() {
	dkms_build >"$logs/dkms.log" 2>&1 && return 0
	tail -n 20 "$logs/dkms.log"
	find "$dkms_dir" -name make.log -exec tail -n 30 {} \;
	return 1
}
host_check dkms_builds_the_module_for_the_test_kernel dkms_check

# Installation: 'make install' into a staging root (with the shared
# libraries the installed netatopd needs), booted as the guest's root.
stage=$(mktemp -d)
make -s install DESTDIR="$stage" KVER="$kver" >/dev/null
ldd "$stage/usr/sbin/netatopd" | grep -oE '/[^ ]+' | while read -r lib; do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
dkms_file=()
[ -f "$dkms_dir/netatop-dkms.ko" ] && dkms_file=(--file "$dkms_dir/netatop-dkms.ko:/root/netatop-dkms.ko")
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --timeout 300 --tree "$stage" "${dkms_file[@]}" \
	--file "$NETATOP_TOP/vm/install-test.sh:/install-test.sh" -- sh /install-test.sh |
	tee "$logs/install-tests.log"
collect install "$logs/install-tests.log" "${PIPESTATUS[0]}"
rm -rf "$dkms_dir"

# The systemd units: 'systemd-analyze verify' of the installed units (in a
# root holding what they name), then a boot with systemd as PID 1 that
# starts, reloads, kills and stops them.
vroot=$(mktemp -d)
cp -a "$stage"/. "$vroot"/
mkdir -p "$vroot/usr/lib/systemd" "$vroot/usr/bin" "$vroot/usr/sbin"
cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"
ln -s usr/bin "$vroot/bin"
ln -s usr/sbin "$vroot/sbin"
cp /usr/bin/kmod /usr/bin/kill "$vroot/usr/bin/"
ln -s ../bin/kmod "$vroot/usr/sbin/modprobe"
if systemd-analyze verify --man=no --root="$vroot" "$vroot"/lib/systemd/system/netatop*.service \
	>"$logs/systemd-verify.log" 2>&1 && [ ! -s "$logs/systemd-verify.log" ]; then
	echo "PASS host::systemd_units_verify_cleanly" >>"$results"
else
	echo "FAIL host::systemd_units_verify_cleanly" >>"$results"
	cat "$logs/systemd-verify.log"
fi
rm -rf "$vroot"
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --systemd --timeout 400 --tree "$stage" \
	--file "$NETATOP_TOP/vm/systemd-test.sh:/systemd-test.sh" -- sh /systemd-test.sh |
	tee "$logs/systemd-tests.log"
collect systemd "$logs/systemd-tests.log" "${PIPESTATUS[0]}"
rm -rf "$stage"

# The splat check must be able to fail: a second boot logs a fake BUG line
# and vm-run has to report it (status 125).
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --timeout 300 \
	'echo "BUG: injected by the harness self-test" >/dev/kmsg' >/dev/null 2>&1
if [ $? -eq 125 ]; then
	echo "PASS harness::vm_run_reports_a_kernel_splat" >>"$results"
else
	echo "FAIL harness::vm_run_reports_a_kernel_splat" >>"$results"
fi
log "guest tests took $((SECONDS - t2)) s (logs in $logs)"

echo
echo "=== results ==="
cat "$results"
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
log "total $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

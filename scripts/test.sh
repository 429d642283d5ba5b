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

# Installation: 'make install' into a staging root (with the shared
# libraries the installed netatopd needs), booted as the guest's root.
stage=$(mktemp -d)
make -s install DESTDIR="$stage" KVER="$(cat "$(kernel_build_dir)/include/config/kernel.release")" >/dev/null
ldd "$stage/usr/sbin/netatopd" | grep -oE '/[^ ]+' | while read -r lib; do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
"$NETATOP_TOP/scripts/vm-run.sh" --no-build --timeout 300 --tree "$stage" \
	--file "$NETATOP_TOP/vm/install-test.sh:/install-test.sh" -- sh /install-test.sh |
	tee "$logs/install-tests.log"
rm -rf "$stage"
sed -n 's/^ok \([^ ]*\).*/PASS install::\1/p; s/^FAIL \([^:]*\):.*/FAIL install::\1/p' \
	"$logs/install-tests.log" >>"$results"
grep -q '^ok \|^FAIL ' "$logs/install-tests.log" || echo "FAIL install::no_install_test_ran" >>"$results"

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

# Helpers for the shell tests run inside the test VM; sourced. Each check
# prints "ok NAME" or "FAIL NAME: why" (the first line of what the check
# printed; up to 60 more follow, indented); summary prints "N passed,
# N failed" and returns non-zero when something failed.
pass=0 fail=0
check() { # NAME COMMAND...
	name=$1; shift
	if out=$("$@" 2>&1); then
		echo "ok $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: $(printf '%s\n' "$out" | head -n 1)"; fail=$((fail + 1))
		printf '%s\n' "$out" | sed -n '2,61s/^/    /p'
	fi
}
expect_status() { # WANT COMMAND...
	want=$1; shift
	"$@"; got=$?
	[ "$got" -eq "$want" ] || { echo "status $got, expected $want"; return 1; }
}
summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

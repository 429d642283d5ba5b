# Helpers for the shell tests run inside the test VM; sourced. Each check
# prints "ok NAME" or "FAIL NAME: why"; summary prints "N passed, N failed"
# and returns non-zero when something failed.
pass=0 fail=0
check() { # NAME COMMAND...
	name=$1; shift
	if out=$("$@" 2>&1); then
		echo "ok $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fail=$((fail + 1))
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

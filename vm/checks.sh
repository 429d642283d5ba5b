# Helpers for the shell tests, sourced in the test VM and on the host.
# Checks report in KTAP (the kernel's Documentation/dev-tools/ktap.rst):
# "ok N NAME", or what the check printed (up to 61 lines) as diagnostic
# lines and "not ok N NAME"; summary prints "N passed, N failed" and
# returns non-zero when something failed.
pass=0 fail=0
report() { # NAME ok|fail [WHY]
	[ $((pass + fail)) -gt 0 ] || echo "KTAP version 1"
	if [ "$2" = ok ]; then
		pass=$((pass + 1))
		echo "ok $((pass + fail)) $1"
	else
		fail=$((fail + 1))
		[ -z "${3:-}" ] || printf '%s\n' "$3" | head -n 61 | sed 's/^/# /'
		echo "not ok $((pass + fail)) $1"
	fi
}
check() { # NAME COMMAND...
	name=$1; shift
	if out=$("$@" 2>&1); then
		report "$name" ok
	else
		report "$name" fail "$out"
	fi
}
# The results of the KTAP output in FILE reported as checks here, each
# with the diagnostic lines before it; fails when FILE has none.
ktap_results() { # FILE
	found='' why=''
	while IFS= read -r line; do
		case $line in
		"# "*) why="${why:+$why
}${line#\# }" ;;
		"ok "[0-9]* | "not ok "[0-9]*)
			# shellcheck disable=SC2086 # split into its words
			set -- $line
			if [ "$1" = ok ]; then report "$3" ok; else report "$4" fail "$why"; fi
			found=1 why='' ;;
		esac
	done <"$1"
	[ -n "$found" ]
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

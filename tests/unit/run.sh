#!/bin/sh
# Run every test_* binary in the given directories (TAP output passes
# through); print a summary with test-program and check counts.
# Exit 0 only if every program passes.
pass=0 fail=0 checks=0 bad=0 failed=""
log=$(mktemp /tmp/nc-unit.XXXXXX) || exit 1
for dir in "$@"; do
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		echo "# --- $t"
		"$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		checks=$((checks + $(grep -c '^ok ' "$log")))
		bad=$((bad + $(grep -c '^not ok ' "$log")))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			failed="$failed $t"
		fi
	done
done
rm -f "$log"
echo "# unit tests: $pass passed, $fail failed, $((pass + fail)) programs; checks: $checks ok, $bad not ok"
[ -n "$failed" ] && echo "# failed:$failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]

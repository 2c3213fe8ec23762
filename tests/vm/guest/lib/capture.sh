# Sourced by guest tests: run nestvmm --capture and take a capture.
# Needs common.sh (note, fail, stat_of) sourced first; sets $pid, $cap, $st.

# wait_for CMD...: poll once a second up to $wait_max seconds while $pid lives.
wait_for() {
	i=0
	while [ $i -lt "$wait_max" ]; do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}
all_running() { [ -s "$st" ] && ! grep -q '^vcpu[0-9]*\.state created' "$st"; }
l2_counted() { [ "$(stat_of "$st" vcpu0.l2_count)" -gt 0 ] 2>/dev/null; }
nested_flags() { od -A n -t u2 -N 2 "$cap/vcpu0/nested.bin" 2>/dev/null | tr -d ' '; }

# capture_start DIR DURATION OUT: nestvmm with an L2 and an L1 vCPU, running.
# DURATION is running time; give room for retries and stop it with SIGTERM.
capture_start() {
	cap=$1 st=$1.stats
	rm -rf "$cap" "$st"
	nestvmm --duration "$2" --stats "$st" --capture "$cap" --vcpu l2 --vcpu l1 >"$3" 2>&1 &
	pid=$!
	wait_for all_running || fail "vCPUs never all ran"
	wait_for l2_counted || fail "L2 never counted"
}

# capture_take: SIGHUP until DIR/done shows vcpu0 in L2 (a kick can land
# while L1 handles an L2 exit); the vCPUs stay held. Sets $tries.
capture_take() {
	tries=1
	while :; do
		rm -f "$cap/done"
		kill -HUP "$pid" || { fail "nestvmm is gone"; return 1; }
		wait_for test -f "$cap/done" || { fail "no $cap/done after SIGHUP"; return 1; }
		flags=$(nested_flags)
		[ $((${flags:-0} & 1)) = 1 ] && return 0
		[ $tries -ge 20 ] && return 1
		note "capture $tries: vcpu0 not in guest mode (nested flags ${flags:-?}); again"
		kill -HUP "$pid"
		sleep 1
		tries=$((tries + 1))
	done
}

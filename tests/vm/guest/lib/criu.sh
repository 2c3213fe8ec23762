# Sourced by the CRIU guest tests (after common.sh): what they check of
# nestvmm across a checkpoint.

# The criu to run: NC_CRIU (51-criu4 sets it to CRIU 4.x), else the PATH's.
CRIU=${NC_CRIU:-criu}

# The VMM under test is $pid; its images go to $img.
alive() { kill -0 "$pid" 2>/dev/null; }

# dump [OPTIONS]: criu dump of $pid into $img; log in $img/dump.log.
dump() {
	rm -rf "$img" && mkdir -p "$img"
	$CRIU dump -t "$pid" -D "$img" -v4 -o dump.log "$@"
}
# restore: criu restore of $img in the background (criu waits for the VMM
# and exits with its status); criu's pid in $crpid.
restore() {
	$CRIU restore -D "$img" -v4 -o restore.log &
	crpid=$!
}
# show_log FILE: criu's and the plugin's errors and warnings in a criu log.
show_log() {
	grep -E 'Error|nestckpt:|Warn' "$1" 2>/dev/null | tail -n 25 | indent
}

# The counters that must continue across a checkpoint.
counters() { # STATS
	echo "$(stat_of "$1" vcpu0.l2_count) $(stat_of "$1" vcpu1.l2_count)" \
		"$(stat_of "$1" vcpu2.l1_count) $(stat_of "$1" vcpu3.l1_count)"
}
# checks STATS: what nestvmm counts as failures so far (all must stay 0).
checks() {
	grep -E '^vcpu[0-3]\.(unexpected_exits|missed_exits|pattern_failures|pio_errors|mmio_errors) ' "$1" |
		awk '$2 != 0 { print }'
}
# moved A B: every counter of B is above A's.
moved() {
	set -- $1 $2
	[ "$5" -gt "$1" ] && [ "$6" -gt "$2" ] && [ "$7" -gt "$3" ] && [ "$8" -gt "$4" ]
}
# not_below A B: no counter of B below A's (a restore continues, never rewinds).
not_below() {
	set -- $1 $2
	[ "$5" -ge "$1" ] && [ "$6" -ge "$2" ] && [ "$7" -ge "$3" ] && [ "$8" -ge "$4" ]
}
# wait_moved A: until every counter is above A (the restored VMM runs).
wait_moved() {
	i=0
	while [ $i -lt $start_wait ]; do
		sleep 1
		moved "$1" "$(counters $st)" && return 0
		i=$((i + 1))
	done
	return 1
}

# phase_ms JSON PHASE: the milliseconds the plugin logged for PHASE in its
# stats file (nestckpt-stats-*.json), empty if it has none.
phase_ms() {
	sed -n "s/^ *\"$2\": {\"ms\": \([0-9.]*\),.*/\1/p" "$1" 2>/dev/null
}
# plugin_times STAGE JSON PHASE...: the stats file of STAGE names the VMM's
# vCPU count and a time for every PHASE (fails the test otherwise).
plugin_times() {
	_stage=$1 _json=$2
	shift 2
	[ -f "$_json" ] || { fail "$_stage: no plugin stats file $_json"; return; }
	grep -q "\"stage\": \"$_stage\"" "$_json" || fail "$_stage: $_json names another stage"
	for _p; do
		[ -n "$(phase_ms "$_json" "$_p")" ] || fail "$_stage: no time for phase $_p in $_json"
	done
	note "plugin $_stage phases (ms): $(sed -n 's/^ *"\([a-z.-]*\)": {"ms": \([0-9.]*\),.*/\1 \2/p' "$_json" | tr '\n' ' ')"
}

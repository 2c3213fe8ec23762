# Sourced by the CRIU guest tests (after common.sh): what they check of
# nestvmm across a checkpoint, and the one kernel quirk they work around.

# The criu to run: NC_CRIU (51-criu4 sets it to CRIU 4.x), else the PATH's.
CRIU=${NC_CRIU:-criu}

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
# kvm_without_nx_worker: KVM of 6.12.y runs its NX-huge-page recovery worker
# as a thread of the VMM, which criu cannot dump.  Check that the plugin
# names it, then reload kvm with nx_huge_pages=never, which does without.
kvm_without_nx_worker() {
	vmod=kvm_amd
	[ -d /sys/module/kvm_intel ] && vmod=kvm_intel
	vko=$(grep -E "/kvm-(amd|intel)\.ko" /etc/nc-modules | awk '{print $1}')
	kko=$(grep -E "/kvm\.ko" /etc/nc-modules | awk '{print $1}')
	setsid nestvmm --vcpu plain </dev/null >/dev/null 2>&1 &
	probe=$!
	sleep 3
	if ! grep -q '^kvm-nx-lpage' /proc/$probe/task/*/comm 2>/dev/null; then
		kill -KILL $probe 2>/dev/null
		wait $probe 2>/dev/null
		return 0
	fi
	mkdir -p /tmp/cr-probe
	$CRIU dump -t $probe -D /tmp/cr-probe -o dump.log 2>/dev/null && fail "dump with KVM's worker thread succeeded"
	grep 'nestckpt:.*nx_huge_pages=never' /tmp/cr-probe/dump.log | indent
	grep -q 'nestckpt:.*nx_huge_pages=never' /tmp/cr-probe/dump.log || fail "the worker thread was not named"
	kill -KILL $probe 2>/dev/null
	wait $probe 2>/dev/null
	note "reloading kvm with nx_huge_pages=never"
	rmmod $vmod && rmmod kvm && insmod "$kko" nx_huge_pages=never && insmod "$vko" nested=1 ||
		{ fail "cannot reload kvm"; return 1; }
}

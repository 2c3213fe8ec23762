# Sourced (after common.sh, criu.sh and qemu.sh) by 60-qemu and 61-qemu-smp:
# one scenario, QEMU running a guest of tests/qemu-guests, taken through
# every step below. Each step is a TAP subtest named SCENARIO-STEP (run.sh
# reports it as LABEL/TEST/SCENARIO-STEP):
#   start          QEMU runs and the guest counts (with 2 vCPUs: the AP is up
#                  and counts too);
#   monitor        QEMU's human monitor (a unix socket) answers "info status";
#   freeze-thaw    FREEZES cycles of nestckptctl freeze/thaw: the counter
#                  stands still while frozen, moves after thaw;
#   status-frozen  nestckptctl status of the frozen QEMU: its VM and vCPUs, at
#                  the level the guest runs (L2, or L1 with SVM on, for
#                  nested-svm);
#   cycle1..N      criu dump (the plugin froze QEMU, QEMU is gone), criu
#                  restore -d, the guest counts on from its count at the dump
#                  (every counter it reports), without a reboot, and the
#                  restored QEMU's monitor answers, the VM running;
#   leave-running  criu dump --leave-running: QEMU runs on and counts, its
#                  monitor answers; then it is killed and the image restores:
#                  the guest counts on from the dump, not from where the
#                  killed QEMU was, and the monitor answers;
#   no-guest-fail  no NC-GUEST-FAIL line in the guest's whole serial log.
# Every dump adds a row to the result table (qemu_table).

CRIU="timeout -s KILL 180 ${NC_CRIU:-criu}"
table=/tmp/qemu-results.txt
tap=0
ok() { tap=$((tap + 1)); echo "ok $tap - $1"; }
# not_ok STEP WHY: WHY on one line, without the TAP directive's '#'.
not_ok() {
	tap=$((tap + 1))
	echo "not ok $tap - $1 # $(echo "$2" | tr '\n#' ' _' | cut -c1-300)"
	failures=$((failures + 1))
}
skip() { tap=$((tap + 1)); echo "ok $tap - $1 # SKIP $2"; }

# qemu_table: the rows so far, as diagnostics.
qemu_table() {
	note "result table (2nd: the AP's count with 2 vCPUs, L1's exits for nested-svm; leave-running's"
	note "at-dump: the last report before that dump; unexp-L1-exits, exceptions: in the guest's whole log):"
	{
		echo "scenario cycle at-dump first-after last-after 2nd-at-dump 2nd-after unexp-L1-exits exceptions"
		cat "$table"
	} | awk '{ printf "%-14s %-13s %12s %12s %12s %12s %12s %14s %10s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' | indent
}

# freeze_thaw: the freeze/thaw cycles and the frozen status.
freeze_thaw() {
	bad= n=0 status_ok=
	while [ $n -lt "$freezes" ]; do
		if ! out=$(nestckptctl freeze "$pid" 2>&1); then
			bad="cycle $n: freeze: $out"
			break
		fi
		[ $n = 0 ] && note "$s: $out"
		c1=$(last_count) r1=$(counts)
		if [ $n = 0 ]; then
			st=$(nestckptctl status "$pid" 2>&1)
			echo "$st" | grep -v -E 'memslot|enabled cap|coalesced' | indent
			want="vcpu 0 .*: L1 "
			[ "$g" = nested-svm ] && want="vcpu 0 .*: (L2 .*vmcb12=0x|L1-nested )"
			if ! echo "$st" | grep -q "frozen, 1 VM(s), $vcpus vCPU(s)"; then
				status_ok="not frozen with 1 VM and $vcpus vCPU(s)"
			elif ! echo "$st" | grep -E -q "$want"; then
				status_ok="vCPU 0 not at '$want'"
			elif [ "$vcpus" = 2 ] && ! echo "$st" | grep -E -q "vcpu 1 .*: L1 "; then
				status_ok="no vCPU 1 in L1"
			else
				status_ok=ok
			fi
		fi
		sleep 1 # a few report intervals
		r2=$(counts)
		[ "$r2" = "$r1" ] || { bad="cycle $n: $((r2 - r1)) counter reports while frozen"; break; }
		if ! out=$(nestckptctl thaw "$pid" 2>&1); then
			bad="cycle $n: thaw: $out"
			break
		fi
		wait_above "$c1" 30 || { bad="cycle $n: the counter stays at $c1 after thaw"; break; }
		n=$((n + 1))
	done
	if [ -z "$bad" ]; then
		note "$s: $n freeze/thaw cycles, now $(reports | tail -n 1)"
		ok "$s-freeze-thaw"
	else
		not_ok "$s-freeze-thaw" "$bad"
		nestckptctl thaw "$pid" >/dev/null 2>&1
	fi
	case $status_ok in
	ok) ok "$s-status-frozen" ;;
	"") skip "$s-status-frozen" "no freeze" ;;
	*) not_ok "$s-status-frozen" "$status_ok" ;;
	esac
}

# field N LINE: the Nth field of a report line, empty if it has none.
field() { echo "$2" | awk -v f="$1" '{ print $f }'; }

# restored: after criu restore -d of $img, with $pre reports in the log
# before it: QEMU runs, its guest counts on from $at (second counter from
# $at2) without a reboot, each report above the one before, the first below
# $below if set (the count of a QEMU that ran on after the dump), and the
# monitor answers. Sets why (empty: all good) and row.
restored() {
	why=
	if ! alive; then
		why="criu restore exit 0, but no process $pid"
		return
	fi
	# With 2 vCPUs, one more: the AP shares one host CPU with the BSP and
	# may not have run before the first.
	if ! wait_reports $((pre + 1 + vcpus)) 60; then
		why="no new counter reports after the restore (at the dump: $at)$(alive || echo "; QEMU exited")$(guest_failed | sed 's/^/; /')"
		return
	fi
	r1=$(reports "$seg" | head -n 1) rn=$(reports "$seg" | tail -n 1)
	first=$(field 2 "$r1") last=$(field 2 "$rn") first2=$(field 3 "$r1") last2=$(field 3 "$rn")
	row="$s $step $at $first $last ${at2:--} ${last2:--}"
	back=$(reports "$seg" | awk 'NR > 1 && ($2 <= p2 || $3 < p3) { print "after " p2 " " p3 ": " $0; exit } { p2 = $2; p3 = $3 }')
	starts=$(grep -c '^NC-GUEST-START' "$log")
	if [ "$starts" != 1 ]; then
		why="the guest started $starts times"
	elif [ "$first" -le "$at" ] || [ "$last" -le "$first" ]; then
		why="counter $at at the dump, then $first, $last"
	elif [ -n "$at2" ] && { [ "${first2:-0}" -lt "$at2" ] || [ "${last2:-0}" -le "$at2" ]; }; then
		why="second counter $at2 at the dump, then $first2, $last2"
	elif [ -n "$below" ] && [ "$first" -ge "$below" ]; then
		why="first count $first after the restore not below $below, where the killed QEMU was: not the image's state"
	elif [ -n "$back" ]; then
		why="a report not above the one before: $back"
	elif ! monitor_running; then
		why="monitor after the restore: $(monitor_status | tr '\n' ' ')"
	fi
}

# dump_restore STEP [criu dump options]: dump $pid into $img, restore it,
# judge it as TAP subtest $s-STEP. Returns non-zero when the step failed.
dump_restore() {
	step=$1
	shift
	img=/tmp/qemu-$s/img-$step
	below=
	r=$(reports | tail -n 1)
	at=$(field 2 "$r") at2=$(field 3 "$r")
	t0=$(date +%s)
	dump "$@"
	rc=$?
	leave=0
	case " $* " in *" --leave-running "*) leave=1 ;; esac
	[ $leave = 1 ] || wait "$pid" 2>/dev/null # reap it: the restore needs its pid free
	dsecs=$(($(date +%s) - t0))
	why=
	if [ $rc != 0 ]; then
		why="criu dump exit $rc: $(criu_error "$img/dump.log")"
	elif ! grep -q "nestckpt: froze VMM $pid" "$img/dump.log"; then
		why="the plugin did not freeze QEMU"
	elif [ $leave = 0 ] && alive; then
		why="QEMU still runs after criu dump"
	elif [ $leave = 0 ]; then
		r=$(reports | tail -n 1)
		at=$(field 2 "$r") at2=$(field 3 "$r")
	elif ! alive || ! wait_above "$at" 30 || ! wait_reports $(($(counts) + 2)) 30; then
		why="QEMU does not count on after criu dump --leave-running$(alive || echo ": it exited")"
	elif ! monitor_running; then
		why="monitor after the dump --leave-running: $(monitor_status | tr '\n' ' ')"
	else
		below=$(last_count)
		stop_qemu
	fi
	if [ -n "$why" ]; then
		not_ok "$s-$step" "$why"
		show_log "$img/dump.log"
		stop_qemu
		return 1
	fi
	[ "$step" = cycle1 ] && grep "nestckpt:" "$img/dump.log" | indent
	# A line the killed QEMU left half-written ends here (a dumped QEMU's
	# is finished by the restored one).
	[ $leave = 0 ] || [ -z "$(tail -c 1 "$log" | tr -d '\n')" ] || echo >>"$log"
	seg=$(($(log_lines) + 1)) pre=$(counts)
	t0=$(date +%s)
	$CRIU restore -D "$img" -d -v4 -o restore.log
	rc=$?
	rsecs=$(($(date +%s) - t0))
	row="$s $step $at - - ${at2:--} -"
	if [ $rc != 0 ]; then
		why="criu restore exit $rc: $(criu_error "$img/restore.log")"
		alive && why="$why; and a QEMU process runs: pid $pid"
	else
		restored
	fi
	echo "$row $(unexpected_exits) $(guest_exceptions)" >>"$table"
	if [ -n "$why" ]; then
		not_ok "$s-$step" "$why"
		show_log "$img/restore.log"
		return 1
	fi
	rm -rf "$img" # the guest's 64 MiB of memory, in this boot's RAM
	note "$s: $step: dump ${dsecs}s, restore ${rsecs}s; at the dump $at${at2:+ $at2}, after the restore $(reports "$seg" | head -n 1 | cut -d' ' -f2-) ... $(reports | tail -n 1 | cut -d' ' -f2-)"
	ok "$s-$step"
}

# scenario NAME GUEST VCPUS FREEZES DUMPS: every step above.
scenario() {
	s=$1 g=$2 vcpus=$3 freezes=$4 dumps=$5
	t_scen=$(date +%s)
	qemu_start "$g" "/tmp/qemu-$s" "$vcpus"
	t0=$(date +%s)
	up=
	if wait_reports 2 90; then
		up=ok
		if [ "$vcpus" -gt 1 ]; then
			a=$(last_count 3)
			if ! grep -q '^NC-AP-UP' "$log"; then
				up="no NC-AP-UP: the AP did not start"
			elif ! wait_above "$a" 30 3; then
				up="the AP's counter stays at $a"
			fi
		fi
	else
		up="QEMU $(alive && echo "runs, but no 2 counter reports" || echo "exited")"
	fi
	if [ "$up" != ok ]; then
		not_ok "$s-start" "$up: $(tail -n 3 "/tmp/qemu-$s/qemu.out" "$log" 2>/dev/null)"
		indent <"/tmp/qemu-$s/qemu.out"
		indent <"$log" 2>/dev/null
		stop_qemu
		return
	fi
	note "$s: QEMU pid $pid ($vcpus vCPU(s)) counting after $(($(date +%s) - t0))s: $(reports | tail -n 1)"
	ok "$s-start"

	if monitor_running; then ok "$s-monitor"; else not_ok "$s-monitor" "info status: $(monitor_status)"; fi
	freeze_thaw

	n=1
	while [ $n -le "$dumps" ]; do
		dump_restore cycle$n || break
		n=$((n + 1))
	done
	while [ $n -lt "$dumps" ]; do
		n=$((n + 1))
		skip "$s-cycle$n" "an earlier cycle failed"
	done
	if alive; then
		dump_restore leave-running --leave-running
	else
		skip "$s-leave-running" "no QEMU left running"
	fi

	if [ -n "$(guest_failed)" ]; then
		not_ok "$s-no-guest-fail" "$(guest_failed)"
		grep NC-GUEST-FAIL "$log" | indent
	else
		ok "$s-no-guest-fail"
	fi
	stop_qemu
	note "$s: $(($(date +%s) - t_scen))s"
}

# qemu_begin TEST: skip on VMX, fail without QEMU or the module.
qemu_begin() {
	if [ "$NC_VENDOR" != svm ]; then
		echo "1..0 # SKIP no nested-vmx guest for QEMU yet"
		exit 77
	fi
	if ! qemu_present; then
		not_ok qemu-present "no /dev/kvm, $QEMU or guests (tests/vm/run.sh adds them when $1 is planned)"
		exit 1
	fi
	nestckpt_loaded || { not_ok module "cannot load nestckpt.ko"; exit 1; }
	t_start=$(date +%s)
	rm -f "$table"
}
# qemu_end: the plan, the result table, the time; fails on any failure.
qemu_end() {
	echo "1..$tap"
	qemu_table
	note "QEMU VMM steps took $(($(date +%s) - t_start))s"
	[ $failures -eq 0 ]
}

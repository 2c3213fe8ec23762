#!/bin/sh
# 60-qemu: a real VMM nobody here wrote, Debian 12's QEMU 7.2
# (qemu-system-x86_64 -enable-kvm -cpu host), frozen, thawed, dumped and
# restored by nestckpt with stock criu. Two guests of ours
# (tests/qemu-guests), each in its own QEMU:
#   plain       counts and prints "NC-COUNT <n>" on its serial port;
#   nested-svm  an L1 that runs an L2 with VMRUN, checks that every exit is
#               the VMMCALL L2 made, at the count it made it, and prints
#               "NC-COUNT <l2-counter> <l1-exits>".
# Both print "NC-GUEST-FAIL ..." on anything unexpected (an exception, an
# exit L2 did not cause, a counter that does not match), and read at every
# report MSR 0x35, which QEMU serves from userspace through KVM's MSR filter:
# a VMM restored without its filter gives them a #GP there.
# Each step is a TAP subtest named GUEST-STEP (run.sh reports it as
# LABEL/60-qemu/GUEST-STEP):
#   start         QEMU runs and the guest counts;
#   monitor       QEMU's human monitor (a unix socket) answers "info status";
#   freeze-thaw   NC_QEMU_FREEZE_CYCLES (3) cycles of nestckptctl freeze/thaw:
#                 the counter stands still while frozen, moves after thaw;
#   status-frozen nestckptctl status of the frozen QEMU: its VM and vCPU, at
#                 the level the guest runs (L2 or L1 with SVM on for nested-svm);
#   dump          criu dump -t PID -D DIR: the plugin froze QEMU, QEMU is gone;
#   restore       criu restore -D DIR -d succeeds (on failure the criu/nestckpt
#                 error is the TAP diagnostic, and no half-restored QEMU runs);
#   continues     the restored guest counts on from its count at the dump,
#                 without a reboot;
#   monitor-after the restored QEMU's monitor answers, the VM running;
#   no-guest-fail no NC-GUEST-FAIL line in the guest's whole serial log.
# Nested SVM only for now: on VMX the test skips (no nested-vmx guest yet).
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh

QEMU=/usr/bin/qemu-system-x86_64
GUESTS=/opt/nestckpt/qemu-guests
cycles=${NC_QEMU_FREEZE_CYCLES:-3}
start_wait=90

tap=0
ok() { tap=$((tap + 1)); echo "ok $tap - $1"; }
# not_ok STEP WHY: WHY on one line, without the TAP directive's '#'.
not_ok() {
	tap=$((tap + 1))
	echo "not ok $tap - $1 # $(echo "$2" | tr '\n#' ' _' | cut -c1-300)"
	failures=$((failures + 1))
}
skip() { tap=$((tap + 1)); echo "ok $tap - $1 # SKIP $2"; }

if [ "$NC_VENDOR" != svm ]; then
	echo "1..0 # SKIP no nested-vmx guest for QEMU yet"
	exit 77
fi
[ -c /dev/kvm ] || { not_ok qemu-present "no /dev/kvm"; exit 1; }
if [ ! -x $QEMU ] || [ ! -f $GUESTS/plain.elf ]; then
	not_ok qemu-present "no $QEMU or guests in the guest (tests/vm/run.sh adds them when 60-qemu is planned)"
	exit 1
fi
nestckpt_loaded || { not_ok module "cannot load nestckpt.ko"; exit 1; }

# reports: the guest's whole report lines; a line still being written (the
# guest writes one character per port access) is not one yet.
# The log is read once into a snapshot: the guest may add to it between two
# reads, and a line judged complete must be complete in what is judged.
reports() {
	cp "$log" "$log.snap" 2>/dev/null || return 0
	if [ -z "$(tail -c 1 "$log.snap" | tr -d '\n')" ]; then
		grep '^NC-COUNT ' "$log.snap"
	else
		sed '$d' "$log.snap" | grep '^NC-COUNT '
	fi
}
counts() { reports | wc -l; }
# last_count: the guest's first counter (L2's for nested-svm) in its last report.
last_count() { reports | tail -n 1 | awk '{ print $2 + 0 }'; }
guest_failed() { grep -m 1 NC-GUEST-FAIL "$log" 2>/dev/null; }
# wait_reports N SECONDS: until the log holds N reports (not after the guest
# reported a failure).
wait_reports() {
	_i=0
	while [ "$(counts)" -lt "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le "$2" ] && alive && [ -z "$(guest_failed)" ] || return 1
		sleep 1
	done
}
# wait_above COUNT SECONDS: until the last report is above COUNT.
wait_above() {
	_i=0
	while [ "$(last_count)" -le "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le "$2" ] && alive || return 1
		sleep 1
	done
}
monitor_status() { nc-hmp "$sock" "info status" 2>&1; }
# criu_error LOG: why criu or the plugin gave up, on one line: the plugin's
# own lines (its reason and each thing it names as missing), else criu's
# first error; without their timestamps.
criu_error() {
	_e=$(grep -E 'nestckpt: .*(missing|refus|fail|error|cannot|not )' "$1" 2>/dev/null | head -n 4)
	[ -n "$_e" ] || _e=$(grep -m 1 -E 'Error' "$1" 2>/dev/null)
	[ -n "$_e" ] || _e="no error line in $1"
	echo "$_e" | sed -E 's/^\([0-9.]+\) +//; s/^[0-9]+: //; s/ +/ /g' | paste -s -d ';' -
}
stop_qemu() {
	alive && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# run_guest NAME: every step above with QEMU running tests/qemu-guests' NAME.
run_guest() {
	g=$1
	d=/tmp/qemu-$g
	log=$d/serial.log sock=$d/monitor.sock img=$d/img
	rm -rf "$d"
	mkdir -p "$d"
	# Its own session, no terminal: what criu dumps without --shell-job.
	setsid $QEMU -enable-kvm -cpu host -m 64 -nodefaults -display none -no-reboot \
		-serial "file:$log" -monitor "unix:$sock,server=on,wait=off" -kernel "$GUESTS/$g.elf" \
		</dev/null >"$d/qemu.out" 2>&1 &
	pid=$!
	t0=$(date +%s)
	if ! wait_reports 2 $start_wait; then
		not_ok "$g-start" "QEMU $(alive && echo "runs, but no 2 counter reports" ||
			echo "exited"): $(tail -n 3 "$d/qemu.out" "$log" 2>/dev/null)"
		indent <"$d/qemu.out"
		indent <"$log" 2>/dev/null
		stop_qemu
		return
	fi
	note "$g: QEMU pid $pid counting after $(($(date +%s) - t0))s: $(reports | tail -n 1)"
	ok "$g-start"

	s=$(monitor_status)
	case $s in
	*"VM status: running"*) ok "$g-monitor" ;;
	*) not_ok "$g-monitor" "info status: $s" ;;
	esac

	# Freeze/thaw: still while frozen, moving after.
	bad= n=0 status_ok=
	while [ $n -lt "$cycles" ]; do
		if ! out=$(nestckptctl freeze "$pid" 2>&1); then
			bad="cycle $n: freeze: $out"
			break
		fi
		[ $n = 0 ] && note "$g: $out"
		c1=$(last_count) r1=$(counts)
		if [ $n = 0 ]; then
			st=$(nestckptctl status "$pid" 2>&1)
			echo "$st" | indent
			want="vcpu 0 .*: L1 "
			[ "$g" = nested-svm ] && want="vcpu 0 .*: (L2 .*vmcb12=0x|L1-nested )"
			if ! echo "$st" | grep -q "frozen, 1 VM(s), 1 vCPU(s)"; then
				status_ok="not frozen with 1 VM and 1 vCPU"
			elif ! echo "$st" | grep -E -q "$want"; then
				status_ok="vCPU 0 not at '$want'"
			else
				status_ok=ok
			fi
		fi
		sleep 2
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
		note "$g: $n freeze/thaw cycles, now $(reports | tail -n 1)"
		ok "$g-freeze-thaw"
	else
		not_ok "$g-freeze-thaw" "$bad"
		nestckptctl thaw "$pid" >/dev/null 2>&1
	fi
	case $status_ok in
	ok) ok "$g-status-frozen" ;;
	"") skip "$g-status-frozen" "no freeze" ;;
	*) not_ok "$g-status-frozen" "$status_ok" ;;
	esac

	# criu dump: the plugin freezes QEMU, criu takes it, QEMU is gone.
	rm -rf "$img"
	mkdir -p "$img"
	t0=$(date +%s)
	timeout -s KILL 180 $CRIU dump -t "$pid" -D "$img" -v4 -o dump.log
	rc=$?
	wait "$pid" 2>/dev/null # reap it: the restore needs its pid free
	dump_secs=$(($(date +%s) - t0))
	grep "nestckpt:" "$img/dump.log" | indent
	if [ $rc != 0 ]; then
		not_ok "$g-dump" "criu dump exit $rc: $(criu_error "$img/dump.log")"
		show_log "$img/dump.log"
		stop_qemu
		for step in restore continues monitor-after; do skip "$g-$step" "the dump failed"; done
	elif alive; then
		not_ok "$g-dump" "QEMU still runs after criu dump"
		stop_qemu
		for step in restore continues monitor-after; do skip "$g-$step" "the dump failed"; done
	elif ! grep -q "nestckpt: froze VMM $pid" "$img/dump.log"; then
		not_ok "$g-dump" "the plugin did not freeze QEMU"
		for step in restore continues monitor-after; do skip "$g-$step" "the dump failed"; done
	else
		ok "$g-dump"
		at_dump=$(last_count) reports=$(counts)
		note "$g: dumped in ${dump_secs}s at $(reports | tail -n 1); images:"
		ls -l "$img" | grep -E 'nestckpt|pages' | indent
		restore_and_check
	fi

	if grep -q NC-GUEST-FAIL "$log"; then
		not_ok "$g-no-guest-fail" "$(grep -m 1 NC-GUEST-FAIL "$log")"
		grep NC-GUEST-FAIL "$log" | indent
	else
		ok "$g-no-guest-fail"
	fi
	stop_qemu
}

# restore_and_check: the restore steps, after a good dump of $pid into $img.
restore_and_check() {
	t0=$(date +%s)
	timeout -s KILL 180 $CRIU restore -D "$img" -d -v4 -o restore.log
	rc=$?
	note "$g: criu restore exit $rc after $(($(date +%s) - t0))s"
	grep "nestckpt:" "$img/restore.log" | indent
	if [ $rc != 0 ]; then
		why="criu restore exit $rc: $(criu_error "$img/restore.log")"
		alive && why="$why; and a QEMU process runs: pid $pid"
		not_ok "$g-restore" "$why"
		show_log "$img/restore.log"
		skip "$g-continues" "the restore failed"
		skip "$g-monitor-after" "the restore failed"
		return
	fi
	if ! alive; then
		not_ok "$g-restore" "criu restore exit 0, but no process $pid"
		skip "$g-continues" "the restore failed"
		skip "$g-monitor-after" "the restore failed"
		return
	fi
	ok "$g-restore"

	# The first report after the restore: not below the count at the dump,
	# and the guest did not start over.
	if ! wait_reports $((reports + 2)) 60; then
		not_ok "$g-continues" "no new counter report (at the dump: $at_dump)$(alive || echo "; QEMU exited")$(guest_failed | sed 's/^/; /')"
	else
		first=$(reports | sed -n "$((reports + 1))p" | awk '{ print $2 }')
		last=$(last_count)
		starts=$(grep -c '^NC-GUEST-START' "$log")
		# Across the whole log, each report above the one before.
		back=$(reports | awk 'NR > 1 && $2 <= prev { print "after " prev ": " $0; exit } { prev = $2 }')
		note "$g: at the dump $at_dump, first report after the restore $first, then $last"
		if [ "$starts" != 1 ]; then
			not_ok "$g-continues" "the guest started $starts times"
		elif [ "$first" -le "$at_dump" ] || [ "$last" -le "$first" ]; then
			not_ok "$g-continues" "counter $at_dump at the dump, then $first, $last"
		elif [ -n "$back" ]; then
			not_ok "$g-continues" "a report not above the one before: $back"
		else
			ok "$g-continues"
		fi
	fi
	s=$(monitor_status)
	case $s in
	*"VM status: running"*) ok "$g-monitor-after" ;;
	*) not_ok "$g-monitor-after" "info status: $s" ;;
	esac
}

t_start=$(date +%s)
run_guest plain
run_guest nested-svm
echo "1..$tap"
note "QEMU VMM steps took $(($(date +%s) - t_start))s"
[ $failures -eq 0 ]

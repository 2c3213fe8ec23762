# Sourced (after common.sh and criu.sh) by the tests that run Debian's QEMU
# as the VMM with a guest of tests/qemu-guests (60-qemu, 61-qemu-smp,
# 52-criu-fresh, demo.sh): start it, read the guest's serial reports, ask
# its monitor.
#
# The guests report "NC-COUNT <counter> [<second>]": plain's count (and its
# AP's with 2 vCPUs), nested-svm's L2 count and L1's exits. Anything
# unexpected (an exception, an L1 exit L2 did not cause, a counter that does
# not match) is an "NC-GUEST-FAIL ..." line.

QEMU=/usr/bin/qemu-system-x86_64
GUESTS=/opt/nestckpt/qemu-guests

# qemu_present: QEMU and its guests are in this boot (tests/vm/run.sh ships
# them for the tests that need them, under QEMU's nested SVM only).
qemu_present() {
	[ "$NC_VENDOR" = svm ] && [ -c /dev/kvm ] && [ -x $QEMU ] && [ -f $GUESTS/plain.elf ]
}

# qemu_start GUEST DIR [VCPUS]: QEMU running GUEST in the background, its
# files in DIR: log (serial, appended to so that criu does not hold QEMU
# to the log's size at the dump), sock (monitor), pid.
qemu_start() {
	log=$2/serial.log sock=$2/monitor.sock
	rm -rf "$2"
	mkdir -p "$2"
	# Its own session, no terminal: what criu dumps without --shell-job.
	setsid $QEMU -enable-kvm -cpu host -smp "${3:-1}" -m 64 -nodefaults -display none -no-reboot \
		-chardev "file,id=ser0,path=$log,append=on" -serial chardev:ser0 \
		-monitor "unix:$sock,server=on,wait=off" -kernel "$GUESTS/$1.elf" \
		</dev/null >"$2/qemu.out" 2>&1 &
	pid=$!
}

# reports [FROM]: the guest's whole report lines (from line FROM of the log
# on); a line still being written (the guest writes one character per port
# access) is not one yet. The log is read once into a snapshot: the guest
# may add to it between two reads, and a line judged complete must be
# complete in what is judged.
reports() {
	cp "$log" "$log.snap" 2>/dev/null || return 0
	if [ -n "$(tail -c 1 "$log.snap" | tr -d '\n')" ]; then
		sed -i '$d' "$log.snap"
	fi
	tail -n +"${1:-1}" "$log.snap" | grep '^NC-COUNT '
}
counts() { reports | wc -l; }
# last_count [FIELD]: a field of the last report (2: the first counter).
last_count() { reports | tail -n 1 | awk -v f="${1:-2}" '{ print $f + 0 }'; }
log_lines() { wc -l <"$log"; }
guest_failed() { grep -m 1 NC-GUEST-FAIL "$log" 2>/dev/null; }
# The waits poll once a second: each poll starts a few processes, which
# under TCG takes CPU time from the QEMU under test.
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
# wait_above COUNT SECONDS [FIELD]: until the last report is above COUNT.
wait_above() {
	_i=0
	while [ "$(last_count "${3:-2}")" -le "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le "$2" ] && alive || return 1
		sleep 1
	done
}
monitor_status() { nc-hmp "$sock" "info status" 2>&1; }
monitor_running() { monitor_status | grep -q "VM status: running"; }
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
	# A restored QEMU is not our child: wait until it is gone.
	_i=0
	while alive && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
# guest_exceptions / unexpected_exits: what the guest reported of each in
# its whole log.
guest_exceptions() { grep -c '^NC-GUEST-FAIL exception' "$log"; }
unexpected_exits() { grep -c '^NC-GUEST-FAIL unexpected exit' "$log"; }

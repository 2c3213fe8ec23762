#!/bin/sh
# The benchmark inside the stock kernel (bench/run.sh boots it): for 1, 4,
# 16 and 64 vCPUs of nestvmm (plain guests), the per-vCPU cost of reading
# all vCPU state through io_uring and through ioctls (and the system calls
# each took), and the wall time of criu dump and criu restore of that VMM
# against criu dump and restore of a plain process holding as much resident
# memory as the VMM, and of one that also has as many threads, busy as the
# VMM's vCPUs are (on a guest with fewer CPUs than vCPUs, criu waits for a
# CPU among them until they are frozen); a line under each row gives the
# same with sleeping threads: criu's own per-thread cost.  All measured in
# this one run; prints a table.
. /opt/nestckpt/lib/common.sh
nestckpt_loaded || exit 1
reps=${NC_BENCH_REPS:-9}
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# cr PID DIR: criu dump then restore -d of PID; prints "dump_ms restore_ms".
# Not in a $(...) subshell: it reaps PID, a child of this shell, so that the
# restore finds its pid free.
cr() {
	rm -rf "$2" && mkdir -p "$2"
	t0=$(now_ms)
	criu dump -t "$1" -D "$2" -o dump.log || { grep -a "Error\|nestckpt:" "$2/dump.log" >&2; return 1; }
	t1=$(now_ms)
	wait "$1" 2>/dev/null	# our child: its pid is free for the restore once reaped
	criu restore -D "$2" -d -o restore.log || { grep -a "Error\|nestckpt:" "$2/restore.log" >&2; return 1; }
	t2=$(now_ms)
	echo "$((t1 - t0)) $((t2 - t1))"
}
# phases JSON: the plugin's phases in its stats file, "name ms" pairs.
phases() {
	sed -n 's/^ *"\([a-z.-]*\)": {"ms": \([0-9.]*\),.*/\1 \2/p' "$1" 2>/dev/null | tr '\n' ' '
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# plain_run BYTES THREADS sleep|spin DIR: criu dump/restore of a plain_mem;
# prints "dump_ms restore_ms".
plain_run() {
	# shellcheck disable=SC2046 # no word or one
	setsid plain_mem "$1" "$2" $([ "$3" = spin ] && echo spin) </dev/null >/dev/null 2>&1 &
	ppid=$!
	sleep 1
	cr $ppid "$4" >/tmp/cr.out || echo "- -" >/tmp/cr.out
	kill -KILL $ppid 2>/dev/null
	while kill -0 $ppid 2>/dev/null; do sleep 1; done
	cat /tmp/cr.out
}

# criu's first run computes its kernel facts (/run/criu.kdat): not in a row.
plain_run 4096 1 sleep /tmp/bwarm >/dev/null

echo "BENCH vcpus | capture ns/vCPU uring | ioctl | ratio | syscalls uring | ioctl | dump ms VMM | plain | ratio | busy threads | ratio | restore ms VMM | plain | ratio | busy threads | ratio"
failed=0
for n in 1 4 16 64; do
	args=
	i=0
	while [ $i -lt $n ]; do args="$args --vcpu plain"; i=$((i + 1)); done
	st=/tmp/b$n.stats
	# shellcheck disable=SC2086 # one word per option
	setsid nestvmm --stats $st $args </dev/null >/tmp/b$n.out 2>&1 &
	pid=$!
	vmm_ready $st $pid 300 || { echo "BENCH $n: nestvmm not ready"; cat /tmp/b$n.out; failed=$((failed + 1)); continue; }
	cap=$(capture_bench $pid "$reps") || { echo "BENCH $n: capture_bench failed"; kill -KILL $pid; failed=$((failed + 1)); continue; }
	set -- $cap
	un=$6 us=$8 in=${10} is=${12}
	# The same memory as the VMM: its resident set (criu dumps resident pages).
	mem=$(awk '/^VmRSS:/ { print $2 * 1024 }' /proc/$pid/status)
	threads=$(awk '/^Threads:/ { print $2 }' /proc/$pid/status)
	cr $pid /tmp/bimg$n >/tmp/cr.out || { echo "- -" >/tmp/cr.out; failed=$((failed + 1)); }
	vm=$(cat /tmp/cr.out)
	# The restored VMM's busy vCPUs would slow the plain process's turn.
	kill -KILL $pid 2>/dev/null
	while kill -0 $pid 2>/dev/null; do sleep 1; done
	pl=$(plain_run "$mem" 1 sleep /tmp/bplain$n)
	pt=$(plain_run "$mem" "$threads" spin /tmp/bplaint$n)
	ps=$(plain_run "$mem" "$threads" sleep /tmp/bplains$n)
	case "$pl $pt $ps" in *-*) failed=$((failed + 1)) ;; esac
	set -- $vm $pl $pt $ps
	echo "BENCH $n | $un | $in | $(ratio "$in" "$un") | $us | $is | $1 | $3 | $(ratio "$1" "$3") | $5 | $(ratio "$1" "$5") | $2 | $4 | $(ratio "$2" "$4") | $6 | $(ratio "$2" "$6")"
	echo "BENCH    ($n vCPUs: plugin dump phases ms: $(phases /tmp/bimg$n/nestckpt-stats-dump.json)of criu's $1 ms; restore: $(phases /tmp/bimg$n/nestckpt-stats-restore-$pid.json)of criu's $2 ms)"
	echo "BENCH    ($n vCPUs: $(echo "$cap" | sed 's/.*ops \([0-9]*\).*/\1/') ops per read; VMM resident $mem bytes, $threads threads, guest RAM $(stat_of $st vm.mem_size); plain with $threads sleeping threads: dump $7 ms, restore $8 ms)"
done
# A row that could not be measured fails the run (bench/run.sh says so).
[ "$failed" -eq 0 ]

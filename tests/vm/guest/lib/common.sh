# Sourced by every guest test: TAP-diagnostic helpers and shared waits.
# Diagnostics start with "# "; a test exits 0 pass, 77 skip, else fail.

failures=0
note() { echo "# $*"; }
fail() { echo "# FAIL: $*"; failures=$((failures + 1)); }
indent() { sed 's/^/#   /'; }

# stat_of FILE KEY: a value from nestvmm's stats file.
stat_of() { sed -n "s/^$2 //p" "$1" 2>/dev/null; }

# nestckpt_loaded: load the module under test unless it is there already.
NC_KO=${NC_KO:-/opt/nestckpt/nestckpt.ko}
nestckpt_loaded() {
	[ -c /dev/nestckpt ] || insmod "$NC_KO" || { note "cannot load $NC_KO"; return 1; }
}

# vmm_start PREFIX NAME SECONDS ARGS...: nestvmm ARGS in the background, its
# stats in $st and output in $out (/tmp/PREFIX-NAME.*), its pid in $pid, until
# every vCPU runs (at most SECONDS); on failure says so with its output.
vmm_start() {
	st=/tmp/$1-$2.stats out=/tmp/$1-$2.out _vs_name=$2 _vs_wait=$3
	shift 3
	rm -f "$st" "$out"
	nestvmm --stats "$st" "$@" >"$out" 2>&1 &
	pid=$!
	vmm_ready "$st" $pid $_vs_wait && return 0
	fail "$_vs_name: nestvmm did not get ready"
	indent <"$out"
	return 1
}

# vmm_ready STATS PID SECONDS: wait until every vCPU of nestvmm PID runs.
vmm_ready() {
	_i=0
	until [ -s "$1" ] && ! grep -q '^vcpu[0-9]*\.state created' "$1"; do
		_i=$((_i + 1))
		[ $_i -lt "$3" ] && kill -0 "$2" 2>/dev/null || return 1
		sleep 1
	done
}

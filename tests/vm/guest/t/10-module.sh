#!/bin/sh
# 10-module: nestckpt.ko loads and unloads cleanly, /dev/nestckpt is a 0600
# character device, `nestckptctl check` reports the vendor and ABI (and the
# module as missing once unloaded), unprivileged callers are refused, and
# CRIU loads the plugin without rejecting it.
#
# Environment: NC_VENDOR=svm|vmx, NC_KO=path of nestckpt.ko; nestckptctl on
# PATH; kvm + kvm_amd/kvm_intel (nested=1) loaded; plugin installed.
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".

NC_KO=${NC_KO:-/opt/nestckpt/nestckpt.ko}
failures=0

note() { echo "# $*"; }
fail() { echo "# FAIL: $*"; failures=$((failures + 1)); }
indent() { sed 's/^/#   /'; }

case "$NC_VENDOR" in
svm|vmx) ;;
*) note "NC_VENDOR must be svm or vmx (got '$NC_VENDOR')"; exit 1 ;;
esac
[ -n "$NC_KERNEL_PROBLEMS" ] || { note "NC_KERNEL_PROBLEMS unset: run under tests/vm/run.sh"; exit 1; }
if [ ! -f "$NC_KO" ]; then
	note "module not found: $NC_KO"
	exit 1
fi
if ! command -v nestckptctl >/dev/null 2>&1; then
	note "nestckptctl not on PATH ($PATH)"
	exit 1
fi

# The ABI version userspace was built for, e.g. "1.0".
user_abi=$(nestckptctl --version | sed -n 's/.*(ABI \([0-9]*\.[0-9]*\)).*/\1/p')
[ -n "$user_abi" ] || fail "nestckptctl --version names no ABI: $(nestckptctl --version)"

dmesg_start=$(dmesg | wc -l)

wait_gone() {
	i=0
	while [ -e /dev/nestckpt ] && [ $i -lt 20 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -e /dev/nestckpt ]
}

load() {
	if ! out=$(insmod "$NC_KO" 2>&1); then
		fail "insmod $NC_KO: $out"
		return 1
	fi
	if [ ! -c /dev/nestckpt ]; then
		fail "/dev/nestckpt is not a character device after insmod"
		grep nestckpt /proc/misc | indent
		ls -l /dev/nestckpt 2>&1 | indent
		return 1
	fi
	return 0
}

unload() {
	if ! out=$(rmmod nestckpt 2>&1); then
		fail "rmmod nestckpt: $out"
		return 1
	fi
	wait_gone || fail "/dev/nestckpt still present after rmmod"
	[ ! -d /sys/module/nestckpt ] || fail "/sys/module/nestckpt still present after rmmod"
}

# Start from a clean state if an earlier run left the module loaded.
[ -d /sys/module/nestckpt ] && rmmod nestckpt

# --- load, device node -------------------------------------------------
load || { note "cannot continue without the module"; exit 1; }
mode=$(stat -c %a /dev/nestckpt)
owner=$(stat -c %u:%g /dev/nestckpt)
[ "$mode" = 600 ] || fail "/dev/nestckpt mode is $mode, want 600"
[ "$owner" = 0:0 ] || fail "/dev/nestckpt owner is $owner, want 0:0"
note "loaded: $(grep -w nestckpt /proc/misc), mode $mode"

# --- nestckptctl check with the module --------------------------------
out=$(nestckptctl check 2>&1)
rc=$?
echo "$out" | indent
[ $rc -eq 0 ] || fail "nestckptctl check exited $rc with the module loaded"
echo "$out" | grep -Eq "^vendor +OK +$NC_VENDOR\$" ||
	fail "check does not report vendor $NC_VENDOR"
echo "$out" | grep -Eq "^nestckpt-module +OK .*vendor $NC_VENDOR, ABI $user_abi\$" ||
	fail "check does not report the module with vendor $NC_VENDOR and ABI $user_abi"
echo "$out" | grep -Eq "^abi +OK +userspace ABI $user_abi, module ABI $user_abi: compatible\$" ||
	fail "check does not report ABI $user_abi as compatible"

json=$(nestckptctl check --json 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "nestckptctl check --json exited $rc"
case "$json" in
*'"ok":true,"vendor":"'"$NC_VENDOR"'","user_abi":"'"$user_abi"'","module_abi":"'"$user_abi"'"'*) ;;
*) fail "check --json: unexpected header"; echo "$json" | indent ;;
esac

# --- the ioctl ABI against the live module (the harness ships these tests)
bindir=$(dirname "$(command -v nestckptctl)")
t=""
for c in "$bindir/../tests/unit/test_dev_ioctl" /opt/nestckpt/build/tests/unit/test_dev_ioctl; do
	[ -x "$c" ] && { t=$c; break; }
done
if [ -n "$t" ]; then
	if out=$(NC_REQUIRE_DEV=1 "$t" 2>&1); then
		note "test_dev_ioctl: $(echo "$out" | grep -c '^ok') checks passed"
	else
		fail "test_dev_ioctl failed"
		echo "$out" | indent
	fi
	t32=$(dirname "$t")/test_dev_ioctl32
	if [ -x "$t32" ]; then
		if out=$("$t32" require 2>&1); then
			note "test_dev_ioctl32 (compat): $(echo "$out" | grep -c '^ok') checks passed"
		else
			fail "test_dev_ioctl32 (32-bit caller, compat_ioctl) failed"
			echo "$out" | indent
		fi
	else
		fail "test_dev_ioctl32 not shipped: 32-bit (compat_ioctl) path not run"
	fi
else
	fail "test_dev_ioctl not shipped in the guest: ioctl edge cases not run"
fi

# --- unprivileged callers are refused ----------------------------------
as_nobody=""
if command -v setpriv >/dev/null 2>&1 && setpriv --help 2>&1 | grep -q -- --reuid; then
	as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif busybox su --help >/dev/null 2>&1 && grep -q '^nobody:' /etc/passwd 2>/dev/null; then
	as_nobody="su_nobody"
fi
su_nobody() { busybox su -s /bin/sh nobody -c "$*"; }
if [ -n "$as_nobody" ]; then
	out=$($as_nobody nestckptctl check 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "unprivileged nestckptctl check exited 0"
	if echo "$out" | grep -q "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE"; then
		note "unprivileged caller refused: $(echo "$out" | grep '^nestckpt-module')"
	else
		fail "unprivileged check does not name the missing capability"
		echo "$out" | indent
	fi
else
	note "no setpriv --reuid and no su+nobody: unprivileged open not tried here"
fi

# --- busy module cannot go away ----------------------------------------
exec 3<>/dev/nestckpt
if rmmod nestckpt 2>/dev/null; then
	fail "rmmod succeeded while /dev/nestckpt was open"
fi
exec 3>&-

# --- unload, check reports it missing ----------------------------------
unload
out=$(nestckptctl check 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "nestckptctl check exited 0 without the module"
echo "$out" | grep -Eq "^nestckpt-module +MISSING +module not loaded" ||
	{ fail "check without the module does not say it is not loaded"; echo "$out" | indent; }
echo "$out" | grep -Eq "^result: MISSING: .*nestckpt-module" ||
	fail "check verdict does not name nestckpt-module"

# --- load/unload cycles ------------------------------------------------
for i in 1 2 3; do
	load || break
	nestckptctl check >/dev/null 2>&1 || fail "check failed in cycle $i"
	unload || break
done

# --- CRIU loads the plugin (3.17 rejects plugins from newer headers) ----
plugin=${CRIU_LIBS_DIR:-/usr/lib/criu}/nestckpt_plugin.so
if ! command -v criu >/dev/null 2>&1; then
	fail "criu not found"
elif [ ! -f "$plugin" ]; then
	fail "plugin not installed at $plugin"
else
	# Plugins are loaded at the start of dump/pre-dump/restore, before the
	# target is looked at: a dump of a pid that cannot exist loads them
	# and then fails.
	# CRIU's kernel feature probe needs a working loopback.
	ip link set lo up 2>/dev/null
	dir=$(mktemp -d /tmp/nc-criu.XXXXXX)
	timeout 60 criu dump -t 4194303 -D "$dir" -o dump.log -v4 >/dev/null 2>&1
	if [ ! -s "$dir/dump.log" ]; then
		fail "criu wrote no log"
	else
		if grep -Eq 'Corrupted plugin|Unable to load|Failed in init' "$dir/dump.log"; then
			fail "criu rejected a plugin"
			grep -E 'plugin|Plugin' "$dir/dump.log" | indent
		fi
		if grep -q 'Could not initialize kernel features detection' "$dir/dump.log"; then
			note "criu failed its kernel feature probe before loading plugins:"
			grep 'Error' "$dir/dump.log" | indent
		fi
		grep -q 'Plugin "nestckpt"' "$dir/dump.log" ||
			{ fail "criu did not load the nestckpt plugin"; tail -20 "$dir/dump.log" | indent; }
		grep -q 'nestckpt: plugin .*, dump, criu with 10 hooks' "$dir/dump.log" ||
			fail "the plugin's init did not run (or did not see criu 3.17's 10 hooks)"
		note "criu: $(grep -m1 'nestckpt: plugin' "$dir/dump.log")"
	fi
	rm -rf "$dir"
fi

# --- kernel log ----------------------------------------------------------
bad=$(dmesg | tail -n +$((dmesg_start + 1)) | grep -E "$NC_KERNEL_PROBLEMS|WARNING:|general protection|Call Trace")
if [ -n "$bad" ]; then
	fail "kernel log has warnings"
	echo "$bad" | indent
fi

if [ $failures -ne 0 ]; then
	note "$failures failure(s)"
	exit 1
fi
exit 0

#!/bin/sh
# The test bed itself: the stock kernel we asked for, the vendor's nested
# virtualization, and a CRIU that really dumps and restores a process here.
fail() { echo "# FAIL: $*"; exit 1; }

[ "$(uname -r)" = "$NC_KVER" ] || fail "running $(uname -r), expected $NC_KVER"
grep -q -w "$NC_VENDOR" /proc/cpuinfo || fail "cpu flag $NC_VENDOR missing"
[ -c /dev/kvm ] || fail "/dev/kvm missing"

ver=$(criu --version | sed -n 's/^Version: //p')
echo "# criu $ver"
case $ver in
3.1[7-9]* | 3.[2-9]* | [4-9].*) ;;
*) fail "criu $ver is older than 3.17" ;;
esac

# A counting process, dumped and restored: the count must go on from where it was.
dir=/tmp/criu-testbed
rm -rf "$dir"
mkdir -p "$dir/img"
cat >"$dir/count.sh" <<'EOF'
i=0
while :; do i=$((i + 1)); echo $i >/tmp/criu-testbed/count; sleep 0.05; done
EOF
setsid sh "$dir/count.sh" </dev/null >/dev/null 2>&1 &
pid=$!
sleep 1
criu dump -t "$pid" -D "$dir/img" -o dump.log -v4 --shell-job ||
	{ tail -n 20 "$dir/img/dump.log"; fail "criu dump"; }
kill -0 "$pid" 2>/dev/null && fail "pid $pid still runs after dump"
before=$(cat "$dir/count")
criu restore -D "$dir/img" -o restore.log -v4 --shell-job -d ||
	{ tail -n 20 "$dir/img/restore.log"; fail "criu restore"; }
sleep 1
after=$(cat "$dir/count")
kill -9 "$pid" 2>/dev/null
echo "# count before dump $before, one second after restore $after"
[ "$after" -gt "$before" ] || fail "the restored process did not continue counting"
exit 0

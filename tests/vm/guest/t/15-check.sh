#!/bin/sh
# 15-check: `nestckptctl check` on the real system names each missing piece
# and fails for it, one cause at a time: KVM's vendor module loaded with
# nested=0, the vendor module (and so /dev/kvm) gone, no criu on PATH, no
# plugin installed. Everything is put back and check passes again at the end.
# Environment: NC_VENDOR, NC_KO; the guest's /init loaded KVM from
# /etc/nc-modules. Exit: 0 pass, anything else fail.

. /opt/nestckpt/lib/common.sh

case $NC_VENDOR in
svm) vmod=kvm_amd ;;
vmx) vmod=kvm_intel ;;
*) note "NC_VENDOR must be svm or vmx"; exit 1 ;;
esac
vko=$(grep -E "/kvm-(amd|intel)\.ko" /etc/nc-modules | awk '{print $1}')
[ -f "$vko" ] || { note "vendor module not found in /etc/nc-modules"; exit 1; }

[ -d /sys/module/nestckpt ] || insmod "$NC_KO" || { note "insmod $NC_KO failed"; exit 1; }

# expect_missing WHAT LINE_REGEX [ENV...]: check fails and prints LINE_REGEX.
expect_missing() {
	what=$1 want=$2
	shift 2
	out=$(env "$@" nestckptctl check 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "$what: check exited 0"
	elif ! echo "$out" | grep -Eq "$want"; then
		fail "$what: no line matching '$want'"
		echo "$out" | sed 's/^/#   /'
	else
		note "$what: exit $rc, $(echo "$out" | grep -E "$want")"
	fi
	echo "$out" | grep -q '^result: MISSING:' || fail "$what: no MISSING verdict"
}

nestckptctl check >/dev/null 2>&1 || fail "check fails before anything was taken away"

# Nested virtualization switched off.
rmmod "$vmod" || fail "rmmod $vmod"
insmod "$vko" nested=0 || fail "insmod $vko nested=0"
expect_missing "nested=0" "^kvm-nested +MISSING +$vmod loaded with nested disabled"

# No vendor module at all: no /dev/kvm either.
rmmod "$vmod" || fail "rmmod $vmod"
expect_missing "no $vmod" "^kvm-nested +MISSING +$vmod not loaded"
expect_missing "no /dev/kvm" "^dev-kvm +MISSING"
insmod "$vko" nested=1 || fail "insmod $vko nested=1"

# CRIU and the plugin.
expect_missing "no criu" "^criu +MISSING +criu not found in PATH" PATH=/opt/nestckpt/bin:/bin
plugin=/usr/lib/criu/nestckpt_plugin.so
mv "$plugin" "$plugin.away"
expect_missing "no plugin" "^criu-plugin +MISSING +$plugin: No such file"
mv "$plugin.away" "$plugin"

out=$(nestckptctl check 2>&1) || { fail "check fails after everything was put back"; echo "$out" | sed 's/^/#   /'; }
rmmod nestckpt || fail "rmmod nestckpt"

[ $failures -eq 0 ] || { note "$failures failure(s)"; exit 1; }
exit 0

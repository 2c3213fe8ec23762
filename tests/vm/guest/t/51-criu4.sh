#!/bin/sh
# 51-criu4: 50-criu's whole scenario again with CRIU 4.x (Debian 13's
# criu 4.1, which tests/vm/run.sh puts in the guest as criu4): same-boot
# restore, --leave-running, a dump that fails, NC_CRIU4_CYCLES (QEMU 5, Bochs 3)
# restore/run/dump cycles, the refused restores, nestvmm's verdict.
# Then, from the last dump's log: the plugin saw criu 4's larger hook table
# (12 hooks in 4.0 and 4.1, 13 in 4.2; 10 in 3.17) and froze the VMM in
# PAUSE_DEVICES (criu 4's own hook), not from the command line as it must
# with 3.17.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh

[ -c /dev/kvm ] || { note "no /dev/kvm"; exit 77; }
command -v criu4 >/dev/null || { fail "no criu4 in the guest (tests/vm/run.sh adds it)"; exit 1; }
version=$(criu4 --version | sed -n 's/^Version: //p')
note "criu4 is criu $version"
case $version in
4.*) ;;
*) fail "criu4 is not criu 4.x: '$version'"; exit 1 ;;
esac

# Fewer cycles than 50-criu's: the same scenario, with the other criu.
if [ "${NC_EMU:-qemu}" = bochs ]; then cycles=${NC_CRIU4_CYCLES:-3}; else cycles=${NC_CRIU4_CYCLES:-5}; fi
rm -rf /tmp/cr-good
NC_CRIU=criu4 NC_CRIU_CYCLES=$cycles sh /opt/nestckpt/t/50-criu.sh
rc=$?
[ $rc -eq 0 ] || fail "50-criu with criu $version: exit $rc"

log=/tmp/cr-good/dump.log
[ -f $log ] || { fail "no dump log of the last dump"; exit 1; }
grep -E 'nestckpt: (plugin|froze)' $log | indent
grep -q "nestckpt: plugin .*, dump, criu with 1[2-9] hooks" $log ||
	fail "the plugin did not see criu 4's hook table"
grep -q "nestckpt: froze VMM [0-9]*: .* (PAUSE_DEVICES)" $log ||
	fail "the VMM was not frozen in PAUSE_DEVICES"
[ $failures -eq 0 ]

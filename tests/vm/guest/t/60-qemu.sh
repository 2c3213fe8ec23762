#!/bin/sh
# 60-qemu: a real VMM nobody here wrote, Debian 12's QEMU 7.2
# (qemu-system-x86_64 -enable-kvm -cpu host), frozen, thawed, dumped and
# restored by nestckpt with stock criu. Two guests of ours
# (tests/qemu-guests), each in its own QEMU with 1 vCPU:
#   plain       counts and prints "NC-COUNT <n>" on its serial port;
#   nested-svm  an L1 that runs an L2 with VMRUN, checks that every exit is
#               the VMMCALL L2 made, at the count it made it, and prints
#               "NC-COUNT <l2-counter> <l1-exits>".
# Both print "NC-GUEST-FAIL ..." on anything unexpected (an exception, an
# exit L2 did not cause, a counter that does not match), and read at every
# report MSR 0x35, which QEMU serves from userspace through KVM's MSR filter:
# a VMM restored without its filter gives them a #GP there.
# Each scenario: start, monitor, NC_QEMU_FREEZE_CYCLES (3) freeze/thaw
# cycles, status while frozen, NC_QEMU_DUMPS (5) dump/restore cycles, one
# dump --leave-running restored after that QEMU is killed, no guest failure
# (lib/qemu_scenario.sh names the steps); then the result table.
# 61-qemu-smp does the same with 2 vCPUs. Nested SVM only for now: on VMX
# the test skips (no nested-vmx guest yet).
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh
. /opt/nestckpt/lib/qemu.sh
. /opt/nestckpt/lib/qemu_scenario.sh

qemu_begin 60-qemu
scenario plain plain 1 "${NC_QEMU_FREEZE_CYCLES:-3}" "${NC_QEMU_DUMPS:-5}"
scenario nested-svm nested-svm 1 "${NC_QEMU_FREEZE_CYCLES:-3}" "${NC_QEMU_DUMPS:-5}"
qemu_end

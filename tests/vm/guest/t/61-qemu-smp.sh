#!/bin/sh
# 61-qemu-smp: 60-qemu's steps with QEMU 7.2 giving the plain guest
# 2 vCPUs (-smp 2). The guest's BSP starts the AP with INIT-SIPI-SIPI; the
# AP counts its own counter and the BSP reports both,
# "NC-COUNT <bsp-count> <ap-count>": every dump/restore cycle checks that
# both count on from the dump, so both vCPUs run after each restore.
# One freeze/thaw cycle (60-qemu does more), NC_QEMU_DUMPS (5) dump/restore
# cycles, one dump --leave-running; then the result table.
#
# Exit: 0 pass, 77 skip, anything else fail.  Diagnostics start with "# ".
. /opt/nestckpt/lib/common.sh
. /opt/nestckpt/lib/criu.sh
. /opt/nestckpt/lib/qemu.sh
. /opt/nestckpt/lib/qemu_scenario.sh

qemu_begin 61-qemu-smp
scenario plain-smp2 plain 2 1 "${NC_QEMU_DUMPS:-5}"
qemu_end

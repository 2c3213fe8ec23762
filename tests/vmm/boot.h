/* SPDX-License-Identifier: GPL-2.0 */
/* Host side: the 64-bit environment guests start in. */
#ifndef NESTVMM_BOOT_H
#define NESTVMM_BOOT_H

#include "vm.h"

/* Page tables, GDT, TSS and both IDTs, written into guest memory once. */
void boot_setup_tables(struct vm *vm);
/* Registers of a vCPU entering guest_start(id) in long mode. */
void boot_setup_vcpu(struct vm *vm, int fd, int id);

#endif

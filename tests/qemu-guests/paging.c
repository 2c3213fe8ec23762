// SPDX-License-Identifier: GPL-2.0
/* 32-bit paging with 4 MiB pages, identity-mapped: KVM's nested SVM wants
 * L1 paging on before it lets VMRUN through (TESTBED.md). */
#include "guest.h"

#define PDE_4M (1u << 7)
#define PDE_RW (1u << 1)
#define PDE_P (1u << 0)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)

static uint32_t page_dir[1024] __attribute__((aligned(4096)));

void paging_enable(void)
{
	uint32_t i, cr;

	for (i = 0; i < 1024; i++)
		page_dir[i] = (i << 22) | PDE_4M | PDE_RW | PDE_P;
	asm volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	cr = READ_CR(4) | CR4_PSE;
	asm volatile("mov %0, %%cr4" : : "r"(cr));
	cr = READ_CR(0) | CR0_PG;
	asm volatile("mov %0, %%cr0" : : "r"(cr) : "memory");
}

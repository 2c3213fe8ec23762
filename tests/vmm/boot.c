// SPDX-License-Identifier: GPL-2.0
/*
 * Long mode from the first instruction: the VMM writes identity page tables
 * for the low 4 GiB (2 MiB pages, so the MMIO window is mapped too), a flat
 * GDT with a TSS, an IDT for L1 and one for L2, and loads the vCPU's
 * segment and control registers directly. The tables live in this binary's
 * bss, i.e. at fixed guest-physical addresses.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "boot.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_PS		(1ull << 7)

#define CR0_PE		(1ull << 0)
#define CR0_MP		(1ull << 1)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_WP		(1ull << 16)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_OSFXSR	(1ull << 9)
#define CR4_OSXMMEXCPT	(1ull << 10)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

struct vcpu_area vcpu_areas[MAX_VCPUS];
uint64_t guest_gdt[GDT_ENTRIES] __attribute__((aligned(64)));
struct idt_entry guest_idt_l1[256] __attribute__((aligned(4096)));
struct idt_entry guest_idt_l2[256] __attribute__((aligned(4096)));
uint64_t guest_pml4[512] __attribute__((aligned(4096)));
static uint64_t guest_pdpt[512] __attribute__((aligned(4096)));
static uint64_t guest_pd[4][512] __attribute__((aligned(4096)));

static void set_gate(struct idt_entry *e, uint64_t handler)
{
	memset(e, 0, sizeof(*e));
	e->off0 = handler & 0xffff;
	e->sel = SEL_CODE;
	e->type = 0x8e;		/* present, DPL 0, 64-bit interrupt gate */
	e->off1 = (handler >> 16) & 0xffff;
	e->off2 = handler >> 32;
}

void boot_setup_tables(struct vm *vm)
{
	uint64_t *pml4 = gva(vm, guest_pml4), *pdpt = gva(vm, guest_pdpt);
	uint64_t (*pd)[512] = gva(vm, guest_pd);
	uint64_t *gdt = gva(vm, guest_gdt);
	struct idt_entry *idt1 = gva(vm, guest_idt_l1);
	struct idt_entry *idt2 = gva(vm, guest_idt_l2);
	int i, j;

	pml4[0] = (uintptr_t)guest_pdpt | PTE_P | PTE_W;
	for (i = 0; i < 4; i++) {
		pdpt[i] = (uintptr_t)guest_pd[i] | PTE_P | PTE_W;
		for (j = 0; j < 512; j++)
			pd[i][j] = (((uint64_t)i << 30) | ((uint64_t)j << 21)) |
				   PTE_P | PTE_W | PTE_PS;
	}

	gdt[0] = 0;
	gdt[SEL_CODE / 8] = 0x00af9b000000ffffull;	/* 64-bit code, L=1 */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffull;	/* flat data */
	for (i = 0; i < MAX_VCPUS; i++) {
		struct vcpu_area *a = gva(vm, &vcpu_areas[i]);
		uint64_t tss = (uintptr_t)vcpu_areas[i].tss;
		uint64_t ist1 = (uintptr_t)vcpu_areas[i].df_stack +
				sizeof(a->df_stack);

		/* IST1 keeps #DF reportable even when %rsp is unusable */
		memcpy(a->tss + TSS_IST1, &ist1, sizeof(ist1));
		/* 16-byte available 64-bit TSS descriptor */
		gdt[SEL_TSS(i) / 8] = (TSS_SIZE - 1) |
				      ((tss & 0xffffff) << 16) | (0x89ull << 40) |
				      (((tss >> 24) & 0xff) << 56);
		gdt[SEL_TSS(i) / 8 + 1] = tss >> 32;
	}

	for (i = 0; i < 32; i++) {
		set_gate(&idt1[i], guest_exc_stubs[i]);
		set_gate(&idt2[i], guest_exc_stubs[i]);
	}
	idt1[8].ist = 1;
	idt2[8].ist = 1;
	set_gate(&idt2[IRQ_VECTOR], (uintptr_t)guest_irq_stub);
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

void boot_setup_vcpu(struct vm *vm, int fd, int id)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;

	(void)vm;
	if (ioctl(fd, KVM_GET_SREGS, &sr))
		die("KVM_GET_SREGS: %s", strerror(errno));
	flat_seg(&sr.cs, SEL_CODE, 0xb, 1);
	flat_seg(&sr.ds, SEL_DATA, 0x3, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = SEL_TSS(id);
	sr.tr.base = (uintptr_t)vcpu_areas[id].tss;
	sr.tr.limit = TSS_SIZE - 1;
	sr.tr.type = 0xb;	/* busy 64-bit TSS */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.unusable = 1;
	sr.gdt.base = (uintptr_t)guest_gdt;
	sr.gdt.limit = sizeof(guest_gdt) - 1;
	sr.idt.base = (uintptr_t)guest_idt_l1;
	sr.idt.limit = sizeof(guest_idt_l1) - 1;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr.cr3 = (uintptr_t)guest_pml4;
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(fd, KVM_SET_SREGS, &sr))
		die("KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = (uintptr_t)guest_start;
	/* as after a call: the return address slot keeps %rsp ABI-aligned */
	regs.rsp = (uintptr_t)vcpu_areas[id].l1_stack + STACK_SIZE - 8;
	regs.rdi = id;
	if (ioctl(fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS: %s", strerror(errno));
}

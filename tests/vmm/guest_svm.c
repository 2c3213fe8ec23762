// SPDX-License-Identifier: GPL-2.0
/*
 * L1 on AMD SVM: enable SVM, build a vmcb12 for an L2 that shares L1's
 * address space (no nested paging: L2 addresses are L1-physical), and run it
 * forever, accounting every #VMEXIT.
 */
#include "guest.h"

/* vmcb control area (AMD APM vol. 2, appendix B) */
#define VMCB_INTERCEPT_MISC1	0x00c
#define VMCB_INTERCEPT_MISC2	0x010
#define VMCB_IOPM_BASE		0x040
#define VMCB_MSRPM_BASE		0x048
#define VMCB_ASID		0x058
#define VMCB_INT_CTL		0x060
#define VMCB_EXIT_CODE		0x070
#define VMCB_EXIT_INT_INFO	0x088
#define VMCB_NESTED_CTL		0x090
#define VMCB_EVENT_INJ		0x0a8
#define VMCB_CLEAN		0x0c0
#define VMCB_NEXT_RIP		0x0c8
/* vmcb save area */
#define VMCB_ES			0x400
#define VMCB_CS			0x410
#define VMCB_SS			0x420
#define VMCB_DS			0x430
#define VMCB_GDTR		0x460
#define VMCB_IDTR		0x480
#define VMCB_CPL		0x4cb
#define VMCB_EFER		0x4d0
#define VMCB_CR4		0x548
#define VMCB_CR3		0x550
#define VMCB_CR0		0x558
#define VMCB_DR7		0x560
#define VMCB_DR6		0x568
#define VMCB_RFLAGS		0x570
#define VMCB_RIP		0x578
#define VMCB_RSP		0x5d8
#define VMCB_RAX		0x5f8
#define VMCB_G_PAT		0x668

#define MISC1_SHUTDOWN		(1u << 31)
#define MISC2_VMRUN		(1u << 0)
#define MISC2_VMMCALL		(1u << 1)

#define SVM_EXIT_VMMCALL	0x81
#define SVM_EXIT_SHUTDOWN	0x7f
#define SVM_EXIT_INVALID	(~0ull)	/* bad vmcb12 state */
#define EVTINJ_VALID		(1u << 31)
#define EVTINJ_TYPE_INTR	(0u << 8)

#define VMMCALL_LEN		3

#define V32(v, off)	(*(volatile uint32_t *)((v) + (off)))
#define V64(v, off)	(*(volatile uint64_t *)((v) + (off)))
#define V8(v, off)	(*(volatile uint8_t *)((v) + (off)))

static void set_seg(uint8_t *v, unsigned int off, uint16_t sel, uint16_t attr,
		    uint32_t limit, uint64_t base)
{
	*(volatile uint16_t *)(v + off) = sel;
	*(volatile uint16_t *)(v + off + 2) = attr;
	V32(v, off + 4) = limit;
	V64(v, off + 8) = base;
}

void svm_l1_enable(struct vcpu_area *a)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, (uint64_t)(uintptr_t)a->host_save);
}

static void vmcb_init(struct vcpu_area *a)
{
	uint8_t *v = a->vmcb;
	struct desc_ptr gdt;
	unsigned int i;

	for (i = 0; i < sizeof(a->vmcb); i += 8)
		V64(v, i) = 0;

	/* KVM rejects a vmcb12 without the VMRUN intercept or with ASID 0. */
	V32(v, VMCB_INTERCEPT_MISC1) = MISC1_SHUTDOWN;
	V32(v, VMCB_INTERCEPT_MISC2) = MISC2_VMRUN | MISC2_VMMCALL;
	V64(v, VMCB_IOPM_BASE) = (uintptr_t)a->iopm;
	V64(v, VMCB_MSRPM_BASE) = (uintptr_t)a->msrpm;
	V32(v, VMCB_ASID) = 1;
	V32(v, VMCB_INT_CTL) = 0;
	V64(v, VMCB_NESTED_CTL) = 0;

	sgdt(&gdt);
	/* attributes: type|S|DPL|P in 7:0, AVL|L|DB|G in 11:8 */
	set_seg(v, VMCB_CS, SEL_CODE, 0xa9b, 0xffffffff, 0);
	set_seg(v, VMCB_ES, SEL_DATA, 0xc93, 0xffffffff, 0);
	set_seg(v, VMCB_SS, SEL_DATA, 0xc93, 0xffffffff, 0);
	set_seg(v, VMCB_DS, SEL_DATA, 0xc93, 0xffffffff, 0);
	set_seg(v, VMCB_GDTR, 0, 0, gdt.limit, gdt.base);
	set_seg(v, VMCB_IDTR, 0, 0, sizeof(guest_idt_l2) - 1,
		(uintptr_t)guest_idt_l2);
	V8(v, VMCB_CPL) = 0;
	V64(v, VMCB_EFER) = rdmsr(MSR_EFER);	/* keeps SVME: KVM checks it */
	V64(v, VMCB_CR0) = read_cr0();
	V64(v, VMCB_CR3) = read_cr3();
	V64(v, VMCB_CR4) = read_cr4();
	V64(v, VMCB_DR6) = 0xffff0ff0;
	V64(v, VMCB_DR7) = 0x400;
	V64(v, VMCB_RFLAGS) = 0x202;	/* IF=1: L2 takes injected interrupts */
	V64(v, VMCB_RIP) = (uintptr_t)l2_start;
	V64(v, VMCB_RSP) = (uintptr_t)a->l2_stack + STACK_SIZE - 8;
	V64(v, VMCB_RAX) = 0;
	V64(v, VMCB_G_PAT) = 0x0007040600070406ull;
}

void svm_l1_run_l2(struct vcpu_area *a)
{
	struct vcpu_shared *s = &a->sh;
	uint8_t *v = a->vmcb;
	struct l2_gprs g = { 0 };

	svm_l1_enable(a);
	vmcb_init(a);
	guest_ready();

	for (;;) {
		uint64_t code;
		uint32_t int_info;
		int hc;

		V32(v, VMCB_CLEAN) = 0;
		svm_run((uintptr_t)v, &g);

		code = V64(v, VMCB_EXIT_CODE);
		hc = code == SVM_EXIT_VMMCALL;
		l1_count_exit(s, code < HIST_OTHER ? code : HIST_OTHER, hc, code);

		V32(v, VMCB_EVENT_INJ) = 0;
		int_info = V32(v, VMCB_EXIT_INT_INFO);
		if (int_info & EVTINJ_VALID) {
			/* delivery was cut short: inject it again */
			V32(v, VMCB_EVENT_INJ) = int_info;
			s->irq_reinjected++;
		}

		if (hc) {
			l1_fault_clobber(s, &g);
			uint64_t next = V64(v, VMCB_NEXT_RIP);

			/* no NRIPS under TCG: next_rip stays 0 */
			V64(v, VMCB_RIP) = next ? next :
					   V64(v, VMCB_RIP) + VMMCALL_LEN;
			if (!(int_info & EVTINJ_VALID) && l1_want_irq(s)) {
				s->irq_injected++;
				V32(v, VMCB_EVENT_INJ) = EVTINJ_VALID |
					EVTINJ_TYPE_INTR | IRQ_VECTOR;
			}
		} else if (code == SVM_EXIT_SHUTDOWN || code == SVM_EXIT_INVALID) {
			guest_fail("L2 cannot continue (exit code in a0, rip a1)",
				   code, V64(v, VMCB_RIP), __LINE__);
		}
	}
}

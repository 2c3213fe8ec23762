// SPDX-License-Identifier: GPL-2.0
/* nested-svm: an L1 hypervisor that runs an L2 with VMRUN. L2 (svm_l2.S)
 * counts and calls VMMCALL every 2^L2_EXIT_SHIFT iterations; L1 intercepts
 * VMMCALL, VMRUN, SHUTDOWN and every exception, so any exit other than
 * VMMCALL is reported as unexpected. At each VMMCALL L1 checks that L2's
 * counter is exactly its exit count times 2^L2_EXIT_SHIFT (no exit lost or
 * repeated, no count lost), and a few times a second it reports
 * "NC-COUNT <l2-counter> <l1-exits>", after reading an MSR the VMM serves
 * (user_msr.c). */
#include "guest.h"
#include "layout.h"
#include "svm.h"

static uint8_t vmcb[4096] __attribute__((aligned(4096)));
static uint8_t hsave[4096] __attribute__((aligned(4096)));
/* Zero bitmaps: nothing in them is intercepted (nor their intercepts set),
 * but KVM checks that they lie in guest memory. */
static uint8_t iopm[3 * 4096] __attribute__((aligned(4096)));
static uint8_t msrpm[2 * 4096] __attribute__((aligned(4096)));
static uint8_t l2_stack[4096] __attribute__((aligned(16)));

/* svm_l2.S */
extern volatile uint64_t l2_count;
extern char l2_entry[];
/* svm_run.S: VMRUN of the VMCB at the given address, STGI after the exit. */
void svm_run(uint32_t vmcb_pa);

#define F32(off) (*(volatile uint32_t *)&vmcb[off])
#define F64(off) (*(volatile uint64_t *)&vmcb[off])

static void seg(uint32_t off, uint16_t sel, uint16_t attrib, uint32_t limit, uint32_t base)
{
	*(volatile uint16_t *)&vmcb[off] = sel;
	*(volatile uint16_t *)&vmcb[off + 2] = attrib;
	F32(off + 4) = limit;
	F64(off + 8) = base;
}

static void vmcb_setup(void)
{
	/* All exceptions, SHUTDOWN, VMRUN (architecturally required) and VMMCALL. */
	F32(VMCB_INTERCEPT_EXC) = 0xffffffff;
	F32(VMCB_INTERCEPT_VEC3) = 1u << 31;
	F32(VMCB_INTERCEPT_VEC4) = (1u << 0) | (1u << 1);
	F64(VMCB_IOPM_PA) = (uint32_t)iopm;
	F64(VMCB_MSRPM_PA) = (uint32_t)msrpm;
	F32(VMCB_ASID) = 1;

	/* L2 runs on L1's flat segments and page tables. Attributes in the
	 * VMCB's packed form: type, S, DPL, P in bits 0-7; AVL, L, D/B, G in 8-11. */
	seg(VMCB_CS, SEL_CODE, 0xc9b, 0xffffffff, 0);
	seg(VMCB_DS, SEL_DATA, 0xc93, 0xffffffff, 0);
	seg(VMCB_ES, SEL_DATA, 0xc93, 0xffffffff, 0);
	seg(VMCB_SS, SEL_DATA, 0xc93, 0xffffffff, 0);
	seg(VMCB_FS, SEL_DATA, 0xc93, 0xffffffff, 0);
	seg(VMCB_GS, SEL_DATA, 0xc93, 0xffffffff, 0);
	seg(VMCB_GDTR, 0, 0, GDT_LIMIT, (uint32_t)gdt);
	seg(VMCB_IDTR, 0, 0, 32 * 8 - 1, (uint32_t)idt);
	seg(VMCB_LDTR, 0, 0x82, 0, 0);
	seg(VMCB_TR, 0, 0x8b, 0x67, 0);
	vmcb[VMCB_CPL] = 0;
	F64(VMCB_EFER) = EFER_SVME; /* KVM refuses a VMCB12 without it */
	F64(VMCB_CR0) = READ_CR(0);
	F64(VMCB_CR3) = READ_CR(3);
	F64(VMCB_CR4) = READ_CR(4);
	F64(VMCB_DR6) = 0xffff0ff0;
	F64(VMCB_DR7) = 0x400;
	F64(VMCB_RFLAGS) = 2;
	F64(VMCB_RIP) = (uint32_t)l2_entry;
	F64(VMCB_RSP) = (uint32_t)&l2_stack[sizeof(l2_stack)];
	F64(VMCB_G_PAT) = 0x0007040600070406ull;
}

static void report(uint64_t l2, uint64_t exits)
{
	serial_puts("NC-COUNT ");
	serial_putu64(l2);
	serial_puts(" ");
	serial_putu64(exits);
	serial_puts("\n");
}

void guest_main(void)
{
	uint32_t a, b, c, d, code;
	uint64_t exits = 0, last, now, l2;

	serial_puts("NC-GUEST-START nested-svm\n");
	cpuid(0x80000001, &a, &b, &c, &d);
	if (!(c & (1u << 2)))
		guest_fail("nested-svm: no SVM in CPUID 0x80000001 ecx", c);
	user_msr_init();
	paging_enable();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, (uint32_t)hsave);
	vmcb_setup();

	last = rdtsc();
	for (;;) {
		svm_run((uint32_t)vmcb);
		code = F32(VMCB_EXIT_CODE);
		if (code != SVM_EXIT_VMMCALL || F32(VMCB_EXIT_CODE + 4)) {
			serial_puts("NC-GUEST-FAIL unexpected exit ");
			serial_puthex(code);
			serial_puts(" info1 ");
			serial_puthex(F32(VMCB_EXIT_INFO1));
			serial_puts(" info2 ");
			serial_puthex(F32(VMCB_EXIT_INFO2));
			serial_puts(" rip ");
			serial_puthex(F32(VMCB_RIP));
			serial_puts(" after ");
			serial_putu64(exits);
			serial_puts(" exits\n");
			guest_fail("nested-svm: stopped at exit", code);
		}
		exits++;
		l2 = l2_count;
		/* L2 exits exactly when its counter reaches a multiple of the
		 * period, with the low half in EAX. */
		if (l2 != exits << L2_EXIT_SHIFT || F32(VMCB_RAX) != (uint32_t)l2) {
			report(l2, exits);
			guest_fail("nested-svm: L2 counter does not match the exits, rax", F32(VMCB_RAX));
		}
		F64(VMCB_RIP) = F64(VMCB_RIP) + VMMCALL_LEN;
		now = rdtsc();
		if (now - last >= REPORT_TICKS) {
			last = now;
			user_msr_check();
			report(l2, exits);
		}
	}
}

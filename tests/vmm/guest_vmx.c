// SPDX-License-Identifier: GPL-2.0
/*
 * L1 on Intel VMX: enter VMX operation, build a vmcs12 for an L2 that shares
 * L1's address space (no EPT: L2 addresses are L1-physical), and run it
 * forever, accounting every VM exit.
 */
#include "guest.h"

#define MSR_VMX_BASIC		0x480
#define MSR_VMX_PINBASED	0x481
#define MSR_VMX_PROCBASED	0x482
#define MSR_VMX_EXIT		0x483
#define MSR_VMX_ENTRY		0x484
#define MSR_VMX_CR0_FIXED0	0x486
#define MSR_VMX_CR0_FIXED1	0x487
#define MSR_VMX_CR4_FIXED0	0x488
#define MSR_VMX_CR4_FIXED1	0x489
#define MSR_VMX_TRUE_PINBASED	0x48d
#define MSR_VMX_TRUE_PROCBASED	0x48e
#define MSR_VMX_TRUE_EXIT	0x48f
#define MSR_VMX_TRUE_ENTRY	0x490
#define VMX_BASIC_TRUE_CTLS	(1ull << 55)

/* VMCS field encodings (Intel SDM vol. 3, appendix B) */
enum {
	F_GUEST_ES_SEL = 0x0800, F_GUEST_CS_SEL = 0x0802, F_GUEST_SS_SEL = 0x0804,
	F_GUEST_DS_SEL = 0x0806, F_GUEST_FS_SEL = 0x0808, F_GUEST_GS_SEL = 0x080a,
	F_GUEST_LDTR_SEL = 0x080c, F_GUEST_TR_SEL = 0x080e,
	F_HOST_ES_SEL = 0x0c00, F_HOST_CS_SEL = 0x0c02, F_HOST_SS_SEL = 0x0c04,
	F_HOST_DS_SEL = 0x0c06, F_HOST_FS_SEL = 0x0c08, F_HOST_GS_SEL = 0x0c0a,
	F_HOST_TR_SEL = 0x0c0c,
	F_LINK_PTR = 0x2800, F_GUEST_DEBUGCTL = 0x2802, F_GUEST_EFER = 0x2806,
	F_HOST_EFER = 0x2c02,
	F_PIN_CTLS = 0x4000, F_PROC_CTLS = 0x4002, F_EXC_BITMAP = 0x4004,
	F_CR3_TARGET_COUNT = 0x400a, F_EXIT_CTLS = 0x400c,
	F_EXIT_MSR_STORE_COUNT = 0x400e, F_EXIT_MSR_LOAD_COUNT = 0x4010,
	F_ENTRY_CTLS = 0x4012, F_ENTRY_MSR_LOAD_COUNT = 0x4014,
	F_ENTRY_INTR_INFO = 0x4016, F_ENTRY_EXC_ERROR = 0x4018,
	F_ENTRY_INSN_LEN = 0x401a,
	F_INSN_ERROR = 0x4400, F_EXIT_REASON = 0x4402,
	F_IDT_VEC_INFO = 0x4408, F_IDT_VEC_ERROR = 0x440a,
	F_EXIT_INSN_LEN = 0x440c,
	F_GUEST_ES_LIMIT = 0x4800, F_GUEST_CS_LIMIT = 0x4802,
	F_GUEST_SS_LIMIT = 0x4804, F_GUEST_DS_LIMIT = 0x4806,
	F_GUEST_FS_LIMIT = 0x4808, F_GUEST_GS_LIMIT = 0x480a,
	F_GUEST_LDTR_LIMIT = 0x480c, F_GUEST_TR_LIMIT = 0x480e,
	F_GUEST_GDTR_LIMIT = 0x4810, F_GUEST_IDTR_LIMIT = 0x4812,
	F_GUEST_ES_AR = 0x4814, F_GUEST_CS_AR = 0x4816, F_GUEST_SS_AR = 0x4818,
	F_GUEST_DS_AR = 0x481a, F_GUEST_FS_AR = 0x481c, F_GUEST_GS_AR = 0x481e,
	F_GUEST_LDTR_AR = 0x4820, F_GUEST_TR_AR = 0x4822,
	F_GUEST_INTERRUPTIBILITY = 0x4824, F_GUEST_ACTIVITY = 0x4826,
	F_GUEST_SYSENTER_CS = 0x482a, F_HOST_SYSENTER_CS = 0x4c00,
	F_CR0_MASK = 0x6000, F_CR4_MASK = 0x6002,
	F_CR0_SHADOW = 0x6004, F_CR4_SHADOW = 0x6006,
	F_GUEST_CR0 = 0x6800, F_GUEST_CR3 = 0x6802, F_GUEST_CR4 = 0x6804,
	F_GUEST_ES_BASE = 0x6806, F_GUEST_CS_BASE = 0x6808,
	F_GUEST_SS_BASE = 0x680a, F_GUEST_DS_BASE = 0x680c,
	F_GUEST_FS_BASE = 0x680e, F_GUEST_GS_BASE = 0x6810,
	F_GUEST_LDTR_BASE = 0x6812, F_GUEST_TR_BASE = 0x6814,
	F_GUEST_GDTR_BASE = 0x6816, F_GUEST_IDTR_BASE = 0x6818,
	F_GUEST_DR7 = 0x681a, F_GUEST_RSP = 0x681c, F_GUEST_RIP = 0x681e,
	F_GUEST_RFLAGS = 0x6820, F_GUEST_PENDING_DBG = 0x6822,
	F_GUEST_SYSENTER_ESP = 0x6824, F_GUEST_SYSENTER_EIP = 0x6826,
	F_HOST_CR0 = 0x6c00, F_HOST_CR3 = 0x6c02, F_HOST_CR4 = 0x6c04,
	F_HOST_FS_BASE = 0x6c06, F_HOST_GS_BASE = 0x6c08,
	F_HOST_TR_BASE = 0x6c0a, F_HOST_GDTR_BASE = 0x6c0c,
	F_HOST_IDTR_BASE = 0x6c0e, F_HOST_SYSENTER_ESP = 0x6c10,
	F_HOST_SYSENTER_EIP = 0x6c12,
};

#define EXIT_CTL_HOST_64	(1u << 9)
#define EXIT_CTL_SAVE_EFER	(1u << 20)
#define EXIT_CTL_LOAD_EFER	(1u << 21)
#define ENTRY_CTL_IA32E		(1u << 9)
#define ENTRY_CTL_LOAD_EFER	(1u << 15)

#define EXIT_REASON_VMCALL	18
#define EXIT_REASON_TRIPLE	2
#define EXIT_REASON_FAILED	(1u << 31)
#define INTR_INFO_VALID		(1u << 31)
#define INTR_INFO_HAS_ERROR	(1u << 11)
#define INTR_TYPE_EXT		(0u << 8)

static inline void vmx_check(const char *what, int failed, uint64_t arg)
{
	if (failed)
		guest_fail(what, arg, 0, __LINE__);
}

static inline int __vmxon(uint64_t pa)
{
	uint8_t bad;

	asm volatile("vmxon %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	return bad;
}

static inline int __vmclear(uint64_t pa)
{
	uint8_t bad;

	asm volatile("vmclear %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	return bad;
}

static inline int __vmptrld(uint64_t pa)
{
	uint8_t bad;

	asm volatile("vmptrld %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	return bad;
}

static inline uint64_t vmread(uint64_t field)
{
	uint64_t val = 0;
	uint8_t bad;

	asm volatile("vmread %2, %1; setna %0"
		     : "=qm"(bad), "=rm"(val) : "r"(field) : "cc", "memory");
	if (bad)
		guest_fail("vmread failed (field a0)", field, 0, __LINE__);
	return val;
}

static inline void vmwrite(uint64_t field, uint64_t val)
{
	uint8_t bad;

	asm volatile("vmwrite %2, %1; setna %0"
		     : "=qm"(bad) : "r"(field), "rm"(val) : "cc", "memory");
	if (bad)
		guest_fail("vmwrite failed (field a0, value a1)", field, val,
			   __LINE__);
}

/* Apply the allowed-0 (must be 1) and allowed-1 (may be 1) settings. */
static uint32_t adjust_ctls(uint32_t msr, uint32_t want)
{
	uint64_t v = rdmsr(msr);

	return (want | (uint32_t)v) & (uint32_t)(v >> 32);
}

void vmx_l1_enable(struct vcpu_area *a)
{
	uint32_t rev = rdmsr(MSR_VMX_BASIC) & 0x7fffffff;
	unsigned long cr0 = read_cr0(), cr4 = read_cr4();

	cr0 |= rdmsr(MSR_VMX_CR0_FIXED0);
	cr0 &= rdmsr(MSR_VMX_CR0_FIXED1);
	cr4 |= rdmsr(MSR_VMX_CR4_FIXED0) | X86_CR4_VMXE;
	cr4 &= rdmsr(MSR_VMX_CR4_FIXED1);
	write_cr0(cr0);
	write_cr4(cr4);

	*(volatile uint32_t *)a->host_save = rev;
	*(volatile uint32_t *)a->vmcb = rev;
	vmx_check("vmxon failed (region a0)", __vmxon((uintptr_t)a->host_save),
	       (uintptr_t)a->host_save);
	vmx_check("vmclear failed", __vmclear((uintptr_t)a->vmcb),
	       (uintptr_t)a->vmcb);
	vmx_check("vmptrld failed", __vmptrld((uintptr_t)a->vmcb),
	       (uintptr_t)a->vmcb);
}

static void vmcs_init(struct vcpu_area *a, int *load_efer)
{
	int true_ctls = !!(rdmsr(MSR_VMX_BASIC) & VMX_BASIC_TRUE_CTLS);
	uint32_t exit_ctls, entry_ctls;
	struct desc_ptr gdt, idt;
	uint64_t efer = rdmsr(MSR_EFER);

	sgdt(&gdt);
	sidt(&idt);

	/* No interrupt, I/O or MSR exiting: only VMCALL is expected. */
	vmwrite(F_PIN_CTLS, adjust_ctls(true_ctls ? MSR_VMX_TRUE_PINBASED :
					MSR_VMX_PINBASED, 0));
	vmwrite(F_PROC_CTLS, adjust_ctls(true_ctls ? MSR_VMX_TRUE_PROCBASED :
					 MSR_VMX_PROCBASED, 0));
	exit_ctls = adjust_ctls(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT,
				EXIT_CTL_HOST_64 | EXIT_CTL_SAVE_EFER |
				EXIT_CTL_LOAD_EFER);
	entry_ctls = adjust_ctls(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY,
				 ENTRY_CTL_IA32E | ENTRY_CTL_LOAD_EFER);
	vmwrite(F_EXIT_CTLS, exit_ctls);
	vmwrite(F_ENTRY_CTLS, entry_ctls);
	*load_efer = !!(entry_ctls & ENTRY_CTL_LOAD_EFER);
	vmwrite(F_EXC_BITMAP, 0);
	vmwrite(F_CR3_TARGET_COUNT, 0);
	vmwrite(F_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(F_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(F_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(F_ENTRY_INTR_INFO, 0);
	vmwrite(F_CR0_MASK, 0);
	vmwrite(F_CR4_MASK, 0);
	vmwrite(F_CR0_SHADOW, read_cr0());
	vmwrite(F_CR4_SHADOW, read_cr4());

	/* host: L1 as it is now */
	vmwrite(F_HOST_CR0, read_cr0());
	vmwrite(F_HOST_CR3, read_cr3());
	vmwrite(F_HOST_CR4, read_cr4());
	vmwrite(F_HOST_ES_SEL, SEL_DATA);
	vmwrite(F_HOST_CS_SEL, SEL_CODE);
	vmwrite(F_HOST_SS_SEL, SEL_DATA);
	vmwrite(F_HOST_DS_SEL, SEL_DATA);
	vmwrite(F_HOST_FS_SEL, SEL_DATA);
	vmwrite(F_HOST_GS_SEL, SEL_DATA);
	vmwrite(F_HOST_TR_SEL, SEL_TSS(a->sh.id));
	vmwrite(F_HOST_FS_BASE, 0);
	vmwrite(F_HOST_GS_BASE, 0);
	vmwrite(F_HOST_TR_BASE, (uintptr_t)a->tss);
	vmwrite(F_HOST_GDTR_BASE, gdt.base);
	vmwrite(F_HOST_IDTR_BASE, idt.base);
	vmwrite(F_HOST_SYSENTER_CS, 0);
	vmwrite(F_HOST_SYSENTER_ESP, 0);
	vmwrite(F_HOST_SYSENTER_EIP, 0);
	if (exit_ctls & EXIT_CTL_LOAD_EFER)
		vmwrite(F_HOST_EFER, efer);

	/* guest: same flat segments and paging, its own IDT and stack */
	vmwrite(F_GUEST_CS_SEL, SEL_CODE);
	vmwrite(F_GUEST_CS_BASE, 0);
	vmwrite(F_GUEST_CS_LIMIT, 0xffffffff);
	vmwrite(F_GUEST_CS_AR, 0xa09b);
#define DATA_SEG(s)							\
	do {								\
		vmwrite(F_GUEST_##s##_SEL, SEL_DATA);			\
		vmwrite(F_GUEST_##s##_BASE, 0);				\
		vmwrite(F_GUEST_##s##_LIMIT, 0xffffffff);		\
		vmwrite(F_GUEST_##s##_AR, 0xc093);			\
	} while (0)
	DATA_SEG(ES);
	DATA_SEG(SS);
	DATA_SEG(DS);
	DATA_SEG(FS);
	DATA_SEG(GS);
#undef DATA_SEG
	vmwrite(F_GUEST_LDTR_SEL, 0);
	vmwrite(F_GUEST_LDTR_BASE, 0);
	vmwrite(F_GUEST_LDTR_LIMIT, 0);
	vmwrite(F_GUEST_LDTR_AR, 0x10000);	/* unusable */
	vmwrite(F_GUEST_TR_SEL, SEL_TSS(a->sh.id));
	vmwrite(F_GUEST_TR_BASE, (uintptr_t)a->tss);
	vmwrite(F_GUEST_TR_LIMIT, TSS_SIZE - 1);
	vmwrite(F_GUEST_TR_AR, 0x8b);		/* busy 64-bit TSS */
	vmwrite(F_GUEST_GDTR_BASE, gdt.base);
	vmwrite(F_GUEST_GDTR_LIMIT, gdt.limit);
	vmwrite(F_GUEST_IDTR_BASE, (uintptr_t)guest_idt_l2);
	vmwrite(F_GUEST_IDTR_LIMIT, sizeof(guest_idt_l2) - 1);
	vmwrite(F_GUEST_CR0, read_cr0());
	vmwrite(F_GUEST_CR3, read_cr3());
	vmwrite(F_GUEST_CR4, read_cr4());
	vmwrite(F_GUEST_DR7, 0x400);
	vmwrite(F_GUEST_DEBUGCTL, 0);
	if (*load_efer)
		vmwrite(F_GUEST_EFER, efer);
	vmwrite(F_LINK_PTR, ~0ull);
	vmwrite(F_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(F_GUEST_ACTIVITY, 0);
	vmwrite(F_GUEST_PENDING_DBG, 0);
	vmwrite(F_GUEST_SYSENTER_CS, 0);
	vmwrite(F_GUEST_SYSENTER_ESP, 0);
	vmwrite(F_GUEST_SYSENTER_EIP, 0);
	vmwrite(F_GUEST_RSP, (uintptr_t)a->l2_stack + STACK_SIZE - 8);
	vmwrite(F_GUEST_RIP, (uintptr_t)l2_start);
	vmwrite(F_GUEST_RFLAGS, 0x202);	/* IF=1: required to inject */
}

void vmx_l1_run_l2(struct vcpu_area *a)
{
	struct vcpu_shared *s = &a->sh;
	struct l2_gprs g = { 0 };
	int launched = 0, load_efer;

	vmx_l1_enable(a);
	vmcs_init(a, &load_efer);
	guest_ready();

	for (;;) {
		uint64_t reason, vec;
		int hc;

		if (vmx_run(&g, launched))
			guest_fail("VM entry failed (VM-instruction error a0)",
				   vmread(F_INSN_ERROR), launched, __LINE__);
		launched = 1;

		reason = vmread(F_EXIT_REASON);
		if (reason & EXIT_REASON_FAILED)
			guest_fail("VM entry failed (exit reason a0, qual a1)",
				   reason, 0, __LINE__);
		reason &= 0xffff;
		hc = reason == EXIT_REASON_VMCALL;
		l1_count_exit(s, reason < HIST_OTHER ? reason : HIST_OTHER, hc,
			      reason);

		/* The entry interruption field is invalidated by every exit. */
		vec = vmread(F_IDT_VEC_INFO);
		if (vec & INTR_INFO_VALID) {
			if (vec & INTR_INFO_HAS_ERROR)
				vmwrite(F_ENTRY_EXC_ERROR,
					vmread(F_IDT_VEC_ERROR));
			vmwrite(F_ENTRY_INSN_LEN, vmread(F_EXIT_INSN_LEN));
			vmwrite(F_ENTRY_INTR_INFO, vec & ~(1ull << 12));
			s->irq_reinjected++;
		}

		if (hc) {
			l1_fault_clobber(s, &g);
			vmwrite(F_GUEST_RIP, vmread(F_GUEST_RIP) +
				vmread(F_EXIT_INSN_LEN));
			if (!(vec & INTR_INFO_VALID) && l1_want_irq(s)) {
				s->irq_injected++;
				vmwrite(F_ENTRY_INTR_INFO, INTR_INFO_VALID |
					INTR_TYPE_EXT | IRQ_VECTOR);
			}
		} else if (reason == EXIT_REASON_TRIPLE) {
			guest_fail("L2 triple fault (rip a0)",
				   vmread(F_GUEST_RIP), 0, __LINE__);
		}
	}
}

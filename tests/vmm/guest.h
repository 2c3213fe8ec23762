/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-side helpers. Everything including this runs inside the VM, built
 * with -mgeneral-regs-only (so L1 and L2 C code never touch the XMM registers
 * L2 keeps patterns in) and without libc.
 */
#ifndef NESTVMM_GUEST_H
#define NESTVMM_GUEST_H

#include <stdint.h>
#include "layout.h"

#define MSR_EFER		0xc0000080
#define EFER_SVME		(1ull << 12)
#define MSR_VM_HSAVE_PA		0xc0010117

#define X86_CR4_VMXE		(1ul << 13)

static inline struct vcpu_area *this_area(void)
{
	unsigned long sp;

	asm volatile("mov %%rsp, %0" : "=r"(sp));
	return (struct vcpu_area *)(sp & ~(AREA_SIZE - 1));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void outl(uint16_t port, uint32_t val)
{
	asm volatile("outl %0, %1" :: "a"(val), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t val;

	asm volatile("inl %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

#define DEFINE_CR(n)							\
static inline unsigned long read_cr##n(void)				\
{									\
	unsigned long v;						\
	asm volatile("mov %%cr" #n ", %0" : "=r"(v));			\
	return v;							\
}									\
static inline void write_cr##n(unsigned long v)				\
{									\
	asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory");		\
}
DEFINE_CR(0)
DEFINE_CR(3)
DEFINE_CR(4)

static inline void sgdt(struct desc_ptr *d)
{
	asm volatile("sgdt %0" : "=m"(*d));
}

static inline void sidt(struct desc_ptr *d)
{
	asm volatile("sidt %0" : "=m"(*d));
}

static inline void __attribute__((noreturn)) guest_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

/* Registers saved and restored around VMRUN/VMLAUNCH (guest_asm.S). */
struct l2_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* guest_report.c: the ucall channel */
void guest_print(const char *msg);
void __attribute__((noreturn)) guest_fail(const char *msg, uint64_t a0,
					  uint64_t a1, int line);
void guest_ready(void);

#define GUEST_ASSERT(cond, a0, a1)					\
	do {								\
		if (!(cond))						\
			guest_fail("assert: " #cond, (a0), (a1), __LINE__); \
	} while (0)

/* guest_svm.c / guest_vmx.c: run an L2 until the VMM stops us */
void __attribute__((noreturn)) svm_l1_run_l2(struct vcpu_area *a);
void svm_l1_enable(struct vcpu_area *a);
void __attribute__((noreturn)) vmx_l1_run_l2(struct vcpu_area *a);
void vmx_l1_enable(struct vcpu_area *a);

struct l2_gprs;

/* common exit accounting for both vendors (guest_main.c) */
void l1_count_exit(struct vcpu_shared *s, unsigned int slot, int hypercall,
		   uint64_t reason);
int l1_want_irq(struct vcpu_shared *s);
void l1_fault_clobber(struct vcpu_shared *s, struct l2_gprs *g);

/* guest_workload.c: round trips with the VMM, also used by plain/idle L1 */
void pio_step(struct vcpu_shared *s);
void mmio_step(struct vcpu_shared *s);
void msr_step(struct vcpu_shared *s);

/* guest_asm.S */
void svm_run(uint64_t vmcb_pa, struct l2_gprs *g);
int vmx_run(struct l2_gprs *g, int launched);
void l2_regs_vmcall(const uint64_t *in, uint64_t *out);
void l2_regs_vmmcall(const uint64_t *in, uint64_t *out);

/* values loaded by l2_regs_*: 15 GPRs then 16 XMM registers (2 quads each) */
#define REGS_GPRS		15
#define REGS_QUADS		(REGS_GPRS + 32)

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * L2's workloads: a counter, register patterns checked across every
 * hypercall round trip through L1 (and any interrupt L1 injects on the way
 * back), interrupt accounting, and PIO/MMIO round trips with the VMM that
 * catch a lost or doubled exit. Plain guests and idle L1s use the PIO/MMIO
 * steps too.
 */
#include "guest.h"

/* The VMM answers IN with the sequence number of the last OUT it saw. */
void pio_step(struct vcpu_shared *s)
{
	uint32_t seq = (uint32_t)s->pio_done + 1;

	outl(PORT_DATA, seq);
	if (inl(PORT_DATA) != seq)
		s->pio_errors++;
	s->pio_done++;
}

/*
 * MSR 0x35 comes from the VMM (the MSR filter sends it to userspace), MCG_CAP
 * and MCG_CTL from KVM as KVM_X86_SETUP_MCE set them: after a restore that
 * lost the filter RDMSR 0x35 takes #GP (reported as an exception), one that
 * lost the MCE setup reads other values.
 */
void msr_step(struct vcpu_shared *s)
{
	uint64_t v = rdmsr(MSR_CORE_THREAD_COUNT);

	if (v != MSR_35_VALUE(s->id))
		guest_fail("RDMSR 0x35: not the VMM's value", v, MSR_35_VALUE(s->id),
			   __LINE__);
	v = rdmsr(MSR_MCG_CAP);
	if (v != s->mcg_cap_want)
		guest_fail("RDMSR MCG_CAP: not as set up", v, s->mcg_cap_want, __LINE__);
	v = rdmsr(MSR_MCG_CTL);
	if (v != ~0ull)
		guest_fail("RDMSR MCG_CTL: not all ones", v, ~0ull, __LINE__);
	s->msr_reads++;
}

/* The VMM answers a load with the last value stored to that address. */
void mmio_step(struct vcpu_shared *s)
{
	volatile uint64_t *p = (volatile uint64_t *)(MMIO_BASE +
						     s->id * MMIO_STRIDE);
	uint64_t seq = ((uint64_t)s->id << 56) | (s->mmio_done + 1);

	*p = seq;
	if (*p != seq)
		s->mmio_errors++;
	s->mmio_done++;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return x;
}

static void hypercall(struct vcpu_shared *s)
{
	if (s->vendor == VENDOR_SVM)
		asm volatile("vmmcall" ::: "memory");
	else
		asm volatile("vmcall" ::: "memory");
}

/* Patterns derived from the counter, so every round trip is different. */
static void regs_roundtrip(struct vcpu_shared *s)
{
	uint64_t in[REGS_QUADS], out[REGS_QUADS];
	uint64_t seed = s->l2_count ^ (s->l2_hypercalls << 40);
	unsigned int i;

	for (i = 0; i < REGS_QUADS; i++) {
		in[i] = mix(seed + i);
		out[i] = ~in[i];
	}
	if (s->vendor == VENDOR_SVM)
		l2_regs_vmmcall(in, out);
	else
		l2_regs_vmcall(in, out);
	for (i = 0; i < REGS_QUADS; i++) {
		if (in[i] != out[i]) {
			s->pattern_failures++;
			if (!s->first_pattern_reg)
				s->first_pattern_reg = i + 1;
			break;
		}
	}
}

void l2_start(void)
{
	struct vcpu_shared *s = &this_area()->sh;
	uint64_t hc_mask = s->hc_every - 1, io_mask = s->io_every - 1;
	uint64_t iter = 0;
	int count = (s->workloads & WL_COUNT) &&
		    !(s->faults & FAULT_L2_STALL);

	for (;;) {
		if (count)
			s->l2_count++;
		iter++;
		if ((iter & hc_mask) == 0) {
			s->l2_hypercalls++;
			if (s->workloads & WL_REGS)
				regs_roundtrip(s);
			else
				hypercall(s);
			/* L1 injects before resuming us: nothing in flight */
			if ((s->workloads & WL_IRQ) &&
			    s->irq_received != s->irq_injected)
				s->irq_mismatch++;
		}
		if ((iter & io_mask) == io_mask / 2) {
			if (s->workloads & WL_PIO)
				pio_step(s);
			if (s->workloads & WL_MMIO)
				mmio_step(s);
		}
	}
}

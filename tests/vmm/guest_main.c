// SPDX-License-Identifier: GPL-2.0
/*
 * Guest entry: every vCPU starts here in 64-bit mode on its own L1 stack and
 * becomes a plain guest, an L1 with virtualization enabled, or an L1 that
 * runs an L2 (guest_svm.c, guest_vmx.c).
 */
#include "guest.h"

/* Plain guest and idle L1: count, and do PIO/MMIO round trips if asked. */
static void __attribute__((noreturn)) count_loop(struct vcpu_shared *s)
{
	uint64_t io_mask = s->io_every - 1, iter = 0;

	for (;;) {
		s->l1_count++;
		iter++;
		if ((iter & io_mask) == 0) {
			if (s->workloads & WL_PIO)
				pio_step(s);
			if (s->workloads & WL_MMIO)
				mmio_step(s);
			if (s->workloads & WL_MSR)
				msr_step(s);
		}
	}
}

void l1_count_exit(struct vcpu_shared *s, unsigned int slot, int hypercall,
		   uint64_t reason)
{
	s->l1_exits++;
	s->l1_count++;
	s->exit_hist[slot]++;
	if (hypercall) {
		/* L2 counts before it calls: both must agree on every exit. */
		s->l1_hypercall_exits++;
		if (s->l1_hypercall_exits != s->l2_hypercalls)
			s->missed_exits++;
	} else {
		s->unexpected_exits++;
		if (!s->first_unexpected)
			s->first_unexpected = reason + 1;
	}
}

int l1_want_irq(struct vcpu_shared *s)
{
	return (s->workloads & WL_IRQ) &&
	       s->l1_hypercall_exits % s->irq_every == 0;
}

/* Test-only: prove the register check notices a careless L1. */
void l1_fault_clobber(struct vcpu_shared *s, struct l2_gprs *g)
{
	if ((s->faults & FAULT_REGS_CLOBBER) &&
	    s->l1_hypercall_exits % 64 == 0)
		g->r12 ^= 1;
}

void guest_start(uint32_t id)
{
	struct vcpu_area *a = this_area();
	struct vcpu_shared *s = &a->sh;

	GUEST_ASSERT(a == &vcpu_areas[id], id, (uintptr_t)a);

	switch (s->mode) {
	case MODE_PLAIN:
		guest_ready();
		count_loop(s);
	case MODE_L1:
		if (s->vendor == VENDOR_SVM)
			svm_l1_enable(a);
		else
			vmx_l1_enable(a);
		guest_ready();
		count_loop(s);
	case MODE_L2:
		if (s->vendor == VENDOR_SVM)
			svm_l1_run_l2(a);
		else
			vmx_l1_run_l2(a);
	}
	guest_fail("bad mode", s->mode, 0, __LINE__);
}

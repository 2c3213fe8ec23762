// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-to-VMM report channel: the guest fills its vCPU's struct ucall and
 * writes its address to PORT_UCALL. L1 never intercepts I/O, so L2 uses the
 * same channel and lands in the VMM directly.
 */
#include "guest.h"

static void copy_msg(char *dst, const char *src, unsigned int n)
{
	unsigned int i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void ucall(uint32_t cmd, const char *msg, uint64_t a0, uint64_t a1,
		  uint64_t a2, uint64_t a3, int line)
{
	struct ucall *uc = &this_area()->uc;

	uc->cmd = cmd;
	uc->line = line;
	uc->a[0] = a0;
	uc->a[1] = a1;
	uc->a[2] = a2;
	uc->a[3] = a3;
	copy_msg(uc->msg, msg ? msg : "", sizeof(uc->msg));
	outl(PORT_UCALL, (uint32_t)(uintptr_t)uc);
}

void guest_print(const char *msg)
{
	ucall(UC_PRINT, msg, 0, 0, 0, 0, 0);
}

void guest_fail(const char *msg, uint64_t a0, uint64_t a1, int line)
{
	ucall(UC_FAIL, msg, a0, a1, 0, 0, line);
	guest_halt();
}

void guest_ready(void)
{
	ucall(UC_READY, "ready", this_area()->sh.mode, 0, 0, 0, 0);
}

/* Called from the exception stubs in guest_asm.S with interrupts off. */
void guest_exception(uint64_t vector, uint64_t error, uint64_t rip,
		     uint64_t rsp)
{
	struct vcpu_area *a = this_area();
	uint64_t in_l2 = rsp >= (uint64_t)(uintptr_t)a->l2_stack &&
			 rsp < (uint64_t)(uintptr_t)a->l2_stack + STACK_SIZE;

	ucall(UC_EXCEPTION, in_l2 ? "exception in L2" : "exception in L1",
	      vector, error, rip, in_l2 ? 2 : 1, 0);
	guest_halt();
}

/* L2's interrupt handler for IRQ_VECTOR: count, nothing else. */
void guest_irq(void)
{
	this_area()->sh.irq_received++;
}

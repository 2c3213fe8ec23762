// SPDX-License-Identifier: GPL-2.0
/* An MSR that QEMU serves from userspace through KVM's MSR filter
 * (KVM_CAP_X86_USER_SPACE_MSR): MSR_CORE_THREAD_COUNT (0x35), which KVM
 * itself does not know on AMD. Read once at start and again at every
 * report: a VMM whose filter is lost (a restore that does not replay it)
 * gives the guest a #GP here, which the IDT reports, or another value. */
#include "guest.h"

#define MSR_CORE_THREAD_COUNT 0x35

static uint64_t first;

void user_msr_init(void)
{
	first = rdmsr(MSR_CORE_THREAD_COUNT);
	serial_puts("NC-USER-MSR 0x35 ");
	serial_puthex((uint32_t)first);
	serial_puts("\n");
}

void user_msr_check(void)
{
	uint64_t v = rdmsr(MSR_CORE_THREAD_COUNT);

	if (v != first)
		guest_fail("MSR 0x35 (served by the VMM) changed to", (uint32_t)v);
}

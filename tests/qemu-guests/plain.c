// SPDX-License-Identifier: GPL-2.0
/* plain: counts in memory and reports "NC-COUNT <n>" on COM1 a few times a
 * second. A second copy of the counter, kept inverted, must match at every
 * check: memory that comes back different from a checkpoint is reported.
 * At each report it also reads an MSR the VMM serves (user_msr.c).
 * Given 2 vCPUs (QEMU -smp 2), it starts the AP, which counts on its own
 * (smp.c), and reports "NC-COUNT <n> <ap-count>". */
#include "guest.h"

static volatile uint64_t count;
static volatile uint64_t count_inv = ~0ull;

void guest_main(void)
{
	uint64_t last = rdtsc(), now;
	uint32_t cpus = smp_cpus();

	serial_puts("NC-GUEST-START plain cpus ");
	serial_putu64(cpus);
	serial_puts("\n");
	user_msr_init();
	if (cpus > 1)
		smp_start_ap();
	for (;;) {
		count++;
		count_inv = ~count;
		if (count & 0xffff)
			continue;
		if (count_inv != ~count)
			guest_fail("plain: counter copies differ at", (uint32_t)count);
		now = rdtsc();
		if (now - last < REPORT_TICKS)
			continue;
		last = now;
		user_msr_check();
		serial_puts("NC-COUNT ");
		serial_putu64(count);
		if (cpus > 1) {
			serial_puts(" ");
			serial_putu64(ap_count);
		}
		serial_puts("\n");
	}
}

// SPDX-License-Identifier: GPL-2.0
/* A second vCPU that does real work: the BSP asks QEMU (fw_cfg) how many
 * CPUs it has and, with more than one, starts the AP with INIT-SIPI-SIPI
 * through its xAPIC. The AP counts its own counter, checking an inverted
 * copy as the BSP does; the BSP reports the AP's count beside its own. */
#include "guest.h"
#include "layout.h"

#define FW_CFG_CTL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_NB_CPUS 0x05

#define MSR_APIC_BASE 0x1b
#define APIC_SVR 0xf0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
/* ICR: destination "all but self", level assert, delivery mode INIT/SIPI. */
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)

extern char ap_tramp[], ap_tramp_end[];

volatile uint64_t ap_count;
static volatile uint64_t ap_count_inv = ~0ull;
static volatile uint32_t ap_up;

static uint16_t fw_cfg_u16(uint16_t key)
{
	uint8_t lo, hi;

	asm volatile("outw %0, %1" : : "a"(key), "Nd"((uint16_t)FW_CFG_CTL));
	asm volatile("inb %1, %0" : "=a"(lo) : "Nd"((uint16_t)FW_CFG_DATA));
	asm volatile("inb %1, %0" : "=a"(hi) : "Nd"((uint16_t)FW_CFG_DATA));
	return lo | (uint16_t)hi << 8;
}

uint32_t smp_cpus(void)
{
	return fw_cfg_u16(FW_CFG_NB_CPUS);
}

static void tsc_delay(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		;
}

static void apic_write(uint32_t reg, uint32_t v)
{
	uint32_t base = (uint32_t)rdmsr(MSR_APIC_BASE) & 0xfffff000u;

	*(volatile uint32_t *)(base + reg) = v;
}

void smp_start_ap(void)
{
	const char *s = ap_tramp;
	char *d = (char *)AP_TRAMPOLINE;
	uint64_t t0;

	while (s < ap_tramp_end)
		*d++ = *s++;
	apic_write(APIC_SVR, 0x1ff);
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	tsc_delay(1u << 24);
	apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (AP_TRAMPOLINE >> 12));
	tsc_delay(1u << 20);
	if (!ap_up)
		apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (AP_TRAMPOLINE >> 12));
	t0 = rdtsc();
	while (!ap_up)
		if (rdtsc() - t0 > 64 * REPORT_TICKS)
			guest_fail("smp: the AP did not start, cpus", smp_cpus());
	serial_puts("NC-AP-UP\n");
}

void ap_main(void)
{
	idt_load();
	ap_up = 1;
	for (;;) {
		ap_count++;
		ap_count_inv = ~ap_count;
		if (!(ap_count & 0xffff) && ap_count_inv != ~ap_count)
			guest_fail("smp: AP counter copies differ at", (uint32_t)ap_count);
	}
}

/* The QEMU test guests' shared pieces: serial reporting, CPU access,
 * exception reporting, paging. Freestanding, 32-bit. */
#ifndef QG_GUEST_H
#define QG_GUEST_H

#include <stdint.h>

/* serial.c: COM1, polled. */
void serial_puts(const char *s);
void serial_putu64(uint64_t v);
void serial_puthex(uint32_t v);
/* fail(): an "NC-GUEST-FAIL ..." line, then the guest stops for good. */
void __attribute__((noreturn)) guest_fail(const char *what, uint32_t value);

/* idt.c */
void idt_setup(void);
void idt_load(void);
void exception_report(uint32_t vector, uint32_t error, uint32_t eip);
extern uint8_t idt[];
extern uint8_t gdt[];

/* user_msr.c: an MSR the VMM serves from userspace, checked at each report. */
void user_msr_init(void);
void user_msr_check(void);

/* smp.c: the CPUs QEMU gives the guest, and the AP started to count
 * ap_count. */
uint32_t smp_cpus(void);
void smp_start_ap(void);
extern volatile uint64_t ap_count;

/* paging.c: identity map of the 4 GiB space with 4 MiB pages. */
void paging_enable(void);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#define READ_CR(n) ({ uint32_t _v; asm volatile("mov %%cr" #n ", %0" : "=r"(_v)); _v; })

/* A report every 2^30 TSC ticks: a few lines a second at GHz rates. */
#define REPORT_TICKS (1ull << 30)

#endif

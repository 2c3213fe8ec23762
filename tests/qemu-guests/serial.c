// SPDX-License-Identifier: GPL-2.0
/* COM1 output by polling: the guests have no interrupts and need none. */
#include "guest.h"

#define COM1 0x3f8

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_putc(char c)
{
	/* Wait for the transmit holding register to empty. */
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* (rem:hi) / 10 with divl: no 64-bit division helper from libgcc. */
static uint32_t div10(uint32_t *hi_lo, uint32_t rem)
{
	uint32_t q;

	asm("divl %3" : "=a"(q), "=d"(rem) : "a"(*hi_lo), "r"(10u), "d"(rem));
	*hi_lo = q;
	return rem;
}

void serial_putu64(uint64_t v)
{
	char buf[24];
	int i = sizeof(buf) - 1;
	uint32_t hi = v >> 32, lo = (uint32_t)v, r;

	buf[i] = 0;
	do {
		r = div10(&hi, 0);
		r = div10(&lo, r);
		buf[--i] = '0' + r;
	} while (hi || lo);
	serial_puts(&buf[i]);
}

void serial_puthex(uint32_t v)
{
	char buf[11];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
	buf[10] = 0;
	serial_puts(buf);
}

void guest_fail(const char *what, uint32_t value)
{
	serial_puts("NC-GUEST-FAIL ");
	serial_puts(what);
	serial_puts(" ");
	serial_puthex(value);
	serial_puts("\n");
	for (;;)
		asm volatile("cli; hlt");
}

// SPDX-License-Identifier: GPL-2.0
/* An IDT whose every exception vector reports itself on the serial port:
 * a guest that faults says so instead of resetting silently. */
#include "guest.h"
#include "layout.h"

#define VECTORS 32

uint8_t idt[VECTORS * 8] __attribute__((aligned(8)));

#define STUB(n) extern char exc_stub_##n[];
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7)
STUB(8) STUB(9) STUB(10) STUB(11) STUB(12) STUB(13) STUB(14) STUB(15)
STUB(16) STUB(17) STUB(18) STUB(19) STUB(20) STUB(21) STUB(22) STUB(23)
STUB(24) STUB(25) STUB(26) STUB(27) STUB(28) STUB(29) STUB(30) STUB(31)
#undef STUB

static char *const stubs[VECTORS] = {
	exc_stub_0, exc_stub_1, exc_stub_2, exc_stub_3, exc_stub_4, exc_stub_5,
	exc_stub_6, exc_stub_7, exc_stub_8, exc_stub_9, exc_stub_10, exc_stub_11,
	exc_stub_12, exc_stub_13, exc_stub_14, exc_stub_15, exc_stub_16, exc_stub_17,
	exc_stub_18, exc_stub_19, exc_stub_20, exc_stub_21, exc_stub_22, exc_stub_23,
	exc_stub_24, exc_stub_25, exc_stub_26, exc_stub_27, exc_stub_28, exc_stub_29,
	exc_stub_30, exc_stub_31,
};

/* Each CPU loads the one table the BSP filled. */
void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} desc = { sizeof(idt) - 1, (uint32_t)idt };

	asm volatile("lidt %0" : : "m"(desc));
}

void idt_setup(void)
{
	int i;

	for (i = 0; i < VECTORS; i++) {
		uint32_t a = (uint32_t)stubs[i];
		uint8_t *e = &idt[i * 8];

		/* 32-bit interrupt gate, DPL 0, present. */
		e[0] = a;
		e[1] = a >> 8;
		e[2] = SEL_CODE;
		e[3] = 0;
		e[4] = 0;
		e[5] = 0x8e;
		e[6] = a >> 16;
		e[7] = a >> 24;
	}
	idt_load();
}

void exception_report(uint32_t vector, uint32_t error, uint32_t eip)
{
	serial_puts("NC-GUEST-FAIL exception ");
	serial_putu64(vector);
	serial_puts(" error ");
	serial_puthex(error);
	serial_puts(" eip ");
	serial_puthex(eip);
	serial_puts("\n");
}

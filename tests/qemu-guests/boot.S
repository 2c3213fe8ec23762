/* Multiboot entry of the QEMU test guests: 32-bit protected mode, flat
 * segments of our own, a stack, zeroed bss, an IDT that reports every
 * exception, then guest_main(). */
#include "layout.h"

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long 0
	.long -MB_MAGIC

	.text
	.code32
	.globl _start
_start:
	cli
	lgdt gdt_desc
	ljmp $SEL_CODE, $1f
1:	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %esp
	/* The loader may leave bss as it found it. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	cld
	rep stosb
	call idt_setup
	call guest_main
2:	cli
	hlt
	jmp 2b

/* Exception stubs: push a zero where the CPU pushes no error code, then
 * the vector, so exception_entry sees one frame layout. */
.macro stub vec, has_err
	.globl exc_stub_\vec
exc_stub_\vec:
	.if \has_err == 0
	push $0
	.endif
	push $\vec
	jmp exception_entry
.endm
	stub 0,0;  stub 1,0;  stub 2,0;  stub 3,0;  stub 4,0;  stub 5,0;  stub 6,0;  stub 7,0
	stub 8,1;  stub 9,0;  stub 10,1; stub 11,1; stub 12,1; stub 13,1; stub 14,1; stub 15,0
	stub 16,0; stub 17,1; stub 18,0; stub 19,0; stub 20,0; stub 21,1; stub 22,0; stub 23,0
	stub 24,0; stub 25,0; stub 26,0; stub 27,0; stub 28,0; stub 29,1; stub 30,1; stub 31,0

exception_entry:
	/* exception_report(vector, error, eip): cdecl, arguments on the stack. */
	push 8(%esp)		/* eip */
	push 8(%esp)		/* error code */
	push 8(%esp)		/* vector */
	call exception_report
3:	cli
	hlt
	jmp 3b

	.data
	.balign 8
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* SEL_CODE: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* SEL_DATA: flat data */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.balign 16
	.space 16384
boot_stack_top:

/* The application processor's way in: SIPI starts it in real mode at
 * AP_TRAMPOLINE (smp.c copies ap_tramp there first); it loads the BSP's GDT,
 * enters 32-bit protected mode at ap_entry32 in the image, and calls
 * ap_main() on a stack of its own. */
#include "layout.h"

	.text
	.code16
	.globl ap_tramp, ap_tramp_end
ap_tramp:
	cli
	xor %ax, %ax
	mov %ax, %ds
	/* Real mode, DS 0: the descriptor's address is its linear address. */
	lgdtl AP_TRAMPOLINE + (ap_gdt_desc - ap_tramp)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE, $ap_entry32
	.balign 4
ap_gdt_desc:
	.word GDT_LIMIT
	.long gdt
ap_tramp_end:

	.code32
ap_entry32:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $ap_stack_top, %esp
	call ap_main
1:	cli
	hlt
	jmp 1b

	.bss
	.balign 16
	.space 4096
ap_stack_top:

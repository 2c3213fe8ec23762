/* nested-svm's L2: a 64-bit counter in memory; VMMCALL each time its low
 * L2_EXIT_SHIFT bits wrap, with the low half in EAX for L1 to check. Only
 * EAX and the flags are used: L1's other registers survive VMRUN as L2 left them. */
#include "layout.h"

	.text
	.code32
	.globl l2_entry
l2_entry:
1:	addl $1, l2_count
	adcl $0, l2_count + 4
	movl l2_count, %eax
	testl $((1 << L2_EXIT_SHIFT) - 1), %eax
	jnz 1b
	vmmcall
	jmp 1b

	.bss
	.balign 8
	.globl l2_count
l2_count:
	.quad 0

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest code that C cannot express: exception and interrupt entry, the
 * VMRUN/VMLAUNCH wrappers that switch L2's general registers (hardware
 * switches only RSP/RIP/RAX), and L2's register round trip through L1.
 */

/* offsets in struct l2_gprs (guest.h) */
#define G_RAX	0
#define G_RBX	8
#define G_RCX	16
#define G_RDX	24
#define G_RSI	32
#define G_RDI	40
#define G_RBP	48
#define G_R8	56
#define G_R9	64
#define G_R10	72
#define G_R11	80
#define G_R12	88
#define G_R13	96
#define G_R14	104
#define G_R15	112
#define G_XMM	120

#define VMCS_HOST_RSP	0x6c14
#define VMCS_HOST_RIP	0x6c16

	.text

/* Exceptions: report vector, error code and RIP, then halt (C side). */
.macro EXC vec, has_err
	.align 16
exc_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm

	EXC 0,0;  EXC 1,0;  EXC 2,0;  EXC 3,0;  EXC 4,0;  EXC 5,0;  EXC 6,0;  EXC 7,0
	EXC 8,1;  EXC 9,0;  EXC 10,1; EXC 11,1; EXC 12,1; EXC 13,1; EXC 14,1; EXC 15,0
	EXC 16,0; EXC 17,1; EXC 18,0; EXC 19,0; EXC 20,0; EXC 21,1; EXC 22,0; EXC 23,0
	EXC 24,0; EXC 25,0; EXC 26,0; EXC 27,0; EXC 28,0; EXC 29,1; EXC 30,1; EXC 31,0

exc_common:
	mov 0(%rsp), %rdi
	mov 8(%rsp), %rsi
	mov 16(%rsp), %rdx
	mov 40(%rsp), %rcx	/* interrupted %rsp: tells L1 from L2 */
	and $-16, %rsp
	call guest_exception
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.globl guest_exc_stubs
	.align 8
guest_exc_stubs:
	.irp v,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_\v
	.endr
	.text

/*
 * L2's IRQ_VECTOR handler. It may interrupt the register round trip, so it
 * saves every register the C handler may clobber (C is built without SSE).
 */
	.globl guest_irq_stub
	.align 16
guest_irq_stub:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	call guest_irq
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	iretq

.macro SAVE_CALLEE
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro RESTORE_CALLEE
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
.endm

/* Load/store L2's registers except RSP and RAX from/to struct at \base. */
.macro LOAD_GPRS_NO_RAX base
	mov G_RBX(\base), %rbx
	mov G_RCX(\base), %rcx
	mov G_RDX(\base), %rdx
	mov G_RBP(\base), %rbp
	mov G_R8(\base), %r8
	mov G_R9(\base), %r9
	mov G_R10(\base), %r10
	mov G_R11(\base), %r11
	mov G_R12(\base), %r12
	mov G_R13(\base), %r13
	mov G_R14(\base), %r14
	mov G_R15(\base), %r15
.endm

.macro STORE_GPRS_NO_RAX base
	mov %rbx, G_RBX(\base)
	mov %rcx, G_RCX(\base)
	mov %rdx, G_RDX(\base)
	mov %rbp, G_RBP(\base)
	mov %r8, G_R8(\base)
	mov %r9, G_R9(\base)
	mov %r10, G_R10(\base)
	mov %r11, G_R11(\base)
	mov %r12, G_R12(\base)
	mov %r13, G_R13(\base)
	mov %r14, G_R14(\base)
	mov %r15, G_R15(\base)
.endm

/*
 * void svm_run(u64 vmcb_pa, struct l2_gprs *g)
 * RAX belongs to the VMCB; the others are L2's and switched here.
 */
	.globl svm_run
svm_run:
	SAVE_CALLEE
	push %rsi
	mov %rdi, %rax
	LOAD_GPRS_NO_RAX %rsi
	mov G_RDI(%rsi), %rdi
	mov G_RSI(%rsi), %rsi
	clgi
	vmrun
	xchg %rsi, (%rsp)
	STORE_GPRS_NO_RAX %rsi
	mov %rdi, G_RDI(%rsi)
	pop %rax
	mov %rax, G_RSI(%rsi)
	stgi
	RESTORE_CALLEE
	ret

/*
 * int vmx_run(struct l2_gprs *g, int launched)
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed.
 * HOST_RSP/HOST_RIP are rewritten every time: the stack depth of the
 * caller is not fixed.
 */
	.globl vmx_run
vmx_run:
	SAVE_CALLEE
	push %rdi
	mov $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	lea vmx_exit(%rip), %rbx
	mov $VMCS_HOST_RIP, %rax
	vmwrite %rbx, %rax
	mov G_RAX(%rdi), %rax
	LOAD_GPRS_NO_RAX %rdi
	test %esi, %esi		/* mov leaves the flags alone */
	mov G_RSI(%rdi), %rsi
	mov G_RDI(%rdi), %rdi
	jnz 3f
	vmlaunch
	jmp vmx_fail
3:	vmresume
vmx_fail:
	pop %rdi
	mov $1, %eax
	RESTORE_CALLEE
	ret
vmx_exit:
	xchg %rdi, (%rsp)
	mov %rax, G_RAX(%rdi)
	STORE_GPRS_NO_RAX %rdi
	mov %rsi, G_RSI(%rdi)
	pop %rax
	mov %rax, G_RDI(%rdi)
	xor %eax, %eax
	RESTORE_CALLEE
	ret

/*
 * void l2_regs_vm{m}call(const u64 *in, u64 *out)
 * Load 15 GPRs and 16 XMM registers from in[], hand control to L1 with a
 * hypercall (and take any interrupt L1 injects on the way back), store
 * them all to out[] for the caller to compare.
 */
.macro REGS_ROUNDTRIP name, insn
	.globl \name
\name:
	SAVE_CALLEE
	push %rsi
	.irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu G_XMM+16*\n(%rdi), %xmm\n
	.endr
	mov G_RAX(%rdi), %rax
	LOAD_GPRS_NO_RAX %rdi
	mov G_RSI(%rdi), %rsi
	mov G_RDI(%rdi), %rdi
	\insn
	xchg %rax, (%rsp)
	STORE_GPRS_NO_RAX %rax
	mov %rsi, G_RSI(%rax)
	mov %rdi, G_RDI(%rax)
	.irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\n, G_XMM+16*\n(%rax)
	.endr
	pop %rbx
	mov %rbx, G_RAX(%rax)
	RESTORE_CALLEE
	ret
.endm

	REGS_ROUNDTRIP l2_regs_vmcall, vmcall
	REGS_ROUNDTRIP l2_regs_vmmcall, vmmcall

	.section .note.GNU-stack,"",@progbits

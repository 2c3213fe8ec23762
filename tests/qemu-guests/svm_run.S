/* svm_run(vmcb_pa): one VMRUN. The CPU restores only EAX, ESP and EIP of L1
 * at #VMEXIT; the callee-saved registers are kept here. GIF is 0 after the
 * exit until STGI. */
	.text
	.code32
	.globl svm_run
svm_run:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov 20(%esp), %eax
	vmrun
	stgi
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

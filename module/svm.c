// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM: put L2's state where L1 keeps it.
 *
 * While L2 runs, its state lives in KVM's vmcb02; the vmcb12 in L1's memory
 * is written only at #VMEXIT.  KVM's nested-state blob holds vmcb12's
 * control area but, in its save area, L1's state (the "stitched" form of
 * seeds/003), so L2's state is taken from the vCPU registers read in guest
 * mode.  They are written into the vmcb12 save area at the architectural
 * offsets (AMD APM vol. 2, appendix B), the fields a #VMEXIT would write;
 * the exit code and exit information are left alone, since no exit
 * happened.  L1 cannot look at vmcb12 while its vCPU runs L2.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>

#include "nck.h"

/* VMCB save-area offsets, from the start of the VMCB. */
#define VMCB_ES		0x400
#define VMCB_CS		0x410
#define VMCB_SS		0x420
#define VMCB_DS		0x430
#define VMCB_GDTR	0x460
#define VMCB_IDTR	0x480
#define VMCB_CPL	0x4cb
#define VMCB_EFER	0x4d0
#define VMCB_CR4	0x548
#define VMCB_CR3	0x550
#define VMCB_CR0	0x558
#define VMCB_DR7	0x560
#define VMCB_DR6	0x568
#define VMCB_RFLAGS	0x570
#define VMCB_RIP	0x578
#define VMCB_RSP	0x5d8
#define VMCB_RAX	0x5f8
#define VMCB_CR2	0x640
#define VMCB_SAVE_END	0x648

/* A VMCB segment: selector, 12-bit attributes, limit, base. */
struct nck_vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

static void nck_vmcb_seg(u8 *vmcb, unsigned int off, const struct kvm_segment *s)
{
	struct nck_vmcb_seg seg = {
		.selector = s->selector,
		.attrib = (s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
			  (s->present & 1) << 7 | (s->avl & 1) << 8 |
			  (s->l & 1) << 9 | (s->db & 1) << 10 | (s->g & 1) << 11,
		.limit = s->limit,
		.base = s->base,
	};

	memcpy(vmcb + off, &seg, sizeof(seg));
}

static void nck_vmcb_dt(u8 *vmcb, unsigned int off, const struct kvm_dtable *d)
{
	struct nck_vmcb_seg seg = { .limit = d->limit, .base = d->base };

	memcpy(vmcb + off, &seg, sizeof(seg));
}

#define nck_vmcb_u64(vmcb, off, val) \
	do { u64 __v = (val); memcpy((vmcb) + (off), &__v, 8); } while (0)

int nck_svm_flush_vmcb12(struct nck_vcpu *v)
{
	const struct kvm_sregs2 *s = &v->sregs2;
	u64 gpa = v->nested->hdr.svm.vmcb_pa;
	u8 *save;
	int ret;

	/* Only the save area is written; build it at its VMCB offsets. */
	save = kzalloc(VMCB_SAVE_END, GFP_KERNEL);
	if (!save)
		return -ENOMEM;
	nck_vmcb_seg(save, VMCB_ES, &s->es);
	nck_vmcb_seg(save, VMCB_CS, &s->cs);
	nck_vmcb_seg(save, VMCB_SS, &s->ss);
	nck_vmcb_seg(save, VMCB_DS, &s->ds);
	nck_vmcb_dt(save, VMCB_GDTR, &s->gdt);
	nck_vmcb_dt(save, VMCB_IDTR, &s->idt);
	save[VMCB_CPL] = s->ss.dpl;
	nck_vmcb_u64(save, VMCB_EFER, s->efer);
	nck_vmcb_u64(save, VMCB_CR4, s->cr4);
	nck_vmcb_u64(save, VMCB_CR3, s->cr3);
	nck_vmcb_u64(save, VMCB_CR0, s->cr0);
	nck_vmcb_u64(save, VMCB_DR7, v->dregs.dr7);
	nck_vmcb_u64(save, VMCB_DR6, v->dregs.dr6);
	nck_vmcb_u64(save, VMCB_RFLAGS, v->regs.rflags);
	nck_vmcb_u64(save, VMCB_RIP, v->regs.rip);
	nck_vmcb_u64(save, VMCB_RSP, v->regs.rsp);
	nck_vmcb_u64(save, VMCB_RAX, v->regs.rax);
	nck_vmcb_u64(save, VMCB_CR2, s->cr2);

	/* Write the fields one by one: the bytes between them are L1's. */
#define W(off, len) \
	do { if (!ret) ret = nck_write_guest(v->vm->kvm, gpa + (off), save + (off), (len)); } while (0)
	ret = 0;
	W(VMCB_ES, 0x40);		/* ES, CS, SS, DS */
	W(VMCB_GDTR, 16);
	W(VMCB_IDTR, 16);
	W(VMCB_CPL, 1);
	W(VMCB_EFER, 8);
	W(VMCB_CR4, 0x20);		/* CR4, CR3, CR0, DR7 */
	W(VMCB_DR6, 0x18);		/* DR6, RFLAGS, RIP */
	W(VMCB_RSP, 8);
	W(VMCB_RAX, 8);
	W(VMCB_CR2, 8);
#undef W
	kfree(save);
	return ret;
}

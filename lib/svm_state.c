// SPDX-License-Identifier: GPL-2.0
/*
 * SVM nested state: KVM's stitched blob <-> the clean form of seeds/003.
 *
 * KVM_GET_NESTED_STATE on SVM returns, in guest mode, a 4 KiB VMCB whose
 * control area is L1's vmcb12 controls and whose save area is L1's own state
 * (vmcb01) with CR0/CR3/CR4/EFER replaced by L1's guest-visible values; L2's
 * registers are not in it but in the vCPU (regs, sregs, debugregs, MSRs).
 * The clean form keeps the three parts apart: L1's save area, L1's
 * guest-visible CR0/CR3/CR4/EFER, and the full VMCB12 (control area plus
 * an L2 save area built from the vCPU's registers), so the image reads like
 * the architecture and not like one kernel's bookkeeping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"
#include "nested.h"

#define NESTED_HDR_SIZE		128	/* struct kvm_nested_state without data */
#define FLAG_GUEST_MODE		0x001	/* KVM_STATE_NESTED_GUEST_MODE */
#define FLAG_RUN_PENDING	0x002	/* KVM_STATE_NESTED_RUN_PENDING */
#define FLAG_GIF_SET		0x100	/* KVM_STATE_NESTED_GIF_SET */
#define FORMAT_SVM		1	/* KVM_STATE_NESTED_FORMAT_SVM */

#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_PAT			0x277
#define MSR_DEBUGCTL		0x1d9

/* The L2 MSRs the VMCB save area holds, and where. */
static const struct {
	uint32_t index;
	uint16_t offset;
} vmcb_msrs[] = {
	{ MSR_STAR, VMCB_SAVE_STAR }, { MSR_LSTAR, VMCB_SAVE_LSTAR },
	{ MSR_CSTAR, VMCB_SAVE_CSTAR }, { MSR_SFMASK, VMCB_SAVE_SFMASK },
	{ MSR_KERNEL_GS_BASE, VMCB_SAVE_KERNEL_GS_BASE },
	{ MSR_SYSENTER_CS, VMCB_SAVE_SYSENTER_CS },
	{ MSR_SYSENTER_ESP, VMCB_SAVE_SYSENTER_ESP },
	{ MSR_SYSENTER_EIP, VMCB_SAVE_SYSENTER_EIP },
	{ MSR_PAT, VMCB_SAVE_G_PAT }, { MSR_DEBUGCTL, VMCB_SAVE_DBGCTL },
};

/* kvm_segment <-> VMCB segment (selector, 12-bit attrib, limit, base). */
static void seg_to_vmcb(uint8_t *p, const struct kvm_segment *s)
{
	uint16_t attr = (s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
			(s->present & 1) << 7 | (s->avl & 1) << 8 |
			(s->l & 1) << 9 | (s->db & 1) << 10 | (s->g & 1) << 11;

	nc_le_put(p, 2, s->selector);
	nc_le_put(p + 2, 2, attr);
	nc_le_put(p + 4, 4, s->limit);
	nc_le_put(p + 8, 8, s->base);
}

static void seg_from_vmcb(const uint8_t *p, struct kvm_segment *s)
{
	uint16_t attr = (uint16_t)nc_le_get(p + 2, 2);

	memset(s, 0, sizeof(*s));
	s->selector = (uint16_t)nc_le_get(p, 2);
	s->limit = (uint32_t)nc_le_get(p + 4, 4);
	s->base = nc_le_get(p + 8, 8);
	s->type = attr & 0xf;
	s->s = attr >> 4 & 1;
	s->dpl = attr >> 5 & 3;
	s->present = attr >> 7 & 1;
	s->avl = attr >> 8 & 1;
	s->l = attr >> 9 & 1;
	s->db = attr >> 10 & 1;
	s->g = attr >> 11 & 1;
	s->unusable = !s->present;	/* as KVM's svm_get_segment reports it */
}

static void dt_to_vmcb(uint8_t *p, const struct kvm_dtable *d)
{
	nc_le_put(p + 4, 4, d->limit);
	nc_le_put(p + 8, 8, d->base);
}

static void dt_from_vmcb(const uint8_t *p, struct kvm_dtable *d)
{
	memset(d, 0, sizeof(*d));
	d->limit = (uint16_t)nc_le_get(p + 4, 4);
	d->base = nc_le_get(p + 8, 8);
}

static struct kvm_msr_entry *find_msr(const struct nc_vcpu_state *v, uint32_t index)
{
	uint32_t i;

	for (i = 0; v->msrs && i < v->msrs->nmsrs; i++)
		if (v->msrs->entries[i].index == index)
			return &v->msrs->entries[i];
	return NULL;
}

/* L2's save area from the vCPU's registers (the vCPU is in L2). */
static void l2_save_from_vcpu(uint8_t *save, const struct nc_vcpu_state *v)
{
	const struct kvm_sregs *s = &v->sregs;
	size_t i;

	seg_to_vmcb(save + VMCB_SAVE_ES, &s->es);
	seg_to_vmcb(save + VMCB_SAVE_CS, &s->cs);
	seg_to_vmcb(save + VMCB_SAVE_SS, &s->ss);
	seg_to_vmcb(save + VMCB_SAVE_DS, &s->ds);
	seg_to_vmcb(save + VMCB_SAVE_FS, &s->fs);
	seg_to_vmcb(save + VMCB_SAVE_GS, &s->gs);
	seg_to_vmcb(save + VMCB_SAVE_LDTR, &s->ldt);
	seg_to_vmcb(save + VMCB_SAVE_TR, &s->tr);
	dt_to_vmcb(save + VMCB_SAVE_GDTR, &s->gdt);
	dt_to_vmcb(save + VMCB_SAVE_IDTR, &s->idt);
	save[VMCB_SAVE_CPL] = s->ss.dpl;
	nc_le_put(save + VMCB_SAVE_EFER, 8, s->efer);
	nc_le_put(save + VMCB_SAVE_CR0, 8, s->cr0);
	nc_le_put(save + VMCB_SAVE_CR2, 8, s->cr2);
	nc_le_put(save + VMCB_SAVE_CR3, 8, s->cr3);
	nc_le_put(save + VMCB_SAVE_CR4, 8, s->cr4);
	nc_le_put(save + VMCB_SAVE_RAX, 8, v->regs.rax);
	nc_le_put(save + VMCB_SAVE_RSP, 8, v->regs.rsp);
	nc_le_put(save + VMCB_SAVE_RIP, 8, v->regs.rip);
	nc_le_put(save + VMCB_SAVE_RFLAGS, 8, v->regs.rflags);
	if (v->have & NC_VCPU_DEBUGREGS) {
		nc_le_put(save + VMCB_SAVE_DR6, 8, v->debugregs.dr6);
		nc_le_put(save + VMCB_SAVE_DR7, 8, v->debugregs.dr7);
	}
	for (i = 0; i < sizeof(vmcb_msrs) / sizeof(vmcb_msrs[0]); i++) {
		const struct kvm_msr_entry *m = find_msr(v, vmcb_msrs[i].index);

		if (m)
			nc_le_put(save + vmcb_msrs[i].offset, 8, m->data);
	}
}

void nc_svm_l2_to_vcpu(const struct nc_svm_clean *c, struct nc_vcpu_state *v)
{
	const uint8_t *save = c->vmcb12_save;
	struct kvm_sregs *s = &v->sregs;
	size_t i;

	seg_from_vmcb(save + VMCB_SAVE_ES, &s->es);
	seg_from_vmcb(save + VMCB_SAVE_CS, &s->cs);
	seg_from_vmcb(save + VMCB_SAVE_SS, &s->ss);
	seg_from_vmcb(save + VMCB_SAVE_DS, &s->ds);
	seg_from_vmcb(save + VMCB_SAVE_FS, &s->fs);
	seg_from_vmcb(save + VMCB_SAVE_GS, &s->gs);
	seg_from_vmcb(save + VMCB_SAVE_LDTR, &s->ldt);
	seg_from_vmcb(save + VMCB_SAVE_TR, &s->tr);
	dt_from_vmcb(save + VMCB_SAVE_GDTR, &s->gdt);
	dt_from_vmcb(save + VMCB_SAVE_IDTR, &s->idt);
	s->efer = nc_le_get(save + VMCB_SAVE_EFER, 8);
	s->cr0 = nc_le_get(save + VMCB_SAVE_CR0, 8);
	s->cr2 = nc_le_get(save + VMCB_SAVE_CR2, 8);
	s->cr3 = nc_le_get(save + VMCB_SAVE_CR3, 8);
	s->cr4 = nc_le_get(save + VMCB_SAVE_CR4, 8);
	v->regs.rax = nc_le_get(save + VMCB_SAVE_RAX, 8);
	v->regs.rsp = nc_le_get(save + VMCB_SAVE_RSP, 8);
	v->regs.rip = nc_le_get(save + VMCB_SAVE_RIP, 8);
	v->regs.rflags = nc_le_get(save + VMCB_SAVE_RFLAGS, 8);
	v->debugregs.dr6 = nc_le_get(save + VMCB_SAVE_DR6, 8);
	v->debugregs.dr7 = nc_le_get(save + VMCB_SAVE_DR7, 8);
	for (i = 0; i < sizeof(vmcb_msrs) / sizeof(vmcb_msrs[0]); i++) {
		struct kvm_msr_entry *m = find_msr(v, vmcb_msrs[i].index);

		if (m)
			m->data = nc_le_get(save + vmcb_msrs[i].offset, 8);
	}
}

int nc_svm_clean_from_kvm(const struct kvm_nested_state *ns,
			  const struct nc_vcpu_state *v, struct nc_svm_clean *c,
			  struct nc_why *why)
{
	const uint8_t *vmcb = (const uint8_t *)ns + NESTED_HDR_SIZE;

	memset(c, 0, sizeof(*c));
	if (ns->format != FORMAT_SVM)
		return nc_why_set(why, "nested state format %u is not SVM's",
				  ns->format);
	if (ns->size < NESTED_HDR_SIZE)
		return nc_why_set(why, "SVM nested state of %u bytes is shorter "
				  "than its %d-byte header", ns->size,
				  NESTED_HDR_SIZE);
	if (ns->flags & ~(FLAG_GUEST_MODE | FLAG_RUN_PENDING | FLAG_GIF_SET))
		return nc_why_set(why, "SVM nested state flags 0x%x carry bits "
				  "this library does not know", ns->flags);
	c->gif = ns->flags & FLAG_GIF_SET;
	c->guest_mode = ns->flags & FLAG_GUEST_MODE;
	c->run_pending = ns->flags & FLAG_RUN_PENDING;
	if (!c->guest_mode)
		return 0;
	if (ns->size < NESTED_HDR_SIZE + 4096)
		return nc_why_set(why, "SVM nested state in guest mode is %u "
				  "bytes, needs %d", ns->size, NESTED_HDR_SIZE + 4096);
	if ((v->have & (NC_VCPU_REGS | NC_VCPU_SREGS)) !=
	    (NC_VCPU_REGS | NC_VCPU_SREGS))
		return nc_why_set(why, "SVM guest mode: L2's registers (regs, "
				  "sregs) are needed to build the VMCB12 save area");
	c->vmcb12_pa = ns->hdr.svm.vmcb_pa;
	memcpy(c->vmcb12_control, vmcb, NC_VMCB_CONTROL_SIZE);
	memcpy(c->l1_save, vmcb + NC_VMCB_CONTROL_SIZE, NC_VMCB_SAVE_SIZE);
	c->l1_cr0 = nc_le_get(c->l1_save + VMCB_SAVE_CR0, 8);
	c->l1_cr3 = nc_le_get(c->l1_save + VMCB_SAVE_CR3, 8);
	c->l1_cr4 = nc_le_get(c->l1_save + VMCB_SAVE_CR4, 8);
	c->l1_efer = nc_le_get(c->l1_save + VMCB_SAVE_EFER, 8);
	l2_save_from_vcpu(c->vmcb12_save, v);
	return 0;
}

int nc_svm_clean_to_kvm(const struct nc_svm_clean *c,
			struct kvm_nested_state **out, struct nc_why *why)
{
	size_t size = NESTED_HDR_SIZE + (c->guest_mode ? 4096 : 0);
	struct kvm_nested_state *ns = calloc(1, size);
	uint8_t *vmcb, *save;

	*out = NULL;
	if (!ns)
		return -ENOMEM;
	if (c->run_pending && !c->guest_mode) {
		free(ns);
		return nc_why_set(why, "SVM nested record: run pending outside "
				  "guest mode");
	}
	ns->format = FORMAT_SVM;
	ns->size = size;
	ns->flags = (c->guest_mode ? FLAG_GUEST_MODE : 0) |
		    (c->run_pending ? FLAG_RUN_PENDING : 0) |
		    (c->gif ? FLAG_GIF_SET : 0);
	if (c->guest_mode) {
		ns->hdr.svm.vmcb_pa = c->vmcb12_pa;
		vmcb = (uint8_t *)ns + NESTED_HDR_SIZE;
		save = vmcb + NC_VMCB_CONTROL_SIZE;
		memcpy(vmcb, c->vmcb12_control, NC_VMCB_CONTROL_SIZE);
		memcpy(save, c->l1_save, NC_VMCB_SAVE_SIZE);
		/* KVM's stitched form carries L1's guest-visible values here. */
		nc_le_put(save + VMCB_SAVE_CR0, 8, c->l1_cr0);
		nc_le_put(save + VMCB_SAVE_CR3, 8, c->l1_cr3);
		nc_le_put(save + VMCB_SAVE_CR4, 8, c->l1_cr4);
		nc_le_put(save + VMCB_SAVE_EFER, 8, c->l1_efer);
	}
	*out = ns;
	return 0;
}

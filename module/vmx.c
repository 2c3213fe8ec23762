// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX: put L2's state where L1 keeps it.
 *
 * While L2 runs, KVM holds the current vmcs12 in a private cache and only
 * writes it to L1's memory at VMCLEAR/VMPTRLD.  KVM_GET_NESTED_STATE hands
 * out that cache, synced from vmcs02, in KVM's vmcs12 layout, which is also
 * the layout of the VMCS region in guest memory (L1 must not read a current
 * VMCS region directly, so writing it is invisible to L1).  The layout is
 * fixed by KVM's migration ABI and tagged by its revision; an unknown
 * revision is refused rather than written.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>

#include "nck.h"

/* KVM's vmcs12 layout (arch/x86/kvm/vmx/vmcs12.h, frozen by its ABI). */
#define NCK_VMCS12_REVISION		0x11e57ed0
#define NCK_VMCS12_LINK_POINTER_OFFSET	176

static u32 nck_vmcs12_revision(const u8 *vmcs12)
{
	return *(const u32 *)vmcs12 & 0x7fffffff;
}

int nck_vmx_flush_vmcs12(struct nck_vcpu *v)
{
	const struct kvm_nested_state *ns = v->nested;
	const u8 *vmcs12 = ns->data.vmx[0].vmcs12;
	const u8 *shadow = ns->data.vmx[0].shadow_vmcs12;
	size_t need = sizeof(*ns) + KVM_STATE_NESTED_VMX_VMCS_SIZE;
	u64 link;
	int ret;

	if (ns->hdr.vmx.vmcs12_pa == -1ull || v->nested_size < need)
		return 0;	/* no current VMCS: nothing to flush */
	if (nck_vmcs12_revision(vmcs12) != NCK_VMCS12_REVISION) {
		pr_warn("vCPU %u: unknown vmcs12 revision %#x, not flushed\n",
			v->vcpu->vcpu_id, nck_vmcs12_revision(vmcs12));
		return -EPROTO;
	}
	ret = nck_write_guest(v->vm->kvm, ns->hdr.vmx.vmcs12_pa, vmcs12,
			      KVM_STATE_NESTED_VMX_VMCS_SIZE);
	if (ret)
		return ret;

	/* A shadow VMCS comes second in the blob when L1 linked one. */
	link = *(const u64 *)(vmcs12 + NCK_VMCS12_LINK_POINTER_OFFSET);
	if (link == -1ull || v->nested_size < need + KVM_STATE_NESTED_VMX_VMCS_SIZE)
		return 0;
	return nck_write_guest(v->vm->kvm, link, shadow,
			       KVM_STATE_NESTED_VMX_VMCS_SIZE);
}

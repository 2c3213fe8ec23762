// SPDX-License-Identifier: GPL-2.0
/*
 * Taking a vCPU out of L2 and back, with nothing L1 can see.
 *
 * Leave (at freeze), in the VMM's mm (exec.c), for all vCPUs in parallel:
 *  1. KVM_GET_NESTED_STATE.  Not in guest mode: only the record is kept.
 *  2. Read the L2 state the exit to L1 may change: registers, sregs2,
 *     events, debug registers, MP state and the caller's list of MSRs.
 *  3. KVM_SET_NESTED_STATE with the same blob minus GUEST_MODE and
 *     RUN_PENDING: KVM leaves guest mode (VMX: a VM exit with reason -1,
 *     which loads L1's host state; SVM: back to vmcb01) and keeps VMXON,
 *     the current VMCS and GIF.  The vCPU thread is parked, so L1 does not
 *     either: it never sees this exit.
 *  4. Read the MSRs, debug registers and MP state again: the ones that
 *     differ are what the exit changed and what re-entry puts back.
 *  5. Write the L2 state into the vmcs12 / vmcb12 in guest memory (vmx.c,
 *     svm.c), where a checkpoint of guest memory finds it.
 *
 * While out of L2, the vCPU's state as KVM holds it is L1's; requests for
 * what the exit changed are answered from the record instead (the L2 view
 * the VMM itself would read), and writes to it are refused.
 *
 * Enter (at thaw) replays the L2 state in the order KVM expects on restore:
 * (SVM: sregs2 first, so that KVM takes the L2 control registers from
 * them), KVM_SET_NESTED_STATE with the original blob, sregs2, registers,
 * the changed MSRs, debug registers and MP state, and the events the exit
 * dropped (an event being injected into L2).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>

#include "nck.h"

#define NCK_NESTED_MAX	(KVM_STATE_NESTED_VMX_VMCS_SIZE * 2 + \
			 sizeof(struct kvm_nested_state))

/*
 * Write @len bytes at guest-physical @gpa of @kvm through the VMM's
 * mapping of guest memory.  Runs on a thread of the VMM.
 */
int nck_write_guest(struct kvm *kvm, u64 gpa, const void *data, size_t len)
{
	int idx, ret = 0;

	idx = srcu_read_lock(&kvm->srcu);
	while (len) {
		struct kvm_memory_slot *slot;
		size_t off = offset_in_page(gpa);
		size_t chunk = min_t(size_t, len, PAGE_SIZE - off);
		unsigned long hva;

		slot = __gfn_to_memslot(kvm_memslots(kvm), gpa >> PAGE_SHIFT);
		if (!slot || (slot->flags & KVM_MEM_READONLY)) {
			ret = -EFAULT;
			break;
		}
		hva = __gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT) + off;
		/* Bounded: the VMM may hold the page with a userfaultfd. */
		ret = nck_copy_to_vmm(hva, data, chunk);
		if (ret)
			break;
		gpa += chunk;
		data += chunk;
		len -= chunk;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

static long nck_vcpu_call(struct nck_exec *ex, struct nck_vcpu *v,
			  unsigned int cmd, void *buf, size_t len)
{
	return nck_kvm_call(ex, v->file, cmd, buf, len);
}

/* MSRs that move on their own: a stale value must never be written back. */
static bool nck_msr_ticks(u32 index)
{
	return index == MSR_IA32_TSC ||
	       (index >= MSR_IA32_PERFCTR0 && index < MSR_IA32_PERFCTR0 + 8) ||
	       (index >= MSR_CORE_PERF_FIXED_CTR0 && index < MSR_CORE_PERF_FIXED_CTR0 + 4) ||
	       (index >= MSR_K7_PERFCTR0 && index <= MSR_K7_PERFCTR3) ||
	       (index >= MSR_F15H_PERF_CTL && index < MSR_F15H_PERF_CTL + 12);
}

static struct kvm_msrs *nck_alloc_msrs(struct nck_freeze *fz)
{
	struct kvm_msrs *msrs;
	u32 i;

	msrs = kvzalloc(struct_size(msrs, entries, fz->nr_msrs), GFP_KERNEL);
	if (!msrs)
		return NULL;
	msrs->nmsrs = fz->nr_msrs;
	for (i = 0; i < fz->nr_msrs; i++)
		msrs->entries[i].index = fz->msr_indices[i];
	return msrs;
}

/* KVM takes fewer than MAX_IO_MSRS (256) MSRs per KVM_GET/SET_MSRS. */
#define NCK_MSRS_PER_CALL	255

/*
 * KVM_GET_MSRS or KVM_SET_MSRS of all of @msrs, in calls KVM accepts.
 * KVM stops at the first MSR it cannot access; so does this.  Returns how
 * many were done, or a negative error.
 */
static long nck_msrs_io(struct nck_exec *ex, struct nck_vcpu *v,
			unsigned int cmd, struct kvm_msrs *msrs)
{
	struct kvm_msrs *part;
	u32 done = 0;
	long n = 0;

	part = kmalloc(struct_size(part, entries, NCK_MSRS_PER_CALL), GFP_KERNEL);
	if (!part)
		return -ENOMEM;
	while (done < msrs->nmsrs) {
		u32 cnt = min_t(u32, msrs->nmsrs - done, NCK_MSRS_PER_CALL);

		part->nmsrs = cnt;
		part->pad = 0;
		memcpy(part->entries, &msrs->entries[done], cnt * sizeof(part->entries[0]));
		/* Never more than cnt: trust.c clamps KVM's count. */
		n = nck_vcpu_call(ex, v, cmd, part, struct_size(part, entries, cnt));
		if (n < 0)
			break;
		memcpy(&msrs->entries[done], part->entries, n * sizeof(part->entries[0]));
		done += n;
		if (n < cnt)
			break;
	}
	kfree(part);
	return n < 0 ? n : done;
}

static long nck_get_msrs(struct nck_exec *ex, struct nck_vcpu *v,
			 struct kvm_msrs *msrs)
{
	/* Keep what KVM could read. */
	long n = nck_msrs_io(ex, v, KVM_GET_MSRS, msrs);

	if (n >= 0)
		msrs->nmsrs = n;
	return n < 0 ? n : 0;
}

static int nck_vendor_flush(struct nck_vcpu *v)
{
	if (v->nested->format == KVM_STATE_NESTED_FORMAT_VMX)
		return nck_vmx_flush_vmcs12(v);
	return nck_svm_flush_vmcb12(v);
}

long nck_op_nested_leave(struct nck_exec *ex, struct nck_op *op)
{
	struct nck_vcpu *v = op->vcpu;
	struct nck_freeze *fz = ex->fz;
	struct kvm_nested_state *out = NULL;
	struct kvm_msrs *l1_msrs = NULL;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	long ret;
	u32 i;

	if (!v->nested) {
		v->nested = kvzalloc(NCK_NESTED_MAX, GFP_KERNEL);
		if (!v->nested)
			return -ENOMEM;
	}
	v->nested_read = false;
	v->nested->size = NCK_NESTED_MAX;
	ret = nck_vcpu_call(ex, v, KVM_GET_NESTED_STATE, v->nested,
			    NCK_NESTED_MAX);
	if (ret < 0)
		return ret;
	/* trust.c bounded the size by NCK_NESTED_MAX; the format is ours to check. */
	if (v->nested->format != KVM_STATE_NESTED_FORMAT_VMX &&
	    v->nested->format != KVM_STATE_NESTED_FORMAT_SVM)
		return -EPROTO;
	v->nested_size = v->nested->size;
	v->nested_read = true;
	if (v->nested->format == KVM_STATE_NESTED_FORMAT_VMX)
		v->nested_on = v->nested->hdr.vmx.vmxon_pa != -1ull;
	else
		v->nested_on = v->nested->hdr.svm.vmcb_pa != -1ull &&
			       v->nested->hdr.svm.vmcb_pa != 0;

	ret = nck_vcpu_call(ex, v, KVM_GET_SREGS2, &v->sregs2, sizeof(v->sregs2));
	if (ret < 0)
		return ret;
	if (v->nested->format == KVM_STATE_NESTED_FORMAT_SVM)
		v->nested_on = !!(v->sregs2.efer & EFER_SVME);
	if (!(v->nested->flags & KVM_STATE_NESTED_GUEST_MODE))
		return 0;

	ret = nck_vcpu_call(ex, v, KVM_GET_REGS, &v->regs, sizeof(v->regs));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_SREGS, &v->sregs, sizeof(v->sregs));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_VCPU_EVENTS, &v->events,
				    sizeof(v->events));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_DEBUGREGS, &v->dregs,
				    sizeof(v->dregs));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_MP_STATE, &v->mp_state,
				    sizeof(v->mp_state));
	if (ret)
		return ret;

	kvfree(v->msrs);
	kvfree(v->msr_changed);
	v->msr_changed = NULL;
	v->nr_msr_changed = 0;
	v->msrs = nck_alloc_msrs(fz);
	l1_msrs = nck_alloc_msrs(fz);
	v->msr_changed = kvcalloc(max_t(u32, fz->nr_msrs, 1), sizeof(u32), GFP_KERNEL);
	out = kvmalloc(v->nested_size, GFP_KERNEL);
	ret = -ENOMEM;
	if (!v->msrs || !l1_msrs || !v->msr_changed || !out)
		goto out;
	ret = nck_get_msrs(ex, v, v->msrs);
	if (ret)
		goto out;

	/* The exit: same record, not in guest mode. */
	memcpy(out, v->nested, v->nested_size);
	out->flags &= ~(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING |
			KVM_STATE_NESTED_MTF_PENDING);
	ret = nck_vcpu_call(ex, v, KVM_SET_NESTED_STATE, out, v->nested_size);
	if (ret)
		goto out;
	v->in_l2 = true;

	/* What did the exit change? */
	l1_msrs->nmsrs = v->msrs->nmsrs;
	ret = nck_get_msrs(ex, v, l1_msrs);
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_DEBUGREGS, &dregs, sizeof(dregs));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_GET_MP_STATE, &mp, sizeof(mp));
	if (ret)
		goto out;
	for (i = 0; i < min(l1_msrs->nmsrs, v->msrs->nmsrs); i++)
		if (l1_msrs->entries[i].data != v->msrs->entries[i].data &&
		    !nck_msr_ticks(v->msrs->entries[i].index))
			v->msr_changed[v->nr_msr_changed++] = i;
	v->dregs_changed = memcmp(&dregs, &v->dregs, sizeof(dregs)) != 0;
	v->mp_changed = mp.mp_state != v->mp_state.mp_state;

	ret = nck_vendor_flush(v);
out:
	kvfree(out);
	kvfree(l1_msrs);
	return ret;
}

long nck_op_nested_enter(struct nck_exec *ex, struct nck_op *op)
{
	struct nck_vcpu *v = op->vcpu;
	struct kvm_msrs *set = NULL;
	long ret;
	u32 i;

	if (!v->in_l2)
		return 0;
	if (v->nested->format == KVM_STATE_NESTED_FORMAT_SVM) {
		ret = nck_vcpu_call(ex, v, KVM_SET_SREGS2, &v->sregs2,
				    sizeof(v->sregs2));
		if (ret)
			return ret;
	}
	ret = nck_vcpu_call(ex, v, KVM_SET_NESTED_STATE, v->nested,
			    v->nested_size);
	if (ret)
		return ret;
	v->in_l2 = false;

	ret = nck_vcpu_call(ex, v, KVM_SET_SREGS2, &v->sregs2, sizeof(v->sregs2));
	if (!ret)
		ret = nck_vcpu_call(ex, v, KVM_SET_REGS, &v->regs, sizeof(v->regs));
	if (ret)
		return ret;

	if (v->nr_msr_changed) {
		set = kvzalloc(struct_size(set, entries, v->nr_msr_changed),
			       GFP_KERNEL);
		if (!set)
			return -ENOMEM;
		set->nmsrs = v->nr_msr_changed;
		for (i = 0; i < v->nr_msr_changed; i++)
			set->entries[i] = v->msrs->entries[v->msr_changed[i]];
		ret = nck_msrs_io(ex, v, KVM_SET_MSRS, set);
		kvfree(set);
		if (ret < 0)
			return ret;
		if (ret != v->nr_msr_changed)
			return -EIO;
	}
	if (v->dregs_changed) {
		ret = nck_vcpu_call(ex, v, KVM_SET_DEBUGREGS, &v->dregs,
				    sizeof(v->dregs));
		if (ret)
			return ret;
	}
	if (v->mp_changed) {
		ret = nck_vcpu_call(ex, v, KVM_SET_MP_STATE, &v->mp_state,
				    sizeof(v->mp_state));
		if (ret)
			return ret;
	}
	/* Only what was being injected: a pending NMI/SMI that came meanwhile stays. */
	v->events.flags &= ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			     KVM_VCPUEVENT_VALID_SIPI_VECTOR);
	return nck_vcpu_call(ex, v, KVM_SET_VCPU_EVENTS, &v->events,
			     sizeof(v->events));
}

/* Copy @src (@n bytes) to the caller's buffer if it is exactly that size. */
static long nck_view_copy(void *kbuf, size_t len, const void *src, size_t n)
{
	if (len != n)
		return -EINVAL;
	memcpy(kbuf, src, n);
	return 0;
}

/*
 * Answer @cmd for a vCPU that is out of L2 from its record.  Sets *@handled
 * when the request is about state the record holds; otherwise the request
 * goes to KVM (and for KVM_GET_MSRS, nck_view_patch_msrs() fixes the reply).
 */
long nck_view_l2(struct nck_vcpu *v, unsigned int cmd, void *kbuf, size_t len,
		 bool *handled)
{
	*handled = true;
	switch (cmd) {
	case KVM_GET_REGS:
		return nck_view_copy(kbuf, len, &v->regs, sizeof(v->regs));
	case KVM_GET_SREGS:
		return nck_view_copy(kbuf, len, &v->sregs, sizeof(v->sregs));
	case KVM_GET_SREGS2:
		return nck_view_copy(kbuf, len, &v->sregs2, sizeof(v->sregs2));
	case KVM_GET_VCPU_EVENTS:
		return nck_view_copy(kbuf, len, &v->events, sizeof(v->events));
	case KVM_GET_DEBUGREGS:
		return nck_view_copy(kbuf, len, &v->dregs, sizeof(v->dregs));
	case KVM_GET_MP_STATE:
		return nck_view_copy(kbuf, len, &v->mp_state, sizeof(v->mp_state));
	case KVM_GET_NESTED_STATE: {
		struct kvm_nested_state *out = kbuf;

		/*
		 * As KVM does: report the size needed if the buffer is short.
		 * @len is the size the caller's header said, read once.
		 */
		if (len < v->nested_size) {
			out->size = v->nested_size;
			return -E2BIG;
		}
		memcpy(kbuf, v->nested, v->nested_size);
		return 0;
	}
	case KVM_SET_REGS:
	case KVM_SET_SREGS:
	case KVM_SET_SREGS2:
	case KVM_SET_VCPU_EVENTS:
	case KVM_SET_DEBUGREGS:
	case KVM_SET_MP_STATE:
	case KVM_SET_NESTED_STATE:
	case KVM_SET_MSRS:
		/* KVM holds L1's state now; L2's lives in the record until thaw. */
		return -EBUSY;
	}
	*handled = false;
	return 0;
}

/* After a real KVM_GET_MSRS on a vCPU out of L2: put back L2's values. */
void nck_view_patch_msrs(struct nck_vcpu *v, struct kvm_msrs *msrs, long nread)
{
	long i;
	u32 j;

	for (i = 0; i < nread && i < msrs->nmsrs; i++)
		for (j = 0; j < v->nr_msr_changed; j++)
			if (v->msrs->entries[v->msr_changed[j]].index == msrs->entries[i].index)
				msrs->entries[i].data = v->msrs->entries[v->msr_changed[j]].data;
}

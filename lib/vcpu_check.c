// SPDX-License-Identifier: GPL-2.0
/*
 * What KVM_SET_NESTED_STATE refuses, checked on the recorded state before
 * anything depends on it: a dump that would write an image no restore can
 * use fails instead (and criu leaves the VMM running), and a restore refuses
 * such an image before any process exists.  The rules are KVM's own
 * (x86.c and the vendors' set_nested_state); a vCPU state breaking one is
 * not one real hardware or KVM produces, only a corrupted one (seen from
 * multi-threaded TCG's nested SVM, which saved L0's registers and GIF=0 as a
 * plain L1's state).
 */
#include <errno.h>
#include <stdio.h>

#include "libnestckpt.h"

#define NC_EFER_SVME	(1ull << 12)

static int nested_refusal(const struct nc_vcpu_state *v, char *why, size_t len)
{
	const struct kvm_nested_state *ns = v->nested;
	uint32_t f = ns->flags;

	if ((f & KVM_STATE_NESTED_RUN_PENDING) && !(f & KVM_STATE_NESTED_GUEST_MODE))
		return snprintf(why, len, "a pending VM entry outside guest mode");
	if (ns->format == KVM_STATE_NESTED_FORMAT_SVM) {
		/* Leaving SVM (EFER.SVME=0) sets GIF and ends guest mode. */
		if ((v->have & NC_VCPU_SREGS) && !(v->sregs.efer & NC_EFER_SVME) &&
		    f != KVM_STATE_NESTED_GIF_SET)
			return snprintf(why, len, "EFER.SVME clear (EFER %#llx) with %s",
					(unsigned long long)v->sregs.efer,
					!(f & KVM_STATE_NESTED_GIF_SET) ? "GIF clear" :
					"guest mode");
	} else if (ns->format == KVM_STATE_NESTED_FORMAT_VMX) {
		/* Outside VMX operation there is no current VMCS and no L2. */
		if (ns->hdr.vmx.vmxon_pa == ~0ull &&
		    (ns->hdr.vmx.vmcs12_pa != ~0ull || (f & ~KVM_STATE_NESTED_EVMCS)))
			return snprintf(why, len, "a VMCS or guest mode without VMXON");
	}
	return 0;
}

int nc_image_check_vcpus(const struct nc_image *img, struct nc_err *err)
{
	uint32_t i, j;
	char why[160];

	for (i = 0; i < img->n_vms; i++)
		for (j = 0; j < img->vms[i].n_vcpus; j++) {
			const struct nc_vcpu_state *v = &img->vms[i].vcpus[j];

			if (v->nested && nested_refusal(v, why, sizeof(why)))
				return nc_errf(err, -EINVAL, "vm%u/vcpu%u: inconsistent "
					       "state, which KVM refuses to restore: %s",
					       i, v->id, why);
		}
	/* KVM_X86_SETUP_MCE at restore takes only what the host supports. */
	return nc_mce_check(img, err);
}

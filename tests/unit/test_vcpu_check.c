// SPDX-License-Identifier: GPL-2.0
/*
 * nc_image_check_vcpus: the vCPU states KVM captured (tests/fixtures) pass;
 * each rule of KVM_SET_NESTED_STATE broken on one vCPU of them is refused,
 * naming the vCPU and the rule, and undoing the break makes it pass again.
 */
#include "image_fixtures.h"
#include "tap.h"

#define EFER_SVME (1ull << 12)

static struct nc_err err;

static int check(const struct nc_image *img)
{
	memset(&err, 0, sizeof(err));
	return nc_image_check_vcpus(img, &err);
}

static void svm_rules(void)
{
	struct nc_image img;
	struct nc_vcpu_state *v;
	struct kvm_nested_state *ns;
	uint64_t efer;
	uint32_t flags;

	fixture_load(FIXTURE_SVM, &img);
	is_int(check(&img), 0, "svm fixture: KVM's own state passes");
	v = &img.vms[0].vcpus[img.vms[0].n_vcpus - 1];
	ns = v->nested;
	if (!ok(ns && ns->format == KVM_STATE_NESTED_FORMAT_SVM, "svm fixture: nested state")) {
		nc_image_free(&img);
		return;
	}
	efer = v->sregs.efer;
	flags = ns->flags;

	/* What multi-threaded TCG once saved: a plain L1 with GIF clear. */
	v->sregs.efer = efer & ~EFER_SVME;
	ns->flags = 0;
	is_int(check(&img), -EINVAL, "svm: EFER.SVME=0 with GIF clear refused");
	has_str(err.msg, "vm0/vcpu", "svm: the error names the vCPU");
	has_str(err.msg, "GIF clear", "svm: the error names the rule");

	ns->flags = KVM_STATE_NESTED_GIF_SET | KVM_STATE_NESTED_GUEST_MODE;
	is_int(check(&img), -EINVAL, "svm: EFER.SVME=0 in guest mode refused");
	has_str(err.msg, "guest mode", "svm: guest-mode rule named");

	ns->flags = KVM_STATE_NESTED_GIF_SET;
	is_int(check(&img), 0, "svm: EFER.SVME=0 with GIF set passes");

	/* L1 between CLGI and STGI: GIF clear is fine with SVME set. */
	v->sregs.efer = efer | EFER_SVME;
	ns->flags = 0;
	is_int(check(&img), 0, "svm: GIF clear with EFER.SVME=1 passes");

	ns->flags = KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET;
	is_int(check(&img), -EINVAL, "svm: run pending outside guest mode refused");
	has_str(err.msg, "pending VM entry", "svm: run-pending rule named");

	v->sregs.efer = efer;
	ns->flags = flags;
	is_int(check(&img), 0, "svm: restored fixture passes again");
	nc_image_free(&img);
}

static void vmx_rules(void)
{
	struct nc_image img;
	struct kvm_nested_state *ns;
	struct kvm_nested_state saved;

	fixture_load(FIXTURE_VMX, &img);
	is_int(check(&img), 0, "vmx fixture: KVM's own state passes");
	ns = img.vms[0].vcpus[0].nested;
	if (!ok(ns && ns->format == KVM_STATE_NESTED_FORMAT_VMX, "vmx fixture: nested state")) {
		nc_image_free(&img);
		return;
	}
	saved = *ns;
	ns->hdr.vmx.vmxon_pa = ~0ull;
	ns->hdr.vmx.vmcs12_pa = 0x10000;
	ns->flags = 0;
	is_int(check(&img), -EINVAL, "vmx: a current VMCS without VMXON refused");
	has_str(err.msg, "without VMXON", "vmx: the rule named");

	ns->hdr.vmx.vmcs12_pa = ~0ull;
	ns->flags = KVM_STATE_NESTED_GUEST_MODE;
	is_int(check(&img), -EINVAL, "vmx: guest mode without VMXON refused");

	ns->flags = 0;
	is_int(check(&img), 0, "vmx: outside VMX operation with nothing else passes");

	*ns = saved;
	is_int(check(&img), 0, "vmx: restored fixture passes again");
	nc_image_free(&img);
}

int main(void)
{
	svm_rules();
	vmx_rules();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * SVM: KVM's stitched nested state <-> the clean form (seeds/003).
 * On the blob KVM returned under QEMU (tests/fixtures/svm), then as a
 * property over random states: stitched -> clean -> stitched is the identity
 * on the whole blob, and the L2 registers rebuilt from the VMCB12 save area
 * are the vCPU's, for every field KVM uses; also through the image codec.
 */
#include "image_fixtures.h"
#include "tap.h"

#define ITERATIONS	2000
#define IMAGE_ITERATIONS 200
#define BLOB_SIZE	(128 + 4096)

static const uint32_t vmcb_msrs[] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102,
	0x174, 0x175, 0x176, 0x277, 0x1d9,
};
#define N_MSRS (sizeof(vmcb_msrs) / sizeof(vmcb_msrs[0]) + 3)

static void rand_bytes(uint64_t *s, void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = (uint8_t)prng(s);
}

/* A segment as KVM's svm_get_segment reports one: VMCB attributes only. */
static void rand_seg(uint64_t *s, struct kvm_segment *g)
{
	uint64_t r = prng(s);

	memset(g, 0, sizeof(*g));
	g->base = prng(s);
	g->limit = (uint32_t)prng(s);
	g->selector = (uint16_t)r;
	g->type = r >> 16 & 0xf;
	g->s = r >> 20 & 1;
	g->dpl = r >> 21 & 3;
	g->present = r >> 23 & 1;
	g->avl = r >> 24 & 1;
	g->l = r >> 25 & 1;
	g->db = r >> 26 & 1;
	g->g = r >> 27 & 1;
	g->unusable = !g->present;
}

static void rand_vcpu(uint64_t *s, struct nc_vcpu_state *v)
{
	struct kvm_segment *segs[] = { &v->sregs.cs, &v->sregs.ds, &v->sregs.es,
		&v->sregs.fs, &v->sregs.gs, &v->sregs.ss, &v->sregs.tr, &v->sregs.ldt };
	size_t i;

	v->have = NC_VCPU_REGS | NC_VCPU_SREGS | NC_VCPU_DEBUGREGS;
	rand_bytes(s, &v->regs, sizeof(v->regs));
	rand_bytes(s, &v->sregs, sizeof(v->sregs));
	for (i = 0; i < 8; i++)
		rand_seg(s, segs[i]);
	memset(&v->sregs.gdt, 0, sizeof(v->sregs.gdt));
	memset(&v->sregs.idt, 0, sizeof(v->sregs.idt));
	v->sregs.gdt.base = prng(s);
	v->sregs.gdt.limit = (uint16_t)prng(s);
	v->sregs.idt.base = prng(s);
	v->sregs.idt.limit = (uint16_t)prng(s);
	rand_bytes(s, &v->debugregs, sizeof(v->debugregs));
	v->msrs = calloc(1, sizeof(*v->msrs) + N_MSRS * sizeof(v->msrs->entries[0]));
	v->msrs->nmsrs = N_MSRS;
	for (i = 0; i < N_MSRS; i++) {
		v->msrs->entries[i].index = i < N_MSRS - 3 ? vmcb_msrs[i] : 0x10 + i;
		v->msrs->entries[i].data = prng(s);
	}
}

static struct kvm_nested_state *rand_blob(uint64_t *s)
{
	struct kvm_nested_state *ns = calloc(1, BLOB_SIZE);

	rand_bytes(s, (uint8_t *)ns + 128, 4096);
	ns->format = KVM_STATE_NESTED_FORMAT_SVM;
	ns->size = BLOB_SIZE;
	ns->flags = KVM_STATE_NESTED_GUEST_MODE |
		    (prng(s) & 1 ? KVM_STATE_NESTED_GIF_SET : 0) |
		    (prng(s) & 1 ? KVM_STATE_NESTED_RUN_PENDING : 0);
	ns->hdr.svm.vmcb_pa = prng(s) & ~0xfffull;
	return ns;
}

/* w := v, then garble what the VMCB save area holds, then rebuild it. */
static int l2_regs_roundtrip(const struct nc_vcpu_state *v,
			     const struct nc_svm_clean *c, uint64_t *s)
{
	struct nc_vcpu_state w = *v;
	size_t msz = sizeof(*v->msrs) + v->msrs->nmsrs * sizeof(v->msrs->entries[0]);
	uint32_t i;
	int same;

	w.msrs = malloc(msz);
	memcpy(w.msrs, v->msrs, msz);
	w.regs.rax = w.regs.rsp = w.regs.rip = w.regs.rflags = prng(s);
	rand_bytes(s, &w.sregs.cs, sizeof(w.sregs.cs));
	w.sregs.cr0 = w.sregs.cr2 = w.sregs.cr3 = w.sregs.cr4 = w.sregs.efer = prng(s);
	w.sregs.gdt.base = prng(s);
	w.debugregs.dr6 = w.debugregs.dr7 = prng(s);
	for (i = 0; i < w.msrs->nmsrs; i++) {
		size_t k;

		for (k = 0; k < sizeof(vmcb_msrs) / sizeof(vmcb_msrs[0]); k++)
			if (w.msrs->entries[i].index == vmcb_msrs[k])
				w.msrs->entries[i].data = prng(s);
	}
	nc_svm_l2_to_vcpu(c, &w);
	same = !memcmp(&w.regs, &v->regs, sizeof(w.regs)) &&
	       !memcmp(&w.sregs, &v->sregs, sizeof(w.sregs)) &&
	       !memcmp(&w.debugregs, &v->debugregs, sizeof(w.debugregs)) &&
	       !memcmp(w.msrs, v->msrs, msz);
	free(w.msrs);
	return same;
}

static void fixture(void)
{
	struct nc_svm_clean *c = malloc(sizeof(*c));
	struct kvm_nested_state *back;
	struct nc_why why = { "" };
	struct nc_image img;
	const struct nc_vcpu_state *v;
	uint64_t s = 1;
	int rc;

	fixture_load(FIXTURE_SVM, &img);
	v = &img.vms[0].vcpus[0];
	rc = nc_svm_clean_from_kvm(v->nested, v, c, &why);
	is_int(rc, 0, "fixture: KVM's stitched blob converts to the clean form");
	ok(c->guest_mode && c->gif && !c->run_pending, "fixture: guest mode, GIF set");
	ok(c->vmcb12_pa == v->nested->hdr.svm.vmcb_pa && c->vmcb12_pa == 0x581000,
	   "fixture: vmcb12 at 0x581000");
	ok(c->l1_efer & (1u << 12), "fixture: L1's guest-visible EFER has SVME");
	ok(c->l1_cr0 & 0x80000001u, "fixture: L1's guest-visible CR0 has PG|PE");
	is_int(nc_le_get(c->vmcb12_control + VMCB_CTL_INTERCEPT_VEC4, 4) & 3, 3,
	       "fixture: VMCB12 intercepts VMRUN and VMMCALL");
	is_int(nc_le_get(c->vmcb12_control + VMCB_CTL_ASID, 4), 1, "fixture: ASID 1");
	is_int(nc_le_get(c->vmcb12_control + VMCB_CTL_EXIT_CODE, 4), 0x81,
	       "fixture: last #VMEXIT was VMMCALL (0x81)");
	ok(nc_le_get(c->vmcb12_save + VMCB_SAVE_RIP, 8) == v->regs.rip &&
	   nc_le_get(c->vmcb12_save + VMCB_SAVE_CR3, 8) == v->sregs.cr3,
	   "fixture: VMCB12 save area holds L2's RIP and CR3 from the vCPU");
	ok(nc_le_get(c->l1_save + VMCB_SAVE_RIP, 8) != v->regs.rip,
	   "fixture: L1's save area holds L1's RIP, not L2's");
	rc = nc_svm_clean_to_kvm(c, &back, &why);
	ok(!rc && back->size == v->nested->size &&
	   !memcmp(back, v->nested, v->nested->size),
	   "fixture: clean form -> stitched blob is byte for byte KVM's");
	ok(l2_regs_roundtrip(v, c, &s), "fixture: L2 registers rebuilt from VMCB12 equal the vCPU's");
	free(back);
	/* vcpu1: L1 with EFER.SVME, not in guest mode: header only. */
	v = &img.vms[0].vcpus[1];
	rc = nc_svm_clean_from_kvm(v->nested, v, c, &why);
	ok(!rc && !c->guest_mode, "fixture: vcpu1 is not in guest mode");
	rc = nc_svm_clean_to_kvm(c, &back, &why);
	ok(!rc && back->size == 128 && !memcmp(back, v->nested, 128),
	   "fixture: vcpu1 header-only blob round trip");
	free(back);
	nc_image_free(&img);
	free(c);
}

static void property(void)
{
	struct nc_svm_clean *c = malloc(sizeof(*c));
	struct nc_why why = { "" };
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int blob_ok = 0, regs_ok = 0, img_ok = 0, i;

	for (i = 0; i < ITERATIONS; i++) {
		struct nc_vcpu_state v;
		struct kvm_nested_state *back = NULL;

		memset(&v, 0, sizeof(v));
		rand_vcpu(&s, &v);
		v.nested = rand_blob(&s);
		if (!nc_svm_clean_from_kvm(v.nested, &v, c, &why) &&
		    !nc_svm_clean_to_kvm(c, &back, &why) &&
		    !memcmp(back, v.nested, BLOB_SIZE))
			blob_ok++;
		if (l2_regs_roundtrip(&v, c, &s))
			regs_ok++;
		free(back);
		if (i < IMAGE_ITERATIONS) {
			struct nc_image img = { 0 }, out;
			struct nc_vm_state vm = { 0 };
			struct nc_err err;
			uint8_t *buf;
			size_t len;

			vm.vcpus = &v;
			vm.n_vcpus = 1;
			img.vms = &vm;
			img.n_vms = 1;
			len = fixture_encode(&img, NULL, 0, &buf);
			if (!nc_image_decode(buf, len, &out, &err)) {
				const struct nc_vcpu_state *o = &out.vms[0].vcpus[0];

				img_ok += o->nested->size == BLOB_SIZE &&
					  !memcmp(o->nested, v.nested, BLOB_SIZE) &&
					  !memcmp(&o->regs, &v.regs, sizeof(v.regs)) &&
					  !memcmp(&o->sregs, &v.sregs, sizeof(v.sregs));
				nc_image_free(&out);
			}
			free(buf);
		}
		nc_vcpu_state_free(&v);
	}
	is_int(blob_ok, ITERATIONS, "property: stitched -> clean -> stitched is the identity");
	is_int(regs_ok, ITERATIONS, "property: L2 regs/sregs/DR6/DR7/MSRs from VMCB12 are the vCPU's");
	is_int(img_ok, IMAGE_ITERATIONS, "property: through image encode/decode too");
	free(c);
}

static void errors(void)
{
	struct nc_svm_clean *c = malloc(sizeof(*c));
	struct nc_vcpu_state v;
	struct nc_why why = { "" };
	uint64_t s = 7;

	memset(&v, 0, sizeof(v));
	rand_vcpu(&s, &v);
	v.nested = rand_blob(&s);
	v.nested->format = KVM_STATE_NESTED_FORMAT_VMX;
	ok(nc_svm_clean_from_kvm(v.nested, &v, c, &why) < 0 &&
	   strstr(why.msg, "format 0 is not SVM's"), "a VMX blob is refused by name");
	v.nested->format = KVM_STATE_NESTED_FORMAT_SVM;
	v.nested->size = 200;
	ok(nc_svm_clean_from_kvm(v.nested, &v, c, &why) < 0 &&
	   strstr(why.msg, "in guest mode is 200 bytes, needs 4224"),
	   "a short guest-mode blob is refused");
	v.nested->size = BLOB_SIZE;
	v.nested->flags |= 0x4000;
	ok(nc_svm_clean_from_kvm(v.nested, &v, c, &why) < 0 &&
	   strstr(why.msg, "bits this library does not know"),
	   "unknown SVM nested flags are refused, not dropped");
	v.nested->flags &= ~0x4000;
	v.have &= ~NC_VCPU_SREGS;
	ok(nc_svm_clean_from_kvm(v.nested, &v, c, &why) < 0 &&
	   strstr(why.msg, "L2's registers"), "guest mode without L2 registers is refused");
	nc_vcpu_state_free(&v);
	free(c);
}

int main(void)
{
	fixture();
	property();
	errors();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vmcs12 <-> architectural field encodings, on the vmcs12 KVM returned in the
 * Bochs test bed (tests/fixtures/vmx): the conversion is the identity on
 * KVM's page, decodes the values L1 set, and refuses by name an unknown
 * revision, a byte no field maps, a field with no place, a value too wide.
 */
#include "image_fixtures.h"
#include "tap.h"

#define GUEST_RIP		0x681e
#define HOST_RIP		0x6c16
#define VMCS_LINK_POINTER	0x2800
#define PIN_BASED_CONTROLS	0x4000
#define CPU_BASED_CONTROLS	0x4002
#define VM_EXIT_REASON		0x4402
#define GUEST_CS_SELECTOR	0x0802
#define EXIT_REASON_VMCALL	18

static void fixture_vmcs12(uint8_t page[NC_VMCS12_PAGE], uint64_t *vmcs12_pa,
			   uint64_t *l1_rip)
{
	struct nc_image img;
	const struct nc_vcpu_state *v;

	fixture_load(FIXTURE_VMX, &img);
	v = &img.vms[0].vcpus[0];
	memcpy(page, (const uint8_t *)v->nested + 128, NC_VMCS12_PAGE);
	*vmcs12_pa = v->nested->hdr.vmx.vmcs12_pa;
	*l1_rip = v->regs.rip;
	nc_image_free(&img);
}

/* A vCPU with a shadow vmcs12 too (L1 using VMCS shadowing) survives the image. */
static void shadow_through_image(void)
{
	struct nc_image img, back;
	struct nc_err err = { "" };
	struct nc_vcpu_state *v;
	struct kvm_nested_state *ns;
	uint8_t *buf, *shadow;
	size_t len;

	fixture_load(FIXTURE_VMX, &img);
	v = &img.vms[0].vcpus[0];
	ns = calloc(1, 128 + 2 * NC_VMCS12_PAGE);
	memcpy(ns, v->nested, 128 + NC_VMCS12_PAGE);
	shadow = (uint8_t *)ns + 128 + NC_VMCS12_PAGE;
	memcpy(shadow, (uint8_t *)ns + 128, NC_VMCS12_PAGE);
	shadow[3] |= 0x80;		/* shadow-VMCS indicator */
	shadow[960] = 0x42;		/* virtual_processor_id differs */
	ns->size = 128 + 2 * NC_VMCS12_PAGE;
	free(v->nested);
	v->nested = ns;
	len = fixture_encode(&img, NULL, 0, &buf);
	is_int(nc_image_decode(buf, len, &back, &err), 0, "image with a shadow vmcs12 decodes");
	ok(back.vms[0].vcpus[0].nested->size == ns->size &&
	   !memcmp(back.vms[0].vcpus[0].nested, ns, ns->size),
	   "vmcs12 and shadow vmcs12 come back byte for byte (shadow bit kept)");
	nc_image_free(&back);
	nc_image_free(&img);
	free(buf);
}

int main(void)
{
	static uint8_t page[NC_VMCS12_PAGE], back[NC_VMCS12_PAGE];
	struct nc_vmcs12 *v = malloc(sizeof(*v));
	struct nc_why why = { "" };
	uint64_t pa, rip, val;
	int rc;

	fixture_vmcs12(page, &pa, &rip);
	rc = nc_vmcs12_from_kvm(page, sizeof(page), v, &why);
	is_int(rc, 0, "KVM's vmcs12 from the test bed converts to field encodings");
	if (rc)
		printf("#   %s\n", why.msg);
	is_int(v->revision, 0x11e57ed0, "revision 0x11e57ed0");
	is_int(v->n, nc_vmcs12_layout_11e57ed0.n, "every field of the layout read");
	is_int(v->launch_state, 1, "launch_state 1: L1 did VMLAUNCH");
	ok(nc_vmcs12_get(v, VMCS_LINK_POINTER, &val) && val == ~0ull,
	   "VMCS link pointer is all ones (no shadow VMCS)");
	ok(nc_vmcs12_get(v, GUEST_CS_SELECTOR, &val) && val == 0x8,
	   "L2's CS selector is 0x8");
	ok(nc_vmcs12_get(v, VM_EXIT_REASON, &val) && val == EXIT_REASON_VMCALL,
	   "last exit reason: VMCALL (18), L2's hypercall");
	ok(nc_vmcs12_get(v, HOST_RIP, &val) && val > 0x400000 && val < 0x800000,
	   "HOST_RIP points into nestvmm's L1 code");
	ok(nc_vmcs12_get(v, GUEST_RIP, &val) && val > 0x400000 && val < 0x800000,
	   "GUEST_RIP points into nestvmm's L2 code");
	ok(nc_vmcs12_get(v, PIN_BASED_CONTROLS, &val) && (val & 0x16) == 0x16,
	   "pin-based controls carry the default1 bits");
	is_str(nc_vmcs_field_name(GUEST_RIP), "guest_rip", "field names come from the layout");
	printf("#   vmcs12_pa 0x%llx, L2 rip 0x%llx\n", (unsigned long long)pa,
	       (unsigned long long)rip);

	rc = nc_vmcs12_to_kvm(v, &nc_vmcs12_layout_11e57ed0, back, sizeof(back), &why);
	is_int(rc, 0, "fields convert back to KVM's layout");
	ok(!memcmp(page, back, sizeof(page)), "... byte for byte the page KVM gave");

	/* An unknown revision is refused by name, never copied. */
	memcpy(back, page, sizeof(page));
	back[0] ^= 0x01;
	rc = nc_vmcs12_from_kvm(back, sizeof(back), v, &why);
	ok(rc == -EPROTONOSUPPORT && strstr(why.msg, "revision 0x11e57ed1 is unknown"),
	   "unknown revision 0x11e57ed1 is a named error");
	printf("#   %s\n", why.msg);

	/* A set byte that belongs to no field (padding). */
	memcpy(back, page, sizeof(page));
	back[20] = 0x5a;
	rc = nc_vmcs12_from_kvm(back, sizeof(back), v, &why);
	ok(rc < 0 && strstr(why.msg, "byte at offset 20 is 0x5a but belongs to no field"),
	   "a set byte outside every field is a named error");

	/* A field the destination layout has no place for. */
	nc_vmcs12_from_kvm(page, sizeof(page), v, &why);
	v->f[v->n].encoding = 0x4828;	/* GUEST_SMBASE: KVM 6.1 does not keep it */
	v->f[v->n++].value = 1;
	rc = nc_vmcs12_to_kvm(v, &nc_vmcs12_layout_11e57ed0, back, sizeof(back), &why);
	ok(rc == -ENOENT && strstr(why.msg, "field 0x4828 has no place"),
	   "an unmapped field is a named error");
	v->n--;

	/* A 16-bit field with a 17-bit value. */
	v->f[0].value = 0x10000;
	rc = nc_vmcs12_to_kvm(v, &nc_vmcs12_layout_11e57ed0, back, sizeof(back), &why);
	ok(rc < 0 && strstr(why.msg, "does not fit its 2 bytes"),
	   "a value wider than its field is a named error");

	ok(nc_vmcs12_layout_find(0x11e57ed0) && !nc_vmcs12_layout_find(0x12345678),
	   "layout lookup by revision");
	ok(nc_vmcs12_layout_find(0x80000000u | 0x11e57ed0) != NULL,
	   "the shadow-VMCS bit does not change the layout");
	free(v);
	shadow_through_image();
	return tap_done();
}

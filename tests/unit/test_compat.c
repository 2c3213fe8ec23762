// SPDX-License-Identifier: GPL-2.0
/*
 * Capability checks on the capabilities recorded from the test-bed fixtures:
 * a host offering the same passes; each thing taken away from the host is
 * refused with the feature named.
 */
#include "image_fixtures.h"
#include "tap.h"

static uint64_t *msr(struct nc_caps *c, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->n_vmx_msrs; i++)
		if (c->vmx_msrs[i].index == index)
			return (uint64_t *)&c->vmx_msrs[i].data;
	return NULL;
}

/* The report names exactly one missing feature, containing @want. */
static void expect_one(const struct nc_caps *img, const struct nc_caps *host,
		       const char *want, const char *what)
{
	struct nc_compat_report r;

	nc_caps_compare(img, host, &r);
	if (!ok(r.n_missing == 1 && strstr(r.missing[0], want), what)) {
		uint32_t i;

		for (i = 0; i < r.n_missing; i++)
			printf("#   missing: %s\n", r.missing[i]);
	} else {
		printf("#   %s\n", r.missing[0]);
	}
}

static void svm(void)
{
	struct nc_image img;
	struct nc_caps host;
	struct nc_compat_report r;

	fixture_load(FIXTURE_SVM, &img);
	ok(img.caps.vendor == NESTCKPT_VENDOR_SVM && img.caps.have_svm_leaf,
	   "svm: recorded CPUID 0x8000000A as L1 saw it");
	ok(img.caps.svm_leaf.edx & 1, "svm: L1 was shown NPT");
	ok(img.caps.nested_state_size == 4224, "svm: nested state of 4224 bytes recorded");
	host = img.caps;
	nc_caps_compare(&img.caps, &host, &r);
	is_int(r.n_missing, 0, "svm: the same host is compatible");

	host.svm_leaf.edx &= ~1u;
	expect_one(&img.caps, &host, "SVM feature: NPT (nested paging)",
		   "svm: host without NPT (kvm_amd npt=0) is refused naming NPT");
	host = img.caps;
	host.svm_leaf.edx &= ~(1u << 16);
	expect_one(&img.caps, &host, "SVM feature: virtual GIF", "svm: vGIF named");
	host = img.caps;
	host.ext_leaf.ecx &= ~(1u << 2);
	expect_one(&img.caps, &host, "does not offer SVM to guests",
		   "svm: host with nested=0 is refused");
	host = img.caps;
	host.n_kvm_caps--;
	expect_one(&img.caps, &host, "KVM capability: ", "svm: a missing KVM capability is named");
	host = img.caps;
	host.nested_state_size = 128;
	expect_one(&img.caps, &host, "nested state of 4224 bytes, this host takes at most 128",
		   "svm: too small KVM_CAP_NESTED_STATE is named");
	host = img.caps;
	host.vendor = NESTCKPT_VENDOR_VMX;
	expect_one(&img.caps, &host, "the image needs svm, this host's KVM offers vmx",
		   "svm: vendor mismatch is named");
	nc_image_free(&img);
}

static void vmx(void)
{
	struct nc_image img;
	struct nc_caps host;
	struct nc_compat_report r;

	fixture_load(FIXTURE_VMX, &img);
	ok(img.caps.vendor == NESTCKPT_VENDOR_VMX && img.caps.n_vmx_msrs >= 10,
	   "vmx: recorded the IA32_VMX_* MSRs L1 saw");
	ok(msr(&img.caps, 0x48b) && (*msr(&img.caps, 0x48b) >> 33 & 1),
	   "vmx: L1 was allowed EPT");
	{
		uint32_t i, xcrs = 0;

		for (i = 0; i < img.caps.n_kvm_caps; i++)
			xcrs |= img.caps.kvm_caps[i] == KVM_CAP_XCRS;
		ok(!xcrs, "vmx: no XCRs captured (Bochs host without XSAVE): "
		   "KVM_CAP_XCRS not required");
	}
	host = img.caps;
	nc_caps_compare(&img.caps, &host, &r);
	is_int(r.n_missing, 0, "vmx: the same host is compatible");

	*msr(&host, 0x48b) &= ~(1ull << 33);
	expect_one(&img.caps, &host, "secondary exec control: enable EPT",
		   "vmx: host without EPT (kvm_intel ept=0) is refused naming EPT");
	host = img.caps;
	*msr(&host, 0x48b) &= ~(1ull << 37);
	expect_one(&img.caps, &host, "secondary exec control: enable VPID", "vmx: VPID named");
	host = img.caps;
	*msr(&host, 0x48c) &= ~(1ull << 17);
	expect_one(&img.caps, &host, "EPT/VPID capability: EPT 1-GByte pages",
		   "vmx: an EPT capability is named");
	host = img.caps;
	*msr(&host, 0x480) ^= 1;
	expect_one(&img.caps, &host, "VMCS revision 0x11e57ed0, this host uses 0x11e57ed1",
		   "vmx: a different VMCS revision is named");
	host = img.caps;
	*msr(&host, 0x48e) |= 1ull << 7;	/* host forces HLT exiting */
	expect_one(&img.caps, &host, "primary exec control (TRUE) this host forces to 1: HLT exiting",
		   "vmx: a control the host forces on is named");
	host = img.caps;
	host.n_vmx_msrs = 0;
	expect_one(&img.caps, &host, "offers no VMX capability MSRs",
		   "vmx: host with nested=0 is refused");
	nc_image_free(&img);
}


/* @path as bytes, exactly @len of them, or bail out. */
static void read_exact(const char *path, void *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, len, f) : 0;

	if (f)
		fclose(f);
	if (n != len) {
		printf("Bail out! %s: %zu bytes, wanted %zu\n", path, n, len);
		exit(1);
	}
}

/*
 * What the capturing host's KVM offered, from the fixture's own host files
 * (vm/svm_cpuid.bin: KVM_GET_SUPPORTED_CPUID 0x8000000A; vm/vmx_cap_msrs.bin:
 * the system fd's VMX MSRs); KVM capabilities and sizes as the image needs.
 */
static void own_host(const struct nc_image *img, const char *dir, struct nc_caps *host)
{
	char path[512];

	*host = img->caps;
	if (img->caps.vendor == NESTCKPT_VENDOR_SVM) {
		snprintf(path, sizeof(path), "%s/vm/svm_cpuid.bin", dir);
		read_exact(path, &host->svm_leaf, sizeof(host->svm_leaf));
	} else {
		struct { struct kvm_msrs h; struct kvm_msr_entry e[NC_CAPS_MAX_MSRS]; } m;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/vm/vmx_cap_msrs.bin", dir);
		f = fopen(path, "rb");
		n = f ? fread(&m, 1, sizeof(m), f) : 0;
		if (f)
			fclose(f);
		if (n < sizeof(m.h) || m.h.nmsrs > NC_CAPS_MAX_MSRS ||
		    n != sizeof(m.h) + m.h.nmsrs * sizeof(m.e[0])) {
			printf("Bail out! %s: %zu bytes\n", path, n);
			exit(1);
		}
		host->n_vmx_msrs = m.h.nmsrs;
		memcpy(host->vmx_msrs, m.e, m.h.nmsrs * sizeof(m.e[0]));
	}
}

static void none_missing(const struct nc_caps *img, const struct nc_caps *host,
			 const char *what)
{
	struct nc_compat_report r;
	uint32_t i;

	nc_caps_compare(img, host, &r);
	if (!ok(r.n_missing == 0, what))
		for (i = 0; i < r.n_missing; i++)
			printf("#   missing: %s\n", r.missing[i]);
}

/* Issue 14: compare what the VM relied on with what this host's KVM can give. */
static void like_with_like(void)
{
	struct nc_image img, back;
	struct nc_caps host, src;
	struct nc_err err = { "" };
	uint8_t *buf;
	size_t len;

	fixture_load(FIXTURE_SVM, &img);
	ok(img.caps.have_src_svm_leaf && img.caps.src_svm_leaf.function == 0x8000000a,
	   "svm: the capturing host's CPUID 0x8000000A loaded as the source's offer");
	own_host(&img, FIXTURE_SVM, &host);
	none_missing(&img.caps, &host, "svm: the fixture passes its own host's rules");
	src = img.caps;
	/* QEMU shows L1 16 ASIDs where KVM_GET_SUPPORTED_CPUID says 8. */
	img.caps.svm_leaf.ebx = 16;
	host.svm_leaf.ebx = 8;
	none_missing(&img.caps, &host, "svm: 16 ASIDs shown to L1, the host suggests 8: not refused");
	img.caps.svm_leaf.eax = 2;
	none_missing(&img.caps, &host, "svm: a higher SVM revision shown to L1: not refused");
	/* A bit the VMM showed that the source's KVM never emulated (LBRV). */
	img.caps = src;
	img.caps.svm_leaf.edx |= 1u << 1;
	img.caps.src_svm_leaf.edx &= ~(1u << 1);
	host.svm_leaf.edx &= ~(1u << 1);
	none_missing(&img.caps, &host, "svm: a feature only the VMM claimed: not refused on its own host");
	/* ... but one the source emulated (vGIF) and this host lacks is. */
	img.caps = src;
	own_host(&img, FIXTURE_SVM, &host);
	ok(img.caps.svm_leaf.edx & img.caps.src_svm_leaf.edx & 1u << 16,
	   "svm: L1 relied on vGIF at the source");
	host.svm_leaf.edx &= ~(1u << 16);
	expect_one(&img.caps, &host, "SVM feature: virtual GIF",
		   "svm: a feature L1 relied on and this host lacks is named");
	/* An image without the source's offer: the image's bits, as before. */
	img.caps = src;
	img.caps.have_src_svm_leaf = false;
	img.caps.svm_leaf.edx |= 1u << 1;
	own_host(&img, FIXTURE_SVM, &host);
	host.svm_leaf.edx &= ~(1u << 1);
	expect_one(&img.caps, &host, "SVM feature: LBR virtualization",
		   "svm: older image without the source's offer: image's bits compared");
	/* The source's offer survives the image format. */
	img.caps = src;
	len = fixture_encode(&img, NULL, 0, &buf);
	ok(!nc_image_decode(buf, len, &back, &err) && back.caps.have_src_svm_leaf &&
	   !memcmp(&back.caps.src_svm_leaf, &src.src_svm_leaf, sizeof(src.src_svm_leaf)),
	   "svm: the source's CPUID 0x8000000A comes back from the image");
	nc_image_free(&back);
	free(buf);
	nc_image_free(&img);

	fixture_load(FIXTURE_VMX, &img);
	own_host(&img, FIXTURE_VMX, &host);
	ok(host.n_vmx_msrs >= 10, "vmx: the capturing host's VMX MSRs loaded");
	none_missing(&img.caps, &host, "vmx: the fixture passes its own host's rules");
	nc_image_free(&img);
}

int main(void)
{
	svm();
	vmx();
	like_with_like();
	is_str(nc_kvm_cap_name(KVM_CAP_NESTED_STATE), "KVM_CAP_NESTED_STATE", "KVM cap names");
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The MSR filter component and the machine-check MSRs in the image:
 *  - a fixture with a filter (two ranges, deny-by-default off) and a vCPU
 *    with MCG_CAP, MCG_CTL and bank MSRs survives encode/decode bit for bit,
 *    and the filter is its own must-understand component "vm0/msr-filter";
 *  - the fixtures as captured (no filter, no MCG_CAP) still encode to
 *    images without that component, and decode to no filter and no MCG_CAP
 *    (what images written before these additions hold);
 *  - filters KVM_X86_SET_MSR_FILTER would refuse are refused at encode and
 *    at decode (bitmap not the size of its range, no flags, too many MSRs);
 *  - the bank MSR list follows MCG_CAP's count, capped at KVM's 32 banks,
 *    and MCG_CAP values KVM_X86_SETUP_MCE refuses are named by the check.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "image_fixtures.h"
#include "image.pb-c.h"
#include "image_internal.h"

#define MCG_CTL_P	(1ull << 8)
#define MCG_SER_P	(1ull << 24)

static struct nc_msr_filter *make_filter(void)
{
	struct nc_msr_filter *f = calloc(1, sizeof(*f));

	/* QEMU's shape: reads of 0x35 go to userspace, the rest of 0..0xff allowed. */
	f->nr_ranges = 2;
	f->ranges[0] = (struct nc_msr_filter_range){
		.flags = KVM_MSR_FILTER_READ, .base = 0, .nmsrs = 0x100, .bitmap_len = 32,
	};
	memset(f->ranges[0].bitmap, 0xff, 32);
	f->ranges[0].bitmap[0x35 / 8] &= ~(1u << (0x35 % 8));
	f->ranges[1] = (struct nc_msr_filter_range){
		.flags = KVM_MSR_FILTER_WRITE | KVM_MSR_FILTER_READ,
		.base = 0xc0000100, .nmsrs = 3, .bitmap_len = 8,
	};
	f->ranges[1].bitmap[0] = 0x5;	/* 0xc0000101 denied */
	return f;
}

/* MCG_CAP with 10 banks and MCG_CTL_P, MCG_CTL all ones, the banks as after SETUP_MCE. */
static void add_mce_msrs(struct nc_vcpu_state *v)
{
	uint32_t idx[NC_MCE_MAX_BANK_MSRS], n = nc_mce_bank_msrs(MCG_CTL_P | 10, idx), i;
	uint32_t have = v->msrs ? v->msrs->nmsrs : 0;
	struct kvm_msrs *m = realloc(v->msrs, sizeof(*m) + (have + n + 3) * sizeof(m->entries[0]));

	m->entries[have++] = (struct kvm_msr_entry){ .index = NC_MSR_MCG_CAP, .data = MCG_CTL_P | 10 };
	m->entries[have++] = (struct kvm_msr_entry){ .index = NC_MSR_MCG_CTL, .data = ~0ull };
	m->entries[have++] = (struct kvm_msr_entry){ .index = NC_MSR_MCG_STATUS, .data = 0 };
	for (i = 0; i < n; i++)
		m->entries[have++] = (struct kvm_msr_entry){
			.index = idx[i], .data = (idx[i] & 3) == 0 && idx[i] >= 0x400 ? ~0ull : i,
		};
	m->nmsrs = have;
	v->msrs = m;
}

static const struct nc_component_info *component(const struct nc_image *img,
						  const char *name)
{
	uint32_t i;

	for (i = 0; i < img->n_components; i++)
		if (!strcmp(img->components[i].name, name))
			return &img->components[i];
	return NULL;
}

static void test_round_trip(void)
{
	struct nc_image img, back;
	struct nc_err err = { "" };
	const struct nc_component_info *ci;
	struct nc_msr_filter *f;
	uint64_t cap = 0;
	uint8_t *buf;
	size_t len;
	int rc;

	fixture_load(FIXTURE_SVM, &img);
	img.vms[0].msr_filter = make_filter();
	add_mce_msrs(&img.vms[0].vcpus[0]);
	len = fixture_encode(&img, NULL, 0, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	is_int(rc, 0, "image with MSR filter and MCE MSRs decodes");
	if (rc) {
		printf("# %s\n", err.msg);
		nc_image_free(&img);
		free(buf);
		return;
	}
	f = back.vms[0].msr_filter;
	ok(f && !memcmp(f, img.vms[0].msr_filter, sizeof(*f)), "the filter comes back bit for bit");
	ok(f && nc_msr_filter_denies(f, 0x35, false), "RDMSR 0x35 denied (goes to userspace)");
	ok(f && !nc_msr_filter_denies(f, 0x36, false), "RDMSR 0x36 allowed");
	ok(f && !nc_msr_filter_denies(f, 0x35, true), "WRMSR 0x35 allowed (range is read-only)");
	ok(f && nc_msr_filter_denies(f, 0xc0000101, true), "WRMSR 0xc0000101 denied");
	ok(f && !nc_msr_filter_denies(f, 0xc0000102, true), "WRMSR 0xc0000102 allowed");
	ok(back.vms[0].n_vcpus > 1 && !back.vms[0].vcpus[1].msrs == !img.vms[0].vcpus[1].msrs,
	   "the other vCPU unchanged");
	ok(nc_mce_cap(&back.vms[0].vcpus[0], &cap) && cap == (MCG_CTL_P | 10),
	   "MCG_CAP kept for KVM_X86_SETUP_MCE");
	is_int(back.vms[0].vcpus[0].msrs->nmsrs, img.vms[0].vcpus[0].msrs->nmsrs,
	       "every MCE MSR kept");
	ok(!memcmp(back.vms[0].vcpus[0].msrs->entries, img.vms[0].vcpus[0].msrs->entries,
		   img.vms[0].vcpus[0].msrs->nmsrs * sizeof(struct kvm_msr_entry)),
	   "MCE MSR values kept");
	ci = component(&back, "vm0/msr-filter");
	ok(ci && ci->kind == NC_COMPONENT_KIND__NC_COMP_MSR_FILTER && ci->must_understand,
	   "the filter is a must-understand component of its own");
	ok(!component(&back, "vm1/msr-filter"), "no filter component for a VM without one");
	{
		struct nc_kv *kv;
		size_t nkv, i;
		int seen = 0;

		if (!nc_image_flatten(&back, &kv, &nkv)) {
			for (i = 0; i < nkv; i++) {
				seen += !strcmp(kv[i].key, "vm0.msr_filter_default") &&
					!strcmp(kv[i].value, "allow by default");
				seen += !strcmp(kv[i].key, "vm0.msr_filter.range0.r base 0x0 nmsrs 256 allowed 255");
				seen += !strcmp(kv[i].key, "vm0.vcpu0.mcg_cap") &&
					!strcmp(kv[i].value, "0x10a");
				seen += !strcmp(kv[i].key, "vm0.vcpu0.mcg_ctl") &&
					!strcmp(kv[i].value, "0xffffffffffffffff");
			}
			free(kv);
		}
		is_int(seen, 4, "inspect shows the filter, its ranges, MCG_CAP and MCG_CTL");
	}
	ok(nc_image_check_vcpus(&back, &err) == 0 ||
	   strstr(err.msg, "MCG_CAP bits this host"), "the vCPU check takes the MCG_CAP (or names the host's lack)");
	nc_image_free(&back);
	nc_image_free(&img);
	free(buf);
}

/* The fixtures as captured: what images before the filter and MCE held. */
static void test_old_shape(const char *dir)
{
	struct nc_image img, back;
	struct nc_err err = { "" };
	uint64_t cap;
	uint32_t i, j;
	bool any_filter = false, any_cap = false;
	uint8_t *buf;
	size_t len;
	int rc;

	fixture_load(dir, &img);
	len = fixture_encode(&img, NULL, 0, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	is_int(rc, 0, "fixture image decodes");
	for (i = 0; !rc && i < back.n_vms; i++) {
		any_filter |= back.vms[i].msr_filter != NULL;
		for (j = 0; j < back.vms[i].n_vcpus; j++)
			any_cap |= nc_mce_cap(&back.vms[i].vcpus[j], &cap);
	}
	ok(!rc && !any_filter, "no filter: none restored");
	ok(!rc && !any_cap, "no MCG_CAP: no KVM_X86_SETUP_MCE at restore");
	for (i = 0; !rc && i < back.n_components; i++)
		if (back.components[i].kind == NC_COMPONENT_KIND__NC_COMP_MSR_FILTER)
			break;
	ok(!rc && i == back.n_components, "no MSR filter component written");
	if (!rc)
		nc_image_free(&back);
	nc_image_free(&img);
	free(buf);
}

static void test_refused(void)
{
	struct nc_image img, back;
	struct nc_err err = { "" };
	NcMsrFilterRange r = NC_MSR_FILTER_RANGE__INIT, *rp = &r;
	NcMsrFilter m = NC_MSR_FILTER__INIT;
	struct nc_msr_filter *f = NULL;
	struct nc_why why = { "" };
	uint8_t bits[8] = { 0xff }, *buf, pb[64];
	uint32_t vm;
	size_t len, n;
	int rc;

	fixture_load(FIXTURE_SVM, &img);
	img.vms[0].msr_filter = make_filter();
	img.vms[0].msr_filter->ranges[1].flags = 0;
	rc = nc_image_encode(&img, NULL, 0, &buf, &len, &err);
	ok(rc < 0, "a range without flags is not written");
	has_str(err.msg, "vm0/msr-filter", "the error names the component");
	img.vms[0].msr_filter->ranges[1].flags = KVM_MSR_FILTER_READ;
	img.vms[0].msr_filter->ranges[1].nmsrs = NC_MSR_FILTER_BITMAP * 8 + 1;
	img.vms[0].msr_filter->ranges[1].bitmap_len = NC_MSR_FILTER_BITMAP + 8;
	ok(nc_msr_filter_invalid(img.vms[0].msr_filter) != NULL,
	   "more MSRs than KVM's bitmap limit: invalid");
	free(img.vms[0].msr_filter);
	img.vms[0].msr_filter = calloc(1, sizeof(*f));
	img.vms[0].msr_filter->flags = KVM_MSR_FILTER_DEFAULT_DENY;
	ok(nc_msr_filter_invalid(img.vms[0].msr_filter) != NULL,
	   "deny-by-default without ranges: invalid (KVM says EINVAL)");
	img.vms[0].msr_filter->flags = 0;
	ok(nc_msr_filter_invalid(img.vms[0].msr_filter) == NULL,
	   "allow-by-default without ranges: valid (a VMM can set it)");
	len = fixture_encode(&img, NULL, 0, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	ok(!rc && back.vms[0].msr_filter && !back.vms[0].msr_filter->nr_ranges,
	   "an empty allow-all filter comes back as set");
	if (!rc)
		nc_image_free(&back);
	free(buf);
	nc_image_free(&img);

	/* A component whose bitmap is shorter than its range says. */
	r.flags = KVM_MSR_FILTER_READ;
	r.first = 0;
	r.nmsrs = 100;
	r.bitmap.data = bits;
	r.bitmap.len = sizeof(bits);
	m.vm = 0;
	m.n_ranges = 1;
	m.ranges = &rp;
	n = nc_msr_filter__pack(&m, pb);
	rc = nc_msr_filter_unpack(pb, n, &f, &vm, &why);
	ok(rc < 0 && !f, "bitmap of 8 bytes for 100 MSRs refused");
	has_str(why.msg, "not the size", "and why");
	r.bitmap.len = 0;
	r.nmsrs = 0;
	n = nc_msr_filter__pack(&m, pb);
	rc = nc_msr_filter_unpack(pb, n, &f, &vm, &why);
	ok(rc < 0 && !f, "a range of 0 MSRs refused");
	rc = nc_msr_filter_unpack((const uint8_t *)"\xff\xff\xff", 3, &f, &vm, &why);
	ok(rc < 0 && !f, "garbage refused");
}

static void test_mce_lists(void)
{
	uint32_t idx[NC_MCE_MAX_BANK_MSRS], n;
	struct nc_image img;
	struct nc_err err = { "" };
	struct nc_vcpu_state *v;

	n = nc_mce_bank_msrs(MCG_CTL_P | 10, idx);
	is_int(n, 50, "10 banks: 4 MSRs each and a CTL2 each");
	ok(idx[0] == 0x400 && idx[39] == 0x427 && idx[40] == 0x280 && idx[49] == 0x289,
	   "MC0_CTL..MC9_MISC, then MC0_CTL2..MC9_CTL2");
	n = nc_mce_bank_msrs(0xff, idx);
	is_int(n, NC_MCE_MAX_BANK_MSRS, "a count above KVM's 32 banks is capped");
	ok(nc_mce_invalid(MCG_CTL_P, ~0ull) != NULL, "0 banks: refused");
	ok(nc_mce_invalid(33, ~0ull) != NULL, "33 banks: refused");
	ok(nc_mce_invalid(MCG_CTL_P | MCG_SER_P | 10, MCG_CTL_P | MCG_SER_P) == NULL,
	   "QEMU's MCG_CAP on a host that supports it: taken");
	ok(nc_mce_invalid(MCG_CTL_P | MCG_SER_P | 10, MCG_CTL_P) != NULL,
	   "MCG_SER_P the host lacks: refused");
	ok(nc_mce_invalid((1ull << 16) | 32, 0) == NULL,
	   "KVM's default for a new vCPU (32 banks, extended count bits) taken");
	ok(nc_mce_setup_only(NC_MSR_MCG_CAP) && !nc_mce_setup_only(NC_MSR_MCG_CTL),
	   "only MCG_CAP is left to KVM_X86_SETUP_MCE");

	fixture_load(FIXTURE_SVM, &img);
	v = &img.vms[0].vcpus[0];
	add_mce_msrs(v);
	v->msrs->entries[v->msrs->nmsrs - 50 - 3].data = MCG_CTL_P;	/* MCG_CAP, 0 banks */
	ok(nc_image_check_vcpus(&img, &err) < 0, "the vCPU check refuses MCG_CAP with 0 banks");
	has_str(err.msg, "vcpu0: MCG_CAP 0x100", "naming the vCPU and the value");
	nc_image_free(&img);
}

int main(void)
{
	test_round_trip();
	test_old_shape(FIXTURE_SVM);
	test_old_shape(FIXTURE_VMX);
	test_refused();
	test_mce_lists();
	return tap_done();
}

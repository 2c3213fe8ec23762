// SPDX-License-Identifier: GPL-2.0
/* The pure rules of putting a vCPU back: MSR writes, reply counts, CPUID count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"
#include "tap.h"
#include "image_fixtures.h"

#define ASYNC_PF_INT	0x4b564d06

static void test_msr_plan(void)
{
	/* What a VMM without an in-kernel LAPIC had: ASYNC_PF_INT 0, as a new vCPU. */
	const struct kvm_msr_entry want[] = {
		{ .index = 0x10, .data = 123456789 },		/* TSC: moved */
		{ .index = ASYNC_PF_INT, .data = 0 },		/* as held */
		{ .index = 0xc0000081, .data = 0x23001000000000ull },	/* STAR */
		{ .index = 0x1b, .data = 0xfee00900 },		/* APIC base, as held */
		{ .index = 0x4b564d01, .data = 0x5001 },	/* not readable */
	};
	const struct kvm_msr_entry held[] = {
		{ .index = 0x1b, .data = 0xfee00900 },
		{ .index = 0x10, .data = 42 },
		{ .index = ASYNC_PF_INT, .data = 0 },
		{ .index = 0xc0000081, .data = 0 },
	};
	struct kvm_msr_entry out[5];
	uint32_t n;

	n = nc_msr_plan(want, 5, held, 4, out);
	is_int(n, 3, "MSR plan: the values a new vCPU already holds are not written");
	ok(n == 3 && out[0].index == 0x10 && out[0].data == 123456789 &&
	   out[1].index == 0xc0000081 && out[2].index == 0x4b564d01,
	   "MSR plan: the others, in the image's order, with the image's values");
	n = nc_msr_plan(want, 5, NULL, 0, out);
	is_int(n, 5, "MSR plan: nothing held (unreadable): everything written");
	/* Real state in an MSR the VM cannot take stays in the plan (and is refused by name). */
	{
		const struct kvm_msr_entry w = { .index = ASYNC_PF_INT, .data = 0xec };

		n = nc_msr_plan(&w, 1, held, 4, out);
		ok(n == 1 && out[0].data == 0xec,
		   "MSR plan: ASYNC_PF_INT carrying a vector is written (refusal then named)");
	}
	n = nc_msr_plan(want, 0, held, 4, out);
	is_int(n, 0, "MSR plan: no MSRs, no writes");
	is_str(nc_msr_name(ASYNC_PF_INT), "MSR_KVM_ASYNC_PF_INT", "MSR name: async PF interrupt");
	is_str(nc_msr_name(0x48b), "IA32_VMX_PROCBASED_CTLS2", "MSR name: a VMX capability MSR");
	ok(nc_msr_name(0x12345678) == NULL, "MSR name: unknown MSR has none");
}

static void test_msr_reply_count(void)
{
	is_int(nc_msr_reply_count(5, 10, 0, 100), 5, "MSR reply: a count within what was asked");
	is_int(nc_msr_reply_count(10, 10, 90, 100), 10, "MSR reply: filling the output exactly");
	is_int(nc_msr_reply_count(11, 10, 0, 100), -EPROTO, "MSR reply: more than asked refused");
	is_int(nc_msr_reply_count(0x7fffffff, 255, 0, 300), -EPROTO,
	       "MSR reply: a huge echoed count refused");
	is_int(nc_msr_reply_count(-1, 10, 0, 100), -EPROTO, "MSR reply: negative refused");
	is_int(nc_msr_reply_count(10, 10, 95, 100), -EPROTO,
	       "MSR reply: beyond the room of the output refused");
	is_int(nc_msr_reply_count(1, 10, 101, 100), -EPROTO,
	       "MSR reply: output already past its room refused");
}

static struct kvm_cpuid2 *cpuid_alloc(uint32_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	if (!c)
		exit(1);
	return c;
}

static void test_cpuid(void)
{
	struct nc_image img;
	struct kvm_cpuid2 *c = cpuid_alloc(256), *f;
	uint32_t n, i;

	/* KVM 6.1: 30 entries written into a prefilled 256-entry buffer, nent left at 256. */
	nc_cpuid_prefill(c, 256);
	for (i = 0; i < 30; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){ .function = i < 20 ? i : 0x80000000 + i - 20,
							   .eax = i * 7 };
	c->entries[29] = (struct kvm_cpuid_entry2){ 0 };	/* an all-zero last entry is still one */
	is_int(nc_cpuid_count(c, 256), 30, "CPUID count: the entries KVM wrote (6.1 leaves nent 256)");
	c->nent = 30;
	is_int(nc_cpuid_count(c, 256), 30, "CPUID count: a kernel reporting the count");
	c->nent = 1000;
	is_int(nc_cpuid_count(c, 256), 30, "CPUID count: never beyond the room");
	nc_cpuid_prefill(c, 256);
	is_int(nc_cpuid_count(c, 256), 0, "CPUID count: no CPUID set");

	/* An older image: 30 real entries then 226 all-zero padding ones. */
	f = cpuid_alloc(256);
	f->nent = 256;
	for (i = 0; i < 30; i++)
		f->entries[i] = (struct kvm_cpuid_entry2){ .function = i ? 0x80000000 + i : 0, .ebx = 1 };
	n = nc_cpuid_trim(f);
	is_int(n, 30, "CPUID trim: the padding of an older image dropped");
	ok(f->entries[0].function == 0 && f->entries[29].function == 0x8000001d,
	   "CPUID trim: the real entries kept in order");
	n = nc_cpuid_trim(f);
	is_int(n, 30, "CPUID trim: idempotent");
	free(f);

	/*
	 * The SVM fixture was read by nestvmm into a 64-entry buffer on 6.1:
	 * it carries the same padding.  Trimmed, the non-zero entries remain.
	 */
	fixture_load(FIXTURE_SVM, &img);
	f = img.vms[0].vcpus[0].cpuid;
	for (i = 0, n = 0; i < f->nent; i++) {
		static const struct kvm_cpuid_entry2 zero;

		n += !!memcmp(&f->entries[i], &zero, sizeof(zero));
	}
	is_int(f->nent, 64, "CPUID trim: the SVM fixture holds 64 entries as captured");
	is_int(nc_cpuid_trim(f), n, "CPUID trim: the SVM fixture keeps its non-zero entries");
	ok(n < 64 && f->entries[f->nent - 1].function != 0,
	   "CPUID trim: no padding left at the end of the SVM fixture");
	for (i = 0; i < f->nent && f->entries[i].function != 0x8000000a; i++)
		;
	ok(i < f->nent, "CPUID trim: leaf 0x8000000A kept");
	nc_image_free(&img);
	free(c);
}

int main(void)
{
	test_msr_plan();
	test_msr_reply_count();
	test_cpuid();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_trust_bounds: the module's trust-boundary arithmetic
 * (module/trust_bounds.h, the very header trust.c compiles) on the host:
 * argument lengths from header counts, and the bounds on what KVM leaves
 * in the bounce buffer.  The values a racing thread or a scribbling VMM
 * could put there are the edge cases below.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "tap.h"
#include "../../module/trust_bounds.h"

#define MAXB	(256u << 10)	/* the module's bounce buffer */

static int len_of(enum nck_arg_kind kind, uint32_t ioc, uint32_t count,
		  uint64_t ulen, size_t *len)
{
	*len = 0xdead;
	return nck_arg_len(kind, ioc, count, ulen, MAXB, len);
}

static void arg_lengths(void)
{
	size_t len, msr = sizeof(struct kvm_msr_entry), cpuid = sizeof(struct kvm_cpuid_entry2);
	size_t ns = sizeof(struct kvm_nested_state);

	/* Fixed: _IOC_SIZE, the caller must offer at least that. */
	is_int(len_of(NCK_ARG_FIXED, sizeof(struct kvm_regs), 0, sizeof(struct kvm_regs), &len), 0,
	       "fixed: exact length accepted");
	is_int(len, sizeof(struct kvm_regs), "fixed: length is _IOC_SIZE");
	is_int(len_of(NCK_ARG_FIXED, sizeof(struct kvm_regs), 0, 4096, &len), 0,
	       "fixed: longer buffer accepted");
	is_int(len, sizeof(struct kvm_regs), "fixed: length stays _IOC_SIZE with a longer buffer");
	is_int(len_of(NCK_ARG_FIXED, sizeof(struct kvm_regs), 0, sizeof(struct kvm_regs) - 1, &len),
	       -EINVAL, "fixed: short buffer refused");

	/* Value: no memory at all. */
	is_int(len_of(NCK_ARG_VALUE, 0, 0, 0, &len), 0, "value: accepted");
	is_int(len, 0, "value: length 0");

	/* MSRs: header + nmsrs entries, nmsrs bounded. */
	is_int(len_of(NCK_ARG_MSRS, 0, 0, 8, &len), 0, "msrs: zero entries accepted");
	is_int(len, sizeof(struct kvm_msrs), "msrs: zero entries is the header");
	is_int(len_of(NCK_ARG_MSRS, 0, 3, 8 + 3 * msr, &len), 0, "msrs: 3 entries accepted");
	is_int(len, 8 + 3 * msr, "msrs: 3 entries length");
	is_int(len_of(NCK_ARG_MSRS, 0, 3, 8 + 3 * msr - 1, &len), -EINVAL,
	       "msrs: buffer one byte short of nmsrs refused");
	is_int(len_of(NCK_ARG_MSRS, 0, NESTCKPT_MAX_MSRS, MAXB, &len), 0, "msrs: NESTCKPT_MAX_MSRS accepted");
	is_int(len_of(NCK_ARG_MSRS, 0, NESTCKPT_MAX_MSRS + 1, MAXB, &len), -E2BIG,
	       "msrs: NESTCKPT_MAX_MSRS + 1 refused");
	is_int(len_of(NCK_ARG_MSRS, 0, 0xffffffffu, UINT64_MAX, &len), -E2BIG,
	       "msrs: nmsrs 2^32-1 refused (no wrap)");
	is_int(len_of(NCK_ARG_MSRS, 0, 0, 7, &len), -EINVAL, "msrs: shorter than the header refused");

	/* CPUID2: header + nent entries, nent bounded. */
	is_int(len_of(NCK_ARG_CPUID2, 0, 2, 8 + 2 * cpuid, &len), 0, "cpuid2: 2 entries accepted");
	is_int(len, 8 + 2 * cpuid, "cpuid2: 2 entries length");
	is_int(len_of(NCK_ARG_CPUID2, 0, NCK_MAX_CPUID_ENTRIES + 1, MAXB, &len), -E2BIG,
	       "cpuid2: more than 256 entries refused");
	is_int(len_of(NCK_ARG_CPUID2, 0, 0x80000000u, UINT64_MAX, &len), -E2BIG,
	       "cpuid2: nent 2^31 refused (no wrap)");

	/* Nested state: .size bytes, at least the header, within the buffer. */
	is_int(len_of(NCK_ARG_NESTED, 0, 4224, 8320, &len), 0, "nested: size 4224 in 8320 accepted");
	is_int(len, 4224, "nested: length is .size, not the buffer's");
	is_int(len_of(NCK_ARG_NESTED, 0, ns - 1, 8320, &len), -EINVAL, "nested: size below the header refused");
	is_int(len_of(NCK_ARG_NESTED, 0, 0, 8320, &len), -EINVAL, "nested: size 0 refused");
	is_int(len_of(NCK_ARG_NESTED, 0, 8321, 8320, &len), -EINVAL, "nested: size above the buffer refused");
	is_int(len_of(NCK_ARG_NESTED, 0, 0xffffffffu, 0xffffffffu, &len), -E2BIG,
	       "nested: size 2^32-1 refused (above the bounce buffer)");
	is_int(len_of(NCK_ARG_NESTED, 0, MAXB, MAXB, &len), 0, "nested: the whole bounce buffer accepted");

	/* XSAVE: the caller's length, at least struct kvm_xsave, within the bounce. */
	is_int(len_of(NCK_ARG_XSAVE, 0, 0, sizeof(struct kvm_xsave), &len), 0, "xsave: 4096 accepted");
	is_int(len_of(NCK_ARG_XSAVE, 0, 0, sizeof(struct kvm_xsave) - 1, &len), -EINVAL,
	       "xsave: shorter than struct kvm_xsave refused");
	is_int(len_of(NCK_ARG_XSAVE, 0, 0, MAXB + 1, &len), -E2BIG, "xsave: above the bounce buffer refused");

	is_int(len_of((enum nck_arg_kind)99, 0, 0, 100, &len), -EINVAL, "unknown shape refused");
	is_int(len, 0xdead, "a refused argument leaves the length alone");
}

static void headers(void)
{
	struct kvm_nested_state ns = { .size = 4224 };
	struct kvm_msrs m = { .nmsrs = 7 };
	struct kvm_cpuid2 c = { .nent = 9 };

	is_int(nck_arg_hdr_len(NCK_ARG_NESTED), sizeof(struct kvm_nested_state), "nested header length");
	is_int(nck_arg_hdr_len(NCK_ARG_MSRS), 8, "msrs header length");
	is_int(nck_arg_hdr_len(NCK_ARG_FIXED), 0, "fixed: no header copied first");
	is_int(nck_arg_count(NCK_ARG_NESTED, &ns), 4224, "nested count is .size");
	is_int(nck_arg_count(NCK_ARG_MSRS, &m), 7, "msrs count is .nmsrs");
	is_int(nck_arg_count(NCK_ARG_CPUID2, &c), 9, "cpuid2 count is .nent");
}

static void replies(void)
{
	/* KVM counts from the nmsrs it read in the bounce: maybe raised. */
	is_int(nck_reply_entries(10, 10), 10, "msrs reply: all done");
	is_int(nck_reply_entries(10, 3), 3, "msrs reply: stopped early");
	is_int(nck_reply_entries(10, 255), 10, "msrs reply: more than asked is clamped");
	is_int(nck_reply_entries(0, 1), 0, "msrs reply: none asked, none taken");
	is_int(nck_reply_entries(10, -EINVAL), -EINVAL, "msrs reply: errors pass");

	ok(nck_nested_reply_ok(4224, 8320), "nested reply: 4224 of 8320");
	ok(nck_nested_reply_ok(8320, 8320), "nested reply: exactly what was passed");
	ok(!nck_nested_reply_ok(8321, 8320), "nested reply: more than passed refused");
	ok(!nck_nested_reply_ok(0xffffffffu, 8320), "nested reply: 2^32-1 refused");
	ok(!nck_nested_reply_ok(127, 8320), "nested reply: below the header refused");
	ok(nck_cpuid_reply_ok(5, 5), "cpuid reply: as many as room");
	ok(!nck_cpuid_reply_ok(6, 5), "cpuid reply: more than room refused");
}

int main(void)
{
	arg_lengths();
	headers();
	replies();
	return tap_done();
}

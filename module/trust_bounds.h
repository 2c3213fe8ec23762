/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arithmetic of the trust boundary (trust.c), kept free of kernel
 * services so that tests/unit/test_trust_bounds.c checks the very same code
 * on the host.  Every function takes values already copied into memory the
 * caller owns; none reads user memory.
 */
#ifndef NCK_TRUST_BOUNDS_H
#define NCK_TRUST_BOUNDS_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/stddef.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#endif
#include <linux/kvm.h>

#include "nestckpt.h"

/* The shapes of the KVM arguments an op may carry. */
enum nck_arg_kind {
	NCK_ARG_FIXED,		/* _IOC_SIZE(cmd) bytes */
	NCK_ARG_VALUE,		/* no memory: the argument is a value */
	NCK_ARG_MSRS,		/* struct kvm_msrs + nmsrs entries */
	NCK_ARG_CPUID2,		/* struct kvm_cpuid2 + nent entries */
	NCK_ARG_NESTED,		/* struct kvm_nested_state, .size bytes */
	NCK_ARG_XSAVE,		/* at least struct kvm_xsave, caller's length */
};

/* KVM itself refuses more (KVM_MAX_CPUID_ENTRIES). */
#define NCK_MAX_CPUID_ENTRIES	256

/* Bytes of the header that holds the count, copied in before the rest. */
static inline size_t nck_arg_hdr_len(enum nck_arg_kind kind)
{
	switch (kind) {
	case NCK_ARG_MSRS:
		return sizeof(struct kvm_msrs);
	case NCK_ARG_CPUID2:
		return sizeof(struct kvm_cpuid2);
	case NCK_ARG_NESTED:
		return sizeof(struct kvm_nested_state);
	default:
		return 0;
	}
}

/* The count in a header of @kind that the caller holds in its own memory. */
static inline uint32_t nck_arg_count(enum nck_arg_kind kind, const void *hdr)
{
	switch (kind) {
	case NCK_ARG_MSRS:
		return ((const struct kvm_msrs *)hdr)->nmsrs;
	case NCK_ARG_CPUID2:
		return ((const struct kvm_cpuid2 *)hdr)->nent;
	case NCK_ARG_NESTED:
		return ((const struct kvm_nested_state *)hdr)->size;
	default:
		return 0;
	}
}

/*
 * How many bytes an argument of @kind takes (into *@len): @ioc_size is
 * _IOC_SIZE of the request, @count the header's count, @ulen what the
 * caller offers, @max what the bounce buffer holds.  0 or a negative errno.
 */
static inline int nck_arg_len(enum nck_arg_kind kind, uint32_t ioc_size,
			      uint32_t count, uint64_t ulen, uint64_t max,
			      size_t *len)
{
	uint64_t n;

	switch (kind) {
	case NCK_ARG_VALUE:
		*len = 0;
		return 0;
	case NCK_ARG_FIXED:
		n = ioc_size;
		break;
	case NCK_ARG_MSRS:
		if (count > NESTCKPT_MAX_MSRS)
			return -E2BIG;
		n = sizeof(struct kvm_msrs) +
		    (uint64_t)count * sizeof(struct kvm_msr_entry);
		break;
	case NCK_ARG_CPUID2:
		if (count > NCK_MAX_CPUID_ENTRIES)
			return -E2BIG;
		n = sizeof(struct kvm_cpuid2) +
		    (uint64_t)count * sizeof(struct kvm_cpuid_entry2);
		break;
	case NCK_ARG_NESTED:
		if (count < sizeof(struct kvm_nested_state))
			return -EINVAL;
		n = count;
		break;
	case NCK_ARG_XSAVE:
		if (ulen < sizeof(struct kvm_xsave))
			return -EINVAL;
		n = ulen;
		break;
	default:
		return -EINVAL;
	}
	if (n < nck_arg_hdr_len(kind) || n > ulen)
		return -EINVAL;
	if (n > max)
		return -E2BIG;
	*len = (size_t)n;
	return 0;
}

/*
 * KVM_GET/SET_MSRS return how many entries KVM processed, counted from the
 * nmsrs KVM read in the bounce buffer, which the VMM may have raised: never
 * more than the module asked for.
 */
static inline long nck_reply_entries(uint32_t asked, long done)
{
	if (done < 0)
		return done;
	return done > (long)asked ? (long)asked : done;
}

/* A size KVM_GET_NESTED_STATE left in the bounce: a header, within what was passed. */
static inline int nck_nested_reply_ok(uint32_t size, size_t passed)
{
	return size >= sizeof(struct kvm_nested_state) && size <= passed;
}

/* A count KVM_GET_CPUID2 left in the bounce: no more than the room given. */
static inline int nck_cpuid_reply_ok(uint32_t nent, uint32_t asked)
{
	return nent <= asked;
}

#endif /* NCK_TRUST_BOUNDS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure rules for putting a vCPU back as KVM accepts it (msr_plan.c,
 * cpuid_count.c), kept apart from the ioctls so the unit tests can run them.
 */
#ifndef NC_VCPU_RULES_H
#define NC_VCPU_RULES_H

#include <stdint.h>
#include <linux/kvm.h>

/* "MSR_KVM_ASYNC_PF_INT" and the like, or NULL for an MSR without a name here. */
const char *nc_msr_name(uint32_t index);

/*
 * The writes a restore makes: every entry of @want (@n_want) except those the
 * vCPU already holds with the same value (@held, @n_held, as KVM_GET_MSRS just
 * returned them), in @want's order, into @out (room for @n_want).  Returns the
 * count.  A value a vCPU already holds needs no write; this also keeps MSRs
 * KVM lists but refuses to write in some VM configurations (e.g.
 * MSR_KVM_ASYNC_PF_INT without an in-kernel LAPIC) out of the way as long as
 * they carry nothing, and leaves any refusal to one that carries real state.
 */
uint32_t nc_msr_plan(const struct kvm_msr_entry *want, uint32_t n_want,
		     const struct kvm_msr_entry *held, uint32_t n_held,
		     struct kvm_msr_entry *out);

/*
 * How many entries a KVM_GET_MSRS reply of @result holds, when @asked were
 * asked for and @stored of @room output entries are already used: the
 * reply is trusted only within both (the buffer it came in passed through
 * the VMM's memory); -EPROTO otherwise.
 */
int nc_msr_reply_count(int64_t result, uint32_t asked, uint32_t stored,
		       uint32_t room);

/*
 * KVM_GET_CPUID2 on 6.1 leaves nent as the caller passed it when the buffer
 * was large enough (it reports the count only with E2BIG), so a read into a
 * 256-entry buffer says 256.  The reader prefills every entry with
 * nc_cpuid_prefill(); nc_cpuid_count() then gives the entries KVM wrote:
 * at most the nent it reported (newer kernels: the real count), up to the
 * last entry that is not the fill pattern.  @cap is the allocated room.
 */
void nc_cpuid_prefill(struct kvm_cpuid2 *c, uint32_t cap);
uint32_t nc_cpuid_count(const struct kvm_cpuid2 *c, uint32_t cap);
/*
 * Drop the padding of images written before that: all-zero entries after the
 * first (KVM finds the first match of a leaf, so a later duplicate of leaf 0
 * is never seen).  Returns the new nent.
 */
uint32_t nc_cpuid_trim(struct kvm_cpuid2 *c);

#endif

// SPDX-License-Identifier: GPL-2.0
/* Which MSRs a restore writes, and what they are called in its errors. */
#include <errno.h>
#include <stddef.h>

#include "vcpu_rules.h"

static const struct {
	uint32_t index;
	const char *name;
} msr_names[] = {
	{ 0x10, "IA32_TSC" }, { 0x1b, "IA32_APIC_BASE" },
	{ 0x3a, "IA32_FEATURE_CONTROL" }, { 0x3b, "IA32_TSC_ADJUST" },
	{ 0x48, "IA32_SPEC_CTRL" }, { 0x9e, "IA32_SMBASE" },
	{ 0x10a, "IA32_ARCH_CAPABILITIES" }, { 0x174, "IA32_SYSENTER_CS" },
	{ 0x175, "IA32_SYSENTER_ESP" }, { 0x176, "IA32_SYSENTER_EIP" },
	{ 0x179, "IA32_MCG_CAP" }, { 0x17a, "IA32_MCG_STATUS" },
	{ 0x17b, "IA32_MCG_CTL" }, { 0x1a0, "IA32_MISC_ENABLE" },
	{ 0x1d9, "IA32_DEBUGCTL" }, { 0x277, "IA32_PAT" },
	{ 0x6e0, "IA32_TSC_DEADLINE" }, { 0xda0, "IA32_XSS" },
	{ 0xe1, "IA32_UMWAIT_CONTROL" },
	{ 0x480, "IA32_VMX_BASIC" }, { 0x481, "IA32_VMX_PINBASED_CTLS" },
	{ 0x482, "IA32_VMX_PROCBASED_CTLS" }, { 0x483, "IA32_VMX_EXIT_CTLS" },
	{ 0x484, "IA32_VMX_ENTRY_CTLS" }, { 0x485, "IA32_VMX_MISC" },
	{ 0x486, "IA32_VMX_CR0_FIXED0" }, { 0x487, "IA32_VMX_CR0_FIXED1" },
	{ 0x488, "IA32_VMX_CR4_FIXED0" }, { 0x489, "IA32_VMX_CR4_FIXED1" },
	{ 0x48a, "IA32_VMX_VMCS_ENUM" }, { 0x48b, "IA32_VMX_PROCBASED_CTLS2" },
	{ 0x48c, "IA32_VMX_EPT_VPID_CAP" }, { 0x48d, "IA32_VMX_TRUE_PINBASED_CTLS" },
	{ 0x48e, "IA32_VMX_TRUE_PROCBASED_CTLS" }, { 0x48f, "IA32_VMX_TRUE_EXIT_CTLS" },
	{ 0x490, "IA32_VMX_TRUE_ENTRY_CTLS" }, { 0x491, "IA32_VMX_VMFUNC" },
	{ 0x11, "MSR_KVM_WALL_CLOCK" }, { 0x12, "MSR_KVM_SYSTEM_TIME" },
	{ 0x4b564d00, "MSR_KVM_WALL_CLOCK_NEW" },
	{ 0x4b564d01, "MSR_KVM_SYSTEM_TIME_NEW" },
	{ 0x4b564d02, "MSR_KVM_ASYNC_PF_EN" }, { 0x4b564d03, "MSR_KVM_STEAL_TIME" },
	{ 0x4b564d04, "MSR_KVM_PV_EOI_EN" }, { 0x4b564d05, "MSR_KVM_POLL_CONTROL" },
	{ 0x4b564d06, "MSR_KVM_ASYNC_PF_INT" }, { 0x4b564d07, "MSR_KVM_ASYNC_PF_ACK" },
	{ 0x4b564d08, "MSR_KVM_MIGRATION_CONTROL" },
	{ 0xc0000080, "IA32_EFER" }, { 0xc0000081, "IA32_STAR" },
	{ 0xc0000082, "IA32_LSTAR" }, { 0xc0000083, "IA32_CSTAR" },
	{ 0xc0000084, "IA32_FMASK" }, { 0xc0000100, "IA32_FS_BASE" },
	{ 0xc0000101, "IA32_GS_BASE" }, { 0xc0000102, "IA32_KERNEL_GS_BASE" },
	{ 0xc0000103, "IA32_TSC_AUX" }, { 0xc0010114, "MSR_VM_CR" },
	{ 0xc0010117, "MSR_VM_HSAVE_PA" }, { 0xc001011f, "MSR_AMD64_VIRT_SPEC_CTRL" },
};

const char *nc_msr_name(uint32_t index)
{
	size_t i;

	for (i = 0; i < sizeof(msr_names) / sizeof(msr_names[0]); i++)
		if (msr_names[i].index == index)
			return msr_names[i].name;
	return NULL;
}

uint32_t nc_msr_plan(const struct kvm_msr_entry *want, uint32_t n_want,
		     const struct kvm_msr_entry *held, uint32_t n_held,
		     struct kvm_msr_entry *out)
{
	uint32_t i, j, n = 0;

	for (i = 0; i < n_want; i++) {
		for (j = 0; j < n_held; j++)
			if (held[j].index == want[i].index)
				break;
		if (j < n_held && held[j].data == want[i].data)
			continue;
		out[n++] = want[i];
	}
	return n;
}

int nc_msr_reply_count(int64_t result, uint32_t asked, uint32_t stored,
		       uint32_t room)
{
	if (result < 0 || result > asked || stored > room ||
	    (uint64_t)result > room - stored)
		return -EPROTO;
	return (int)result;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): struct kvm_arch keeps the exits a VMM
 * disabled (KVM_CAP_X86_DISABLE_EXITS) as one mask of the capability's
 * bits (7.x), not as one bool per exit.
 */
#include <linux/build_bug.h>
#include <linux/kvm_host.h>

void nck_conftest(struct kvm *kvm);
void nck_conftest(struct kvm *kvm)
{
	BUILD_BUG_ON(!__builtin_types_compatible_p(typeof(kvm->arch.disabled_exits), u64));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): KVM runs its NX-huge-page recovery
 * worker as a kernel thread outside the VMM (up to 6.12.1, e.g. 6.1).
 */
#include <linux/build_bug.h>
#include <linux/kvm_host.h>

void nck_conftest(struct kvm *kvm);
void nck_conftest(struct kvm *kvm)
{
	BUILD_BUG_ON(!__builtin_types_compatible_p(
		typeof(kvm->arch.nx_lpage_recovery_thread), struct task_struct *));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): KVM runs its NX-huge-page recovery
 * worker as a vhost task of the VMM, created at KVM_CREATE_VM with no
 * once-guard (6.12.2 - 6.12.13): nothing restarts it once stopped.
 */
#include <linux/build_bug.h>
#include <linux/kvm_host.h>

void nck_conftest(struct kvm *kvm);
void nck_conftest(struct kvm *kvm)
{
	BUILD_BUG_ON(!__builtin_types_compatible_p(
		typeof(kvm->arch.nx_huge_page_recovery_thread), struct vhost_task *));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): KVM starts its NX-huge-page recovery
 * worker lazily, as a vhost task of the VMM, through a once-guard in
 * struct kvm_arch (6.12.14+, 7.x).  Compiles only with that exact layout.
 */
#include <linux/build_bug.h>
#include <linux/call_once.h>
#include <linux/kvm_host.h>
#include <linux/sched/vhost_task.h>

#define nck_same(a, T)	__builtin_types_compatible_p(typeof(a), T)

void nck_conftest(struct kvm *kvm);
void nck_conftest(struct kvm *kvm)
{
	BUILD_BUG_ON(!nck_same(kvm->arch.nx_huge_page_recovery_thread,
			       struct vhost_task *));
	BUILD_BUG_ON(!nck_same(kvm->arch.nx_once, struct once));
	BUILD_BUG_ON(!nck_same(kvm->arch.nx_once.state, atomic_t));
	BUILD_BUG_ON(!nck_same(kvm->arch.nx_once.lock, struct mutex));
	BUILD_BUG_ON(ONCE_NOT_STARTED != 0 || ONCE_RUNNING != 1 ||
		     ONCE_COMPLETED != 2);
	vhost_task_stop(kvm->arch.nx_huge_page_recovery_thread);
}

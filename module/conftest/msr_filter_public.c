// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): struct kvm_x86_msr_filter, behind
 * kvm->arch.msr_filter, is defined in the kernel's headers (up to 6.12; 7.x
 * keeps it private to KVM's msrs.c).
 */
#include <linux/kvm_host.h>

unsigned long nck_conftest(void);
unsigned long nck_conftest(void)
{
	return sizeof(struct kvm_x86_msr_filter) + sizeof(struct msr_bitmap_range);
}

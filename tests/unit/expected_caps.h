/* SPDX-License-Identifier: GPL-2.0 */
/* The capability bits this tree's module claims: one place for every test. */
#ifndef NC_EXPECTED_CAPS_H
#define NC_EXPECTED_CAPS_H

#include "nestckpt.h"

#define NC_EXPECTED_CAPS \
	(NESTCKPT_CAP_INFO | NESTCKPT_CAP_FREEZE | NESTCKPT_CAP_STATUS | \
	 NESTCKPT_CAP_KVM_OP | NESTCKPT_CAP_VM_STATE | NESTCKPT_CAP_MAPS)

/*
 * Bits that describe the kernel the module was built for (where KVM runs
 * its NX recovery worker): at most one of them, beside the ones above.
 */
#define NC_KERNEL_CAPS	(NESTCKPT_CAP_NX_WORKER | NESTCKPT_CAP_NX_KTHREAD)
#define NC_CAPS_AS_EXPECTED(caps) \
	(((caps) & ~(unsigned long long)NC_KERNEL_CAPS) == NC_EXPECTED_CAPS && \
	 ((caps) & NC_KERNEL_CAPS) != NC_KERNEL_CAPS)

#endif

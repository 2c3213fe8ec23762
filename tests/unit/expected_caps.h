/* SPDX-License-Identifier: GPL-2.0 */
/* The capability bits this tree's module claims: one place for every test. */
#ifndef NC_EXPECTED_CAPS_H
#define NC_EXPECTED_CAPS_H

#include "nestckpt.h"

#define NC_EXPECTED_CAPS \
	(NESTCKPT_CAP_INFO | NESTCKPT_CAP_FREEZE | NESTCKPT_CAP_STATUS | \
	 NESTCKPT_CAP_KVM_OP | NESTCKPT_CAP_VM_STATE | NESTCKPT_CAP_MAPS)

#endif

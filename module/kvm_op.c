// SPDX-License-Identifier: GPL-2.0
/*
 * Running KVM's state ioctls on a VMM's files from inside the VMM.
 *
 * KVM refuses VM and vCPU ioctls from any mm but the VMM's, and takes its
 * arguments from user memory.  Ops run in the VMM's mm (exec.c) and call
 * the file's ioctl handler with a bounce buffer mapped in that mm for the
 * duration of the op.  Which requests are let through, the shapes of their
 * arguments, and what is read back from the bounce buffer are trust.c's.
 *
 * A vCPU taken out of L2 answers with its L2 state (nested.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kvm.h>

#include "nck.h"

long nck_op_generic(struct nck_exec *ex, struct nck_op *op)
{
	struct nck_vcpu *v = op->vcpu;
	bool handled = false;
	long ret;

	if (!op->kbuf && !op->len)
		return op->file->f_op->unlocked_ioctl(op->file, op->cmd,
						      op->value);
	/* A vCPU taken out of L2 shows the L2 state the VMM would read. */
	if (v && v->in_l2) {
		ret = nck_view_l2(v, op->cmd, op->kbuf, op->len, &handled);
		if (handled)
			return ret;
	}
	ret = nck_kvm_call(ex, op->file, op->cmd, op->kbuf, op->len);
	if (v && v->in_l2 && op->cmd == KVM_GET_MSRS && ret > 0)
		nck_view_patch_msrs(v, op->kbuf, ret);
	return ret;
}

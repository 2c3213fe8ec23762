// SPDX-License-Identifier: GPL-2.0
/*
 * Running KVM's state ioctls on a VMM's files from inside the VMM.
 *
 * KVM refuses VM and vCPU ioctls from any mm but the VMM's, and takes its
 * arguments from user memory.  Ops run in the VMM's mm (exec.c) and call
 * the file's ioctl handler with a bounce buffer mapped in that mm for the
 * duration of the op.
 *
 * Only the state ioctls below are let through; their argument sizes are
 * checked here, before anything reaches KVM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#include "nck.h"

enum nck_arg_kind {
	NCK_ARG_FIXED,		/* _IOC_SIZE(cmd) bytes */
	NCK_ARG_VALUE,		/* no memory: the argument is a value */
	NCK_ARG_MSRS,		/* struct kvm_msrs + nmsrs entries */
	NCK_ARG_CPUID2,		/* struct kvm_cpuid2 + nent entries */
	NCK_ARG_NESTED,		/* struct kvm_nested_state, .size bytes */
	NCK_ARG_XSAVE,		/* at least struct kvm_xsave, caller's length */
};

struct nck_kvm_req {
	unsigned int cmd;
	bool vcpu;		/* vCPU ioctl, else VM ioctl */
	enum nck_arg_kind kind;
};

static const struct nck_kvm_req nck_kvm_reqs[] = {
	{ KVM_GET_REGS, true, NCK_ARG_FIXED },
	{ KVM_SET_REGS, true, NCK_ARG_FIXED },
	{ KVM_GET_SREGS, true, NCK_ARG_FIXED },
	{ KVM_SET_SREGS, true, NCK_ARG_FIXED },
	{ KVM_GET_SREGS2, true, NCK_ARG_FIXED },
	{ KVM_SET_SREGS2, true, NCK_ARG_FIXED },
	{ KVM_GET_FPU, true, NCK_ARG_FIXED },
	{ KVM_SET_FPU, true, NCK_ARG_FIXED },
	{ KVM_GET_XSAVE, true, NCK_ARG_FIXED },
	{ KVM_GET_XSAVE2, true, NCK_ARG_XSAVE },
	{ KVM_SET_XSAVE, true, NCK_ARG_XSAVE },
	{ KVM_GET_XCRS, true, NCK_ARG_FIXED },
	{ KVM_SET_XCRS, true, NCK_ARG_FIXED },
	{ KVM_GET_MSRS, true, NCK_ARG_MSRS },
	{ KVM_SET_MSRS, true, NCK_ARG_MSRS },
	{ KVM_GET_LAPIC, true, NCK_ARG_FIXED },
	{ KVM_SET_LAPIC, true, NCK_ARG_FIXED },
	{ KVM_GET_VCPU_EVENTS, true, NCK_ARG_FIXED },
	{ KVM_SET_VCPU_EVENTS, true, NCK_ARG_FIXED },
	{ KVM_GET_DEBUGREGS, true, NCK_ARG_FIXED },
	{ KVM_SET_DEBUGREGS, true, NCK_ARG_FIXED },
	{ KVM_GET_MP_STATE, true, NCK_ARG_FIXED },
	{ KVM_SET_MP_STATE, true, NCK_ARG_FIXED },
	{ KVM_GET_CPUID2, true, NCK_ARG_CPUID2 },
	{ KVM_SET_CPUID2, true, NCK_ARG_CPUID2 },
	{ KVM_GET_TSC_KHZ, true, NCK_ARG_VALUE },
	{ KVM_SET_TSC_KHZ, true, NCK_ARG_VALUE },
	{ KVM_GET_NESTED_STATE, true, NCK_ARG_NESTED },
	{ KVM_SET_NESTED_STATE, true, NCK_ARG_NESTED },
	{ KVM_GET_CLOCK, false, NCK_ARG_FIXED },
	{ KVM_SET_CLOCK, false, NCK_ARG_FIXED },
	{ KVM_GET_IRQCHIP, false, NCK_ARG_FIXED },
	{ KVM_SET_IRQCHIP, false, NCK_ARG_FIXED },
	{ KVM_GET_PIT2, false, NCK_ARG_FIXED },
	{ KVM_SET_PIT2, false, NCK_ARG_FIXED },
	{ KVM_CHECK_EXTENSION, false, NCK_ARG_VALUE },
};

#define NCK_MAX_CPUID_ENTRIES	256

/*
 * Validate @cmd for a vCPU (@is_vcpu) or VM target and work out how many
 * bytes of the caller's @ubuf (@ulen long) it takes.
 */
int nck_kvm_op_size(unsigned int cmd, bool is_vcpu, const void __user *ubuf,
		    u32 ulen, size_t *len, bool *by_value)
{
	const struct nck_kvm_req *req = NULL;
	u32 n;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nck_kvm_reqs); i++)
		if (nck_kvm_reqs[i].cmd == cmd)
			req = &nck_kvm_reqs[i];
	if (!req)
		return -EOPNOTSUPP;
	if (req->vcpu != is_vcpu)
		return -EINVAL;

	*by_value = req->kind == NCK_ARG_VALUE;
	switch (req->kind) {
	case NCK_ARG_VALUE:
		*len = 0;
		return 0;
	case NCK_ARG_FIXED:
		*len = _IOC_SIZE(cmd);
		break;
	case NCK_ARG_MSRS:
		if (ulen < sizeof(struct kvm_msrs) || get_user(n, (u32 __user *)ubuf))
			return ulen < sizeof(struct kvm_msrs) ? -EINVAL : -EFAULT;
		if (n > NESTCKPT_MAX_MSRS)
			return -E2BIG;
		*len = struct_size((struct kvm_msrs *)NULL, entries, n);
		break;
	case NCK_ARG_CPUID2:
		if (ulen < sizeof(struct kvm_cpuid2) || get_user(n, (u32 __user *)ubuf))
			return ulen < sizeof(struct kvm_cpuid2) ? -EINVAL : -EFAULT;
		if (n > NCK_MAX_CPUID_ENTRIES)
			return -E2BIG;
		*len = struct_size((struct kvm_cpuid2 *)NULL, entries, n);
		break;
	case NCK_ARG_NESTED:
		if (ulen < sizeof(struct kvm_nested_state) ||
		    get_user(n, (u32 __user *)(ubuf + offsetof(struct kvm_nested_state, size))))
			return ulen < sizeof(struct kvm_nested_state) ? -EINVAL : -EFAULT;
		if (n < sizeof(struct kvm_nested_state))
			return -EINVAL;
		*len = n;
		break;
	case NCK_ARG_XSAVE:
		if (ulen < sizeof(struct kvm_xsave))
			return -EINVAL;
		*len = ulen;
		break;
	}
	if (*len > ulen)
		return -EINVAL;
	if (*len > NCK_BOUNCE_SIZE)
		return -E2BIG;
	return 0;
}

/*
 * Call KVM's ioctl @cmd on @file with @kbuf (@len bytes, in and out) passed
 * through the op's bounce buffer, mapped on first use.  Runs in the VMM's mm.
 */
long nck_kvm_call(struct nck_exec *ex, struct file *file, unsigned int cmd,
		  void *kbuf, size_t len)
{
	void __user *ubuf;
	long ret;

	if (len > NCK_BOUNCE_SIZE)
		return -E2BIG;
	if (!ex->bounce) {
		unsigned long addr = vm_mmap(NULL, 0, NCK_BOUNCE_SIZE,
					     PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS |
					     MAP_NORESERVE, 0);

		if (IS_ERR_VALUE(addr))
			return (long)addr;
		ex->bounce = addr;
	}
	ubuf = (void __user *)ex->bounce;
	if (len && copy_to_user(ubuf, kbuf, len))
		return -EFAULT;
	ret = file->f_op->unlocked_ioctl(file, cmd, (unsigned long)ubuf);
	/* Also on failure: KVM reports sizes it needs in the argument. */
	if (len && copy_from_user(kbuf, ubuf, len) && ret >= 0)
		return -EFAULT;
	return ret;
}

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

// SPDX-License-Identifier: GPL-2.0
/*
 * nestckpt: checkpoint/restore support for KVM VMM processes, including
 * nested (L1 hypervisor + L2) guests.
 *
 * This file: the /dev/nestckpt character device, its capability check at
 * open and the ioctl dispatch.  Every request that names a VMM checks ptrace
 * rights over it through the module's own proc mount, and every request
 * that changes one needs a writable fd and a capable caller (access.c).
 * Freezing is in freeze.c and park.c, KVM calls in kvm_op.c, the L2 exit
 * and re-entry in nested.c, vmx.c and svm.c.  The ABI is described in
 * uapi/nestckpt.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <asm/cpufeature.h>

#include "nck.h"

/* The layout is part of the ABI: catch accidental changes at build time. */
static_assert(sizeof(struct nestckpt_info) == NESTCKPT_INFO_SIZE_VER0);
static_assert(offsetof(struct nestckpt_info, size) == 0);
static_assert(offsetof(struct nestckpt_info, flags) == 4);
static_assert(offsetof(struct nestckpt_info, abi_major) == 8);
static_assert(offsetof(struct nestckpt_info, abi_minor) == 10);
static_assert(offsetof(struct nestckpt_info, vendor) == 12);
static_assert(offsetof(struct nestckpt_info, caps) == 16);
static_assert(offsetof(struct nestckpt_info, version_code) == 24);
static_assert(offsetof(struct nestckpt_info, reserved0) == 28);
static_assert(offsetof(struct nestckpt_info, version) == 32);
static_assert(sizeof(NESTCKPT_MODULE_VERSION) <= NESTCKPT_VERSION_LEN);
static_assert(NESTCKPT_MODULE_VERSION_MINOR <= 0xff &&
	      NESTCKPT_MODULE_VERSION_PATCH <= 0xff);

/* Operations this build implements; see NESTCKPT_CAP_* in the uapi. */
#define NESTCKPT_CAPS_IMPLEMENTED	(NESTCKPT_CAP_INFO | NESTCKPT_CAP_FREEZE | \
					 NESTCKPT_CAP_STATUS | NESTCKPT_CAP_KVM_OP | \
					 NESTCKPT_CAP_VM_STATE | NESTCKPT_CAP_MAPS)

static u32 nestckpt_vendor(void)
{
	if (boot_cpu_has(X86_FEATURE_VMX))
		return NESTCKPT_VENDOR_VMX;
	if (boot_cpu_has(X86_FEATURE_SVM))
		return NESTCKPT_VENDOR_SVM;
	return NESTCKPT_VENDOR_NONE;
}

static long nestckpt_ioctl_get_info(void __user *uarg)
{
	struct nestckpt_info info;
	u32 usize;
	int ret;

	ret = nck_copy_in(&info, sizeof(info), NESTCKPT_INFO_SIZE_VER0,
			       uarg, &usize);
	if (ret)
		return ret;
	if (info.flags || info.reserved0)
		return -EINVAL;
	/* The output fields are not inputs: ignore whatever the caller left. */
	memset(&info, 0, sizeof(info));

	info.abi_major = NESTCKPT_ABI_MAJOR;
	info.abi_minor = NESTCKPT_ABI_MINOR;
	info.vendor = nestckpt_vendor();
	info.caps = NESTCKPT_CAPS_IMPLEMENTED | nck_nx_caps();
	info.version_code = NESTCKPT_VERSION_CODE(NESTCKPT_MODULE_VERSION_MAJOR,
						  NESTCKPT_MODULE_VERSION_MINOR,
						  NESTCKPT_MODULE_VERSION_PATCH);
	strscpy(info.version, NESTCKPT_MODULE_VERSION, sizeof(info.version));

	return nck_copy_out(uarg, &info, sizeof(info), usize);
}

static long nestckpt_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case NESTCKPT_IOC_GET_INFO:
		return nestckpt_ioctl_get_info(uarg);
	case NESTCKPT_IOC_FREEZE:
		ret = nck_may_change(file);
		return ret ?: nck_ioctl_freeze(file, uarg);
	case NESTCKPT_IOC_THAW:
		ret = nck_may_change(file);
		return ret ?: nck_ioctl_thaw(uarg);
	case NESTCKPT_IOC_STATUS:
		return nck_ioctl_status(uarg);
	case NESTCKPT_IOC_KVM_OP:
		return nck_ioctl_kvm_op(file, uarg);
	case NESTCKPT_IOC_VM_STATE:
		return nck_ioctl_vm_state(uarg);
	default:
		return -ENOTTY;
	}
}

/*
 * io_uring: IORING_OP_URING_CMD with cmd_op = an NESTCKPT_IOC_* request and
 * the first 8 bytes of the command area holding the user address of its
 * structure, exactly the ioctl's argument; the CQE carries the ioctl's
 * return.  The requests can block (they wait for parked threads), so the
 * inline, non-blocking issue is sent to io_uring's workers, which run many
 * at a time: per-vCPU operations on different vCPUs proceed in parallel.
 */
static int nestckpt_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
#if defined(NCK_URING_SQE_CMD_TYPED)
	const u64 *payload = io_uring_sqe_cmd(ioucmd->sqe, u64);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	const u64 *payload = io_uring_sqe_cmd(ioucmd->sqe);
#else
	const u64 *payload = ioucmd->cmd;
#endif

	if (issue_flags & IO_URING_F_NONBLOCK)
		return -EAGAIN;
	switch (ioucmd->cmd_op) {
	case NESTCKPT_IOC_GET_INFO:
	case NESTCKPT_IOC_STATUS:
	case NESTCKPT_IOC_KVM_OP:
	case NESTCKPT_IOC_VM_STATE:
		return nestckpt_ioctl(ioucmd->file, ioucmd->cmd_op,
				      (unsigned long)u64_to_user_ptr(READ_ONCE(*payload)));
	default:
		return -ENOTTY;
	}
}

#ifdef CONFIG_COMPAT
/* Every structure has the same layout for 32-bit callers. */
static long nestckpt_compat_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	return nestckpt_ioctl(file, cmd, (unsigned long)compat_ptr(arg));
}
#endif

static int nestckpt_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN) && !capable(CAP_CHECKPOINT_RESTORE))
		return -EPERM;
	return 0;
}

/*
 * A file serving a frozen VMM's vCPU pages holds its vCPU file; a file that
 * froze VMMs without NESTCKPT_FREEZE_DETACHED has them thawed.
 */
static int nestckpt_release(struct inode *inode, struct file *file)
{
	nck_freeze_owner_closed(file);
	nck_maps_release(file);
	return 0;
}

static const struct file_operations nestckpt_fops = {
	.owner		= THIS_MODULE,
	.open		= nestckpt_open,
	.release	= nestckpt_release,
	.mmap		= nck_maps_mmap,
	.unlocked_ioctl	= nestckpt_ioctl,
	.uring_cmd	= nestckpt_uring_cmd,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= nestckpt_compat_ioctl,
#endif
	.llseek		= noop_llseek,
};

struct miscdevice nck_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= NESTCKPT_DEVICE_NAME,
	.fops	= &nestckpt_fops,
	.mode	= 0600,
};

static int __init nestckpt_init(void)
{
	int ret;

	ret = nck_access_init();
	if (ret)
		return ret;
	ret = misc_register(&nck_miscdev);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", NESTCKPT_DEVICE_NAME, ret);
		nck_access_exit();
		return ret;
	}
	pr_info("version %s, ABI %u.%u\n", NESTCKPT_MODULE_VERSION,
		NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR);
	return 0;
}

static void __exit nestckpt_exit(void)
{
	misc_deregister(&nck_miscdev);
	nck_freeze_exit();
	nck_access_exit();
}

module_init(nestckpt_init);
module_exit(nestckpt_exit);

MODULE_DESCRIPTION("Checkpoint/restore of KVM VMMs with nested guests");
MODULE_LICENSE("GPL");
MODULE_VERSION(NESTCKPT_MODULE_VERSION);

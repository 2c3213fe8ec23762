/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nestckpt: kernel <-> userspace ABI of /dev/nestckpt.
 *
 * Rules every structure of this header follows:
 *
 *  - It starts with "__u32 size", set by the caller to the size of the
 *    structure as the caller knows it (sizeof() of its copy of this header).
 *  - Structures only ever grow at the tail.  A field added later must mean
 *    "old behaviour" when it is zero.
 *  - The kernel accepts a shorter structure from an older caller: the
 *    missing tail reads as zero (the defaults).
 *  - The kernel accepts a longer structure from a newer caller only if the
 *    part it does not know is all zero; otherwise the call fails with E2BIG
 *    (the semantics of the kernel's copy_struct_from_user()), and "size" is
 *    overwritten with the size the kernel implements, so the caller can
 *    retry with a structure it knows the kernel understands.
 *  - A size below the structure's first published size (NESTCKPT_*_SIZE_VER0)
 *    or above NESTCKPT_STRUCT_SIZE_MAX fails with EINVAL.
 *  - On success the kernel writes back min(caller size, kernel size) bytes
 *    and stores in "size" the size the kernel implements, so a caller learns
 *    which tail fields it did not receive (kernel size < caller size) or which
 *    fields it does not know about (kernel size > caller size).
 *  - Fields and flags marked "in: must be zero" fail with EINVAL otherwise.
 *  - Optional data is enumerated by flags; the kernel only produces a
 *    component when the caller asked for it by setting its flag, so an older
 *    restorer never receives data it cannot apply.
 *  - Only fixed-width types, explicit padding, no pointers (user addresses
 *    travel as __u64), identical layout for 32- and 64-bit callers.
 *
 * ioctl numbers: the size encoded in an ioctl number is the structure's
 * VER0 size and never changes when the structure grows; the real size is the
 * "size" field.  The kernel matches the whole command number.
 */
#ifndef _UAPI_NESTCKPT_H
#define _UAPI_NESTCKPT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define NESTCKPT_DEVICE_NAME	"nestckpt"
#define NESTCKPT_DEVICE_PATH	"/dev/nestckpt"

/*
 * ABI version.  The major changes only on an incompatible change (userspace
 * refuses a kernel with a different major); the minor grows when ioctls or
 * fields are added.  What a given kernel actually implements is told by
 * nestckpt_info.caps, not by the minor.
 */
#define NESTCKPT_ABI_MAJOR	1
#define NESTCKPT_ABI_MINOR	0

/* Largest structure size the kernel will ever look at. */
#define NESTCKPT_STRUCT_SIZE_MAX	4096

/* CPU virtualisation vendor the module drives (nestckpt_info.vendor). */
#define NESTCKPT_VENDOR_NONE	0
#define NESTCKPT_VENDOR_VMX	1	/* Intel VT-x */
#define NESTCKPT_VENDOR_SVM	2	/* AMD-V */

/*
 * Capabilities (nestckpt_info.caps): one bit per operation the running
 * module really implements.  Bits are assigned in order as features land;
 * a bit is never reused.  Userspace must test a bit before using the
 * operation it names and must ignore bits it does not know.
 */
#define NESTCKPT_CAP_INFO	(1ULL << 0)	/* NESTCKPT_IOC_GET_INFO */

/* Length of nestckpt_info.version, including the terminating NUL. */
#define NESTCKPT_VERSION_LEN	32

/* NESTCKPT_IOC_GET_INFO: identify the module and what it can do. */
struct nestckpt_info {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: must be zero; out: zero (none defined) */
	__u16 abi_major;	/* out: NESTCKPT_ABI_MAJOR of the module */
	__u16 abi_minor;	/* out: NESTCKPT_ABI_MINOR of the module */
	__u32 vendor;		/* out: NESTCKPT_VENDOR_* */
	__u64 caps;		/* out: NESTCKPT_CAP_* */
	__u32 version_code;	/* out: module version, NESTCKPT_VERSION_CODE() */
	__u32 reserved0;	/* in: must be zero; out: zero */
	char version[NESTCKPT_VERSION_LEN]; /* out: e.g. "0.1.0", NUL-terminated */
};

#define NESTCKPT_INFO_SIZE_VER0	64	/* first published size */

/* Module version packed as in nestckpt_info.version_code. */
#define NESTCKPT_VERSION_CODE(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define NESTCKPT_VERSION_CODE_MAJOR(code)	(((code) >> 16) & 0xffff)
#define NESTCKPT_VERSION_CODE_MINOR(code)	(((code) >> 8) & 0xff)
#define NESTCKPT_VERSION_CODE_PATCH(code)	((code) & 0xff)

/*
 * ioctl magic.  'N' 0x00-0x1f and 0x40-0x8f are used by other drivers
 * (Documentation/userspace-api/ioctl/ioctl-number.rst); nestckpt uses
 * 'N' 0x20-0x3f.
 */
#define NESTCKPT_IOC_MAGIC	'N'
#define NESTCKPT_IOC_BASE	0x20

/* Size in the command number: a fixed VER0 layout, see the rules above. */
struct nestckpt_info_ver0 {
	__u8 bytes[NESTCKPT_INFO_SIZE_VER0];
};

#define NESTCKPT_IOC_GET_INFO \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x00, struct nestckpt_info_ver0)

#endif /* _UAPI_NESTCKPT_H */

// SPDX-License-Identifier: GPL-2.0
/* GET_INFO: ABI layout, ioctl number, size negotiation, ABI compatibility. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "libnestckpt.h"
#include "tap.h"

#define END(f) (offsetof(struct nestckpt_info, f) + sizeof(((struct nestckpt_info *)0)->f))

/* A well-formed reply of @ksize bytes, placed in a buffer of @bufsize. */
static void make_reply(unsigned char *buf, size_t bufsize, uint32_t ksize)
{
	struct nestckpt_info r;

	memset(buf, 0, bufsize);
	memset(&r, 0, sizeof(r));
	r.size = ksize;
	r.abi_major = 1;
	r.abi_minor = 0;
	r.vendor = NESTCKPT_VENDOR_SVM;
	r.caps = NESTCKPT_CAP_INFO;
	r.version_code = NESTCKPT_VERSION_CODE(0, 1, 0);
	strcpy(r.version, "0.1.0");
	memcpy(buf, &r, sizeof(r) < bufsize ? sizeof(r) : bufsize);
}

static void test_layout(void)
{
	is_int(sizeof(struct nestckpt_info), 64, "sizeof(nestckpt_info) is 64");
	is_int(NESTCKPT_INFO_SIZE_VER0, 64, "VER0 size is 64");
	is_int(offsetof(struct nestckpt_info, size), 0, "size at 0");
	is_int(offsetof(struct nestckpt_info, flags), 4, "flags at 4");
	is_int(offsetof(struct nestckpt_info, abi_major), 8, "abi_major at 8");
	is_int(offsetof(struct nestckpt_info, abi_minor), 10, "abi_minor at 10");
	is_int(offsetof(struct nestckpt_info, vendor), 12, "vendor at 12");
	is_int(offsetof(struct nestckpt_info, caps), 16, "caps at 16");
	is_int(offsetof(struct nestckpt_info, version_code), 24, "version_code at 24");
	is_int(offsetof(struct nestckpt_info, reserved0), 28, "reserved0 at 28");
	is_int(offsetof(struct nestckpt_info, version), 32, "version at 32");
	is_int(NESTCKPT_VERSION_CODE(0, 1, 0), 0x100, "version code of 0.1.0");
	is_int(NESTCKPT_VERSION_CODE_MAJOR(NESTCKPT_VERSION_CODE(3, 17, 1)), 3, "code major");
	is_int(NESTCKPT_VERSION_CODE_MINOR(NESTCKPT_VERSION_CODE(3, 17, 1)), 17, "code minor");
	is_int(NESTCKPT_VERSION_CODE_PATCH(NESTCKPT_VERSION_CODE(3, 17, 1)), 1, "code patch");
}

static void test_ioctl_number(void)
{
	unsigned long cmd = NESTCKPT_IOC_GET_INFO;

	is_int(_IOC_TYPE(cmd), 'N', "GET_INFO type 'N'");
	is_int(_IOC_NR(cmd), 0x20, "GET_INFO nr 0x20");
	is_int(_IOC_SIZE(cmd), NESTCKPT_INFO_SIZE_VER0, "GET_INFO encodes the VER0 size");
	is_int(_IOC_DIR(cmd), _IOC_READ | _IOC_WRITE, "GET_INFO is _IOWR");
	is_int(cmd, 0xc0404e20UL, "GET_INFO value is 0xc0404e20 forever");
}

static void test_interpret(void)
{
	unsigned char buf[256];
	struct nc_info info;

	make_reply(buf, sizeof(buf), 64);
	is_int(nc_info_interpret(buf, 64, &info), 0, "same size: accepted");
	is_int(info.kernel_size, 64, "same size: kernel size 64");
	is_int(info.valid_size, 64, "same size: all 64 bytes valid");
	ok(!info.kernel_newer, "same size: kernel not newer");
	is_int(info.raw.vendor, NESTCKPT_VENDOR_SVM, "same size: vendor copied");
	is_str(info.raw.version, "0.1.0", "same size: version copied");
	ok(nc_info_has(&info, END(version)), "same size: version field present");
	ok(!nc_info_has(&info, END(version) + 8), "same size: a later field absent");

	/* A newer module implements 96 bytes; we asked with 64. */
	make_reply(buf, sizeof(buf), 96);
	is_int(nc_info_interpret(buf, 64, &info), 0, "newer module: accepted");
	is_int(info.kernel_size, 96, "newer module: kernel size 96 reported");
	is_int(info.valid_size, 64, "newer module: 64 bytes valid");
	ok(info.kernel_newer, "newer module: flagged");

	/* A caller buffer of 128 (newer caller) and a module of 64. */
	make_reply(buf, sizeof(buf), 64);
	is_int(nc_info_interpret(buf, 128, &info), 0, "older module: accepted");
	is_int(info.valid_size, 64, "older module: only 64 bytes valid");
	ok(!info.kernel_newer, "older module: not flagged newer");

	make_reply(buf, sizeof(buf), 32);
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "kernel size below VER0: EPROTO");
	make_reply(buf, sizeof(buf), NESTCKPT_STRUCT_SIZE_MAX + 1);
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "kernel size above max: EPROTO");
	make_reply(buf, sizeof(buf), 64);
	is_int(nc_info_interpret(buf, 63, &info), -EINVAL, "caller size below VER0: EINVAL");

	make_reply(buf, sizeof(buf), 64);
	memset(buf + offsetof(struct nestckpt_info, version), 'x', NESTCKPT_VERSION_LEN);
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "unterminated version: EPROTO");

	make_reply(buf, sizeof(buf), 64);
	buf[offsetof(struct nestckpt_info, flags)] = 1;
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "unknown out flags: EPROTO");

	make_reply(buf, sizeof(buf), 64);
	buf[offsetof(struct nestckpt_info, reserved0)] = 1;
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "non-zero reserved0: EPROTO");

	make_reply(buf, sizeof(buf), 64);
	buf[offsetof(struct nestckpt_info, vendor)] = 7;
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "unknown vendor: EPROTO");

	make_reply(buf, sizeof(buf), 64);
	buf[offsetof(struct nestckpt_info, caps)] = 0;
	is_int(nc_info_interpret(buf, 64, &info), -EPROTO, "reply without CAP_INFO: EPROTO");
}

static void test_abi(void)
{
	is_int(nc_abi_check(NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR), NC_ABI_COMPATIBLE,
	       "same ABI: compatible");
	is_int(nc_abi_check(NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR + 1),
	       NC_ABI_KERNEL_NEWER_MINOR, "newer minor: newer");
	ok(nc_abi_compat_ok(nc_abi_check(NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR + 1)),
	   "newer minor: compatible");
	is_int(nc_abi_check(NESTCKPT_ABI_MAJOR + 1, 0), NC_ABI_MAJOR_MISMATCH,
	       "other major: mismatch");
	ok(!nc_abi_compat_ok(nc_abi_check(NESTCKPT_ABI_MAJOR + 1, 0)),
	   "other major: incompatible");
	ok(!nc_abi_compat_ok(nc_abi_check(0, 0)), "major 0: incompatible");
	is_str(nc_vendor_name(NESTCKPT_VENDOR_VMX), "vmx", "vendor name vmx");
	is_str(nc_vendor_name(NESTCKPT_VENDOR_SVM), "svm", "vendor name svm");
	is_str(nc_vendor_name(NESTCKPT_VENDOR_NONE), "none", "vendor name none");
	is_str(nc_vendor_name(99), "none", "unknown vendor named none");
}

static void test_open_errors(void)
{
	has_str(nc_dev_open_strerror(-ENOENT), "module not loaded", "ENOENT explained");
	has_str(nc_dev_open_strerror(-EACCES), "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE",
		"EACCES explained");
	has_str(nc_dev_open_strerror(-EPERM), "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE",
		"EPERM explained");
	is_int(nc_dev_open("/nonexistent/nestckpt"), -ENOENT, "open of a missing node: ENOENT");
}

int main(void)
{
	test_layout();
	test_ioctl_number();
	test_interpret();
	test_abi();
	test_open_errors();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/* /dev/nestckpt: opening it, GET_INFO with size negotiation, ABI checks. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libnestckpt.h"

_Static_assert(sizeof(struct nestckpt_info) == NESTCKPT_INFO_SIZE_VER0,
	       "nestckpt_info VER0 layout");
_Static_assert(offsetof(struct nestckpt_info, caps) == 16, "caps offset");
_Static_assert(offsetof(struct nestckpt_info, version) == 32, "version offset");

#ifndef NC_PACKAGE_VERSION
#error "NC_PACKAGE_VERSION must come from dkms.conf (see lib/Makefile)"
#endif

const char *nc_package_version(void)
{
	return NC_PACKAGE_VERSION;
}

int nc_dev_open(const char *path)
{
	int fd = open(path ? path : NESTCKPT_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

const char *nc_dev_open_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
		return "module not loaded (" NESTCKPT_DEVICE_PATH " does not exist)";
	case ENXIO:
	case ENODEV:
		return "module not loaded (device node without a driver)";
	case EACCES:
	case EPERM:
		return "permission denied: needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

int nc_info_interpret(const void *reply, size_t caller_size, struct nc_info *out)
{
	const struct nestckpt_info *r = reply;
	size_t ksize;

	memset(out, 0, sizeof(*out));
	if (caller_size < NESTCKPT_INFO_SIZE_VER0)
		return -EINVAL;

	ksize = r->size;
	if (ksize < NESTCKPT_INFO_SIZE_VER0 || ksize > NESTCKPT_STRUCT_SIZE_MAX)
		return -EPROTO;

	out->kernel_size = ksize;
	out->valid_size = ksize < caller_size ? ksize : caller_size;
	if (out->valid_size > sizeof(out->raw))
		out->valid_size = sizeof(out->raw);
	out->kernel_newer = ksize > sizeof(out->raw);
	memcpy(&out->raw, reply, out->valid_size);

	if (out->raw.flags || out->raw.reserved0)
		return -EPROTO;
	if (!memchr(out->raw.version, '\0', sizeof(out->raw.version)))
		return -EPROTO;
	if (out->raw.vendor > NESTCKPT_VENDOR_SVM)
		return -EPROTO;
	if (!(out->raw.caps & NESTCKPT_CAP_INFO))
		return -EPROTO;
	return 0;
}

bool nc_info_has(const struct nc_info *info, size_t end)
{
	return end <= info->valid_size;
}

int nc_get_info(int fd, struct nc_info *out)
{
	struct nestckpt_info req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	if (ioctl(fd, NESTCKPT_IOC_GET_INFO, &req) < 0)
		return -errno;
	return nc_info_interpret(&req, sizeof(req), out);
}

enum nc_abi_compat nc_abi_check(unsigned int kmajor, unsigned int kminor)
{
	if (kmajor != NESTCKPT_ABI_MAJOR)
		return NC_ABI_MAJOR_MISMATCH;
	if (kminor == NESTCKPT_ABI_MINOR)
		return NC_ABI_COMPATIBLE;
	return kminor > NESTCKPT_ABI_MINOR ? NC_ABI_KERNEL_NEWER_MINOR :
					     NC_ABI_KERNEL_OLDER_MINOR;
}

bool nc_abi_compat_ok(enum nc_abi_compat c)
{
	return c != NC_ABI_MAJOR_MISMATCH;
}

const char *nc_vendor_name(unsigned int vendor)
{
	switch (vendor) {
	case NESTCKPT_VENDOR_VMX:
		return "vmx";
	case NESTCKPT_VENDOR_SVM:
		return "svm";
	default:
		return "none";
	}
}

int nc_parse_version(const char *s, struct nc_version *v)
{
	unsigned long part[3] = { 0, 0, 0 };
	int n = 0;

	while (n < 3 && *s >= '0' && *s <= '9') {
		char *end;

		errno = 0;
		part[n++] = strtoul(s, &end, 10);
		if (errno || part[n - 1] > 0xffff)
			return -EINVAL;
		s = end;
		if (*s != '.')
			break;
		s++;
	}
	if (n < 2)
		return -EINVAL;
	v->major = part[0];
	v->minor = part[1];
	v->patch = part[2];
	return 0;
}

int nc_version_cmp(const struct nc_version *a, const struct nc_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

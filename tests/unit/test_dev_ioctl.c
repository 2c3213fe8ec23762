// SPDX-License-Identifier: GPL-2.0
/*
 * Against a loaded module: GET_INFO's validation and size negotiation as
 * seen from userspace, bad pointers, unknown commands, and the open()
 * permission check.  Skips when /dev/nestckpt is absent (e.g. on a build
 * host) unless NC_REQUIRE_DEV=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "expected_caps.h"
#include "tap.h"

static int fd;

/* ioctl returning 0 or -errno */
static int xioctl(unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static void test_good(void)
{
	struct nestckpt_info in;
	struct nc_info info;
	struct nc_version v;
	static char cpuinfo[1 << 16];

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, &in), 0, "GET_INFO size 64");
	is_int(in.size, 64, "module implements 64 bytes");
	is_int(in.abi_major, NESTCKPT_ABI_MAJOR, "module ABI major");
	is_int(in.abi_minor, NESTCKPT_ABI_MINOR, "module ABI minor");
	ok(NC_CAPS_AS_EXPECTED(in.caps), "caps: exactly those this tree implements");
	is_int(in.flags, 0, "out flags zero");
	is_str(in.version, nc_package_version(), "module version == package version");
	if (!nc_parse_version(nc_package_version(), &v))
		is_int(in.version_code, NESTCKPT_VERSION_CODE(v.major, v.minor, v.patch),
		       "version_code == package version");
	if (nc_read_file("/proc/cpuinfo", cpuinfo, sizeof(cpuinfo)) > 0)
		is_int(in.vendor, nc_parse_cpuinfo_vendor(cpuinfo), "vendor matches cpuinfo");
	is_int(nc_get_info(fd, &info), 0, "nc_get_info");
	is_int(info.kernel_size, 64, "nc_get_info kernel size");

	/* Output fields prefilled with junk are not inputs. */
	memset(&in, 0xa5, sizeof(in));
	in.size = sizeof(in);
	in.flags = 0;
	in.reserved0 = 0;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, &in), 0, "junk in output fields accepted");
	is_int(in.abi_major, NESTCKPT_ABI_MAJOR, "junk overwritten");
	ok(memchr(in.version, '\0', sizeof(in.version)) != NULL, "version terminated");
}

static void test_sizes(void)
{
	unsigned char buf[NESTCKPT_STRUCT_SIZE_MAX + 64];
	struct nestckpt_info *in = (void *)buf;
	uint32_t size;
	size_t i;
	int tail_zero = 1;

	memset(buf, 0, sizeof(buf));
	in->size = 128;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), 0, "size 128 with zero tail accepted");
	is_int(in->size, 64, "size 128: module reports 64");
	for (i = 64; i < 128; i++)
		tail_zero &= buf[i] == 0;
	ok(tail_zero, "size 128: tail left zero");

	memset(buf, 0, sizeof(buf));
	in->size = 128;
	buf[100] = 1;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), -E2BIG, "non-zero unknown tail: E2BIG");
	is_int(in->size, 64, "E2BIG: size rewritten to the module's 64");

	memset(buf, 0, sizeof(buf));
	in->size = NESTCKPT_STRUCT_SIZE_MAX;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), 0, "size 4096 (max) accepted");

	static const uint32_t bad[] = { 0, 4, 63, NESTCKPT_STRUCT_SIZE_MAX + 1, 0xffffffffu };
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[64];

		memset(buf, 0, sizeof(buf));
		size = bad[i];
		in->size = size;
		snprintf(name, sizeof(name), "size %u: EINVAL", size);
		is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), -EINVAL, name);
	}

	memset(buf, 0, sizeof(buf));
	in->size = 64;
	in->flags = 1;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), -EINVAL, "flags != 0: EINVAL");
	memset(buf, 0, sizeof(buf));
	in->size = 64;
	in->reserved0 = 0x80000000u;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, buf), -EINVAL, "reserved0 != 0: EINVAL");
}

static void test_pointers(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m;
	struct nestckpt_info *edge;

	is_int(xioctl(NESTCKPT_IOC_GET_INFO, NULL), -EFAULT, "NULL: EFAULT");
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, (void *)1), -EFAULT, "address 1: EFAULT");
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, (void *)0xffffffffffff0000ULL), -EFAULT,
	       "kernel-half address: EFAULT");

	m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ok(m != MAP_FAILED, "mmap two pages"))
		return;
	munmap(m + page, page);	/* second page now unmapped */
	edge = (void *)(m + page - 64);
	memset(edge, 0, 64);
	edge->size = 64;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, edge), 0, "struct ending at a page edge");
	edge->size = 128;
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, edge), -EFAULT, "size crossing into a hole: EFAULT");

	edge->size = 64;
	mprotect(m, page, PROT_READ);
	is_int(xioctl(NESTCKPT_IOC_GET_INFO, edge), -EFAULT, "read-only reply buffer: EFAULT");
	munmap(m, page);
}

static void test_commands(void)
{
	unsigned char buf[128] = { 0 };

	((struct nestckpt_info *)buf)->size = 64;
	is_int(xioctl(_IOWR(NESTCKPT_IOC_MAGIC, 0x3f, struct nestckpt_info_ver0), buf),
	       -ENOTTY, "unknown nr: ENOTTY");
	is_int(xioctl(_IOWR(NESTCKPT_IOC_MAGIC, 0x20, struct { __u8 b[128]; }), buf),
	       -ENOTTY, "GET_INFO nr with another size: ENOTTY");
	is_int(xioctl(_IOR(NESTCKPT_IOC_MAGIC, 0x20, struct nestckpt_info_ver0), buf),
	       -ENOTTY, "GET_INFO nr with another direction: ENOTTY");
	is_int(xioctl(0, buf), -ENOTTY, "command 0: ENOTTY");
	is_int(xioctl(TCGETS, buf), -ENOTTY, "TCGETS: ENOTTY");
}

/* Open in a child with some privileges removed; returns the child's -errno. */
static int open_as(int drop_caps_only)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (drop_caps_only) {
			struct __user_cap_header_struct h = {
				.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
			struct __user_cap_data_struct d[2];

			if (syscall(SYS_capget, &h, d))
				_exit(100);
			d[0].effective &= ~(1u << CAP_SYS_ADMIN);
			d[1].effective &= ~(1u << (CAP_CHECKPOINT_RESTORE - 32));
			if (syscall(SYS_capset, &h, d))
				_exit(101);
		} else if (setgid(65534) || setuid(65534)) {
			_exit(102);
		}
		int f = open(NESTCKPT_DEVICE_PATH, O_RDWR);
		_exit(f >= 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1000;
	return -WEXITSTATUS(status);
}

static void test_permissions(void)
{
	if (geteuid() != 0) {
		ok(1, "# SKIP permission checks need root");
		return;
	}
	is_int(open_as(0), -EACCES, "uid 65534: EACCES (mode 0600)");
	is_int(open_as(1), -EPERM, "root without CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE: EPERM");
}

int main(void)
{
	const char *req = getenv("NC_REQUIRE_DEV");

	fd = nc_dev_open(NULL);
	if (fd < 0) {
		if (req && !strcmp(req, "1")) {
			ok(0, "open /dev/nestckpt");
			printf("#   %s\n", nc_dev_open_strerror(fd));
		} else {
			ok(1, "# SKIP /dev/nestckpt not available");
			printf("#   %s\n", nc_dev_open_strerror(fd));
		}
		return tap_done();
	}
	test_good();
	test_sizes();
	test_pointers();
	test_commands();
	test_permissions();
	close(fd);
	return tap_done();
}

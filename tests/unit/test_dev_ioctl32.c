// SPDX-License-Identifier: GPL-2.0
/*
 * GET_INFO from a 32-bit process (the module's compat_ioctl path).  Built
 * with -m32 -nostdlib (no 32-bit libc is needed): raw int $0x80 system
 * calls, TAP output.  Skips when /dev/nestckpt is absent unless the first
 * argument is "require".
 */
#include <linux/types.h>

#include "nestckpt.h"
#include "expected_caps.h"

#define NR_exit		1
#define NR_write	4
#define NR_open		5
#define NR_close	6
#define NR_ioctl	54
#define O_RDWR		2

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static unsigned long slen(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(NR_write, 1, (long)s, slen(s));
}

static void out_num(long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;
	int neg = v < 0;

	buf[i] = '\0';
	if (neg)
		v = -v;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	out(buf + i);
}

static int n_tests, n_failed;

static void check(int cond, const char *name, long got)
{
	n_tests++;
	if (!cond)
		n_failed++;
	out(cond ? "ok " : "not ok ");
	out_num(n_tests);
	out(" - ");
	out(name);
	out("\n");
	if (!cond) {
		out("#   got ");
		out_num(got);
		out("\n");
	}
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void fill(void *p, int c, unsigned long n)
{
	unsigned char *q = p;

	while (n--)
		*q++ = c;
}

static void done(void)
{
	out("1..");
	out_num(n_tests);
	out("\n");
	sys3(NR_exit, n_failed ? 1 : 0, 0, 0);
}

static void run(int require)
{
	unsigned char buf[128];
	struct nestckpt_info *in = (void *)buf;
	long fd, ret;

	fd = sys3(NR_open, (long)NESTCKPT_DEVICE_PATH, O_RDWR, 0);
	if (fd < 0) {
		if (require)
			check(0, "open /dev/nestckpt (32-bit)", fd);
		else
			check(1, "# SKIP /dev/nestckpt not available", fd);
		done();
	}

	fill(buf, 0, sizeof(buf));
	in->size = 64;
	ret = sys3(NR_ioctl, fd, NESTCKPT_IOC_GET_INFO, (long)buf);
	check(ret == 0, "32-bit GET_INFO succeeds", ret);
	check(in->size == 64, "32-bit: module size 64", in->size);
	check(in->abi_major == NESTCKPT_ABI_MAJOR, "32-bit: ABI major", in->abi_major);
	check(in->abi_minor == NESTCKPT_ABI_MINOR, "32-bit: ABI minor", in->abi_minor);
	check(NC_CAPS_AS_EXPECTED(in->caps), "32-bit: caps", (long)in->caps);
	check(streq(in->version, NC_PACKAGE_VERSION), "32-bit: version string", 0);

	fill(buf, 0, sizeof(buf));
	in->size = 128;
	buf[127] = 1;
	ret = sys3(NR_ioctl, fd, NESTCKPT_IOC_GET_INFO, (long)buf);
	check(ret == -7, "32-bit: non-zero tail gives E2BIG", ret);
	check(in->size == 64, "32-bit: E2BIG rewrites size to 64", in->size);

	fill(buf, 0, sizeof(buf));
	in->size = 64;
	in->flags = 1;
	ret = sys3(NR_ioctl, fd, NESTCKPT_IOC_GET_INFO, (long)buf);
	check(ret == -22, "32-bit: flags != 0 gives EINVAL", ret);

	ret = sys3(NR_ioctl, fd, NESTCKPT_IOC_GET_INFO, 0);
	check(ret == -14, "32-bit: NULL gives EFAULT", ret);

	ret = sys3(NR_ioctl, fd, _IOWR(NESTCKPT_IOC_MAGIC, 0x3f, struct nestckpt_info_ver0),
		   (long)buf);
	check(ret == -25, "32-bit: unknown command gives ENOTTY", ret);

	sys3(NR_close, fd, 0, 0);
	done();
}

/* Entry point: the stack holds argc, argv[0..]. */
__attribute__((used)) static void start_c(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	run(argc > 1 && streq(argv[1], "require"));
}

asm(".text\n.globl _start\n_start:\n"
    "\txor %ebp, %ebp\n\tmov %esp, %eax\n\tand $-16, %esp\n"
    "\tsub $12, %esp\n\tpush %eax\n\tcall start_c\n\thlt\n");

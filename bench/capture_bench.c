// SPDX-License-Identifier: GPL-2.0
/*
 * capture_bench PID [REPS]: freeze the VMM PID and read its whole KVM state
 * REPS times through io_uring and REPS times through plain ioctls,
 * alternating, then thaw it.  Prints one line with the medians:
 *   vcpus N ops N uring_ns_per_vcpu N uring_syscalls N ioctl_ns_per_vcpu N ioctl_syscalls N
 * (the per-vCPU reads of nc_vmm_dump(); VM-wide reads are the same in both).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libnestckpt.h"

#define MAX_REPS 64

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static int one(int dev, pid_t pid, enum nc_batch_mode mode, struct nc_dump_stats *st)
{
	struct nc_err err = { "" };
	struct nc_image img;
	int rc = nc_vmm_dump(dev, pid, mode, &img, st, &err);

	if (rc) {
		fprintf(stderr, "capture_bench: %s: %s\n", nc_batch_mode_name(mode), err.msg);
		return rc;
	}
	nc_image_free(&img);
	if (st->mode != mode) {
		fprintf(stderr, "capture_bench: asked for %s, ran %s\n",
			nc_batch_mode_name(mode), nc_batch_mode_name(st->mode));
		return -ENOTSUP;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t u_ns[MAX_REPS], i_ns[MAX_REPS], u_sc[MAX_REPS], i_sc[MAX_REPS];
	struct nc_dump_stats st = { 0 };
	struct nestckpt_freeze fz;
	struct nestckpt_thaw th;
	int dev, reps, r, rc;
	unsigned long ops = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: capture_bench PID [REPS]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	reps = argc > 2 ? atoi(argv[2]) : 9;
	if (reps < 1 || reps > MAX_REPS)
		reps = 9;
	dev = nc_dev_open(NULL);
	if (dev < 0) {
		fprintf(stderr, "capture_bench: %s\n", nc_dev_open_strerror(dev));
		return 1;
	}
	rc = nc_freeze(dev, pid, 0, &fz);
	if (rc) {
		fprintf(stderr, "capture_bench: freeze %d: %s\n", pid, nc_freeze_strerror(rc));
		return 1;
	}
	for (r = 0; r < reps && !rc; r++) {
		/* Alternate, so that drift in the machine hits both alike. */
		rc = one(dev, pid, NC_BATCH_URING, &st);
		u_ns[r] = st.vcpu_ns / (st.vcpus ? st.vcpus : 1);
		u_sc[r] = st.syscalls;
		ops = st.ops;
		if (!rc)
			rc = one(dev, pid, NC_BATCH_IOCTL, &st);
		i_ns[r] = st.vcpu_ns / (st.vcpus ? st.vcpus : 1);
		i_sc[r] = st.syscalls;
	}
	if (nc_thaw(dev, pid, &th))
		fprintf(stderr, "capture_bench: thaw %d failed\n", pid);
	if (rc)
		return 1;
	printf("vcpus %u ops %lu uring_ns_per_vcpu %llu uring_syscalls %llu "
	       "ioctl_ns_per_vcpu %llu ioctl_syscalls %llu\n", st.vcpus, ops,
	       (unsigned long long)median(u_ns, reps), (unsigned long long)median(u_sc, reps),
	       (unsigned long long)median(i_ns, reps), (unsigned long long)median(i_sc, reps));
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Batches of KVM ops on /dev/nestckpt: io_uring with an ioctl fallback.
 *
 * The module runs each op on a kernel worker in the VMM's mm; ops on
 * different vCPUs run in parallel there, so io_uring's gain is twofold:
 * one system call for a ring-full of ops, and no serialisation of ops that
 * could overlap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <liburing.h>

#include "libnestckpt.h"

#define NC_BATCH_DEPTH	256

const char *nc_batch_mode_name(enum nc_batch_mode mode)
{
	switch (mode) {
	case NC_BATCH_URING:
		return "io_uring";
	case NC_BATCH_IOCTL:
		return "ioctl";
	default:
		return "auto";
	}
}

int nc_op_batch_init(struct nc_op_batch *b, int dev, enum nc_batch_mode mode)
{
	struct io_uring *ring;
	int ret;

	memset(b, 0, sizeof(*b));
	b->dev = dev;
	b->mode = NC_BATCH_IOCTL;
	if (mode == NC_BATCH_IOCTL)
		return 0;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ret = io_uring_queue_init(NC_BATCH_DEPTH, ring, 0);
	if (ret < 0) {
		free(ring);
		/* io_uring can be compiled out or disabled by sysctl. */
		return mode == NC_BATCH_URING ? ret : 0;
	}
	b->ring = ring;
	b->depth = NC_BATCH_DEPTH;
	b->mode = NC_BATCH_URING;
	return 0;
}

void nc_op_batch_fini(struct nc_op_batch *b)
{
	if (b->ring) {
		io_uring_queue_exit(b->ring);
		free(b->ring);
	}
	free(b->q);
	memset(b, 0, sizeof(*b));
}

int nc_op_batch_add(struct nc_op_batch *b, struct nestckpt_kvm_op *op, int *ret)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct nc_batch_entry *q = realloc(b->q, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		b->q = q;
		b->cap = cap;
	}
	b->q[b->n].op = op;
	b->q[b->n].ret = ret;
	b->n++;
	*ret = -EINPROGRESS;
	return 0;
}

static void run_ioctl(struct nc_op_batch *b, size_t from)
{
	size_t i;

	for (i = from; i < b->n; i++) {
		b->syscalls++;
		*b->q[i].ret = ioctl(b->dev, NESTCKPT_IOC_KVM_OP, b->q[i].op) ? -errno : 0;
		b->ops++;
	}
}

/* One ring-full: fill the SQ, one io_uring_enter that waits for all of it. */
static int run_uring_chunk(struct nc_op_batch *b, size_t from, size_t n)
{
	struct io_uring *ring = b->ring;
	size_t i, done = 0;
	int ret;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		uint64_t arg = (uintptr_t)b->q[from + i].op;

		if (!sqe)
			return -EBUSY;	/* cannot happen: n <= depth */
		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_URING_CMD;
		sqe->fd = b->dev;
		sqe->cmd_op = NESTCKPT_IOC_KVM_OP;
		memcpy(sqe->cmd, &arg, sizeof(arg));
		sqe->user_data = from + i;
	}
	b->syscalls++;
	ret = io_uring_submit_and_wait(ring, n);
	if (ret < 0)
		return ret;
	while (done < n) {
		struct io_uring_cqe *cqe;

		ret = io_uring_peek_cqe(ring, &cqe);
		if (ret == -EAGAIN) {
			b->syscalls++;
			ret = io_uring_wait_cqe(ring, &cqe);
		}
		if (ret < 0)
			return ret;
		if (cqe->user_data >= b->n)
			return -EIO;
		*b->q[cqe->user_data].ret = cqe->res < 0 ? cqe->res : 0;
		/* A kernel without uring_cmd for this device: ioctl instead. */
		if (cqe->res == -EOPNOTSUPP) {
			struct nc_batch_entry *e = &b->q[cqe->user_data];

			b->syscalls++;
			*e->ret = ioctl(b->dev, NESTCKPT_IOC_KVM_OP, e->op) ? -errno : 0;
		}
		io_uring_cqe_seen(ring, cqe);
		done++;
		b->ops++;
	}
	return 0;
}

int nc_op_batch_run(struct nc_op_batch *b)
{
	size_t from = 0;
	int ret = 0;

	if (b->mode == NC_BATCH_IOCTL) {
		run_ioctl(b, 0);
		b->n = 0;
		return 0;
	}
	while (from < b->n) {
		size_t n = b->n - from;

		if (n > b->depth)
			n = b->depth;
		ret = run_uring_chunk(b, from, n);
		if (ret)
			break;
		from += n;
	}
	b->n = 0;
	return ret;
}

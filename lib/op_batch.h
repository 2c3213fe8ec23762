/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Many NESTCKPT_IOC_KVM_OP requests at once (op_batch.c): through io_uring
 * (one IORING_OP_URING_CMD per op on /dev/nestckpt, the whole batch in one
 * io_uring_enter per ring-full), or one ioctl() each where io_uring is not
 * available.  Included by libnestckpt.h.
 */
#ifndef NC_OP_BATCH_H
#define NC_OP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nestckpt.h"

enum nc_batch_mode {
	NC_BATCH_AUTO,		/* io_uring if it works here, else ioctl */
	NC_BATCH_URING,		/* io_uring or fail */
	NC_BATCH_IOCTL,		/* one ioctl per op */
};

struct nc_batch_entry {
	struct nestckpt_kvm_op *op;
	int *ret;		/* 0 or -errno of this op */
};

struct nc_op_batch {
	int dev;
	enum nc_batch_mode mode;	/* the one in use: URING or IOCTL */
	void *ring;			/* struct io_uring, when mode == URING */
	unsigned int depth;
	struct nc_batch_entry *q;
	size_t n, cap;
	unsigned long syscalls;		/* io_uring_enter or ioctl calls made */
	unsigned long ops;		/* ops completed */
};

/* Set up on @dev (/dev/nestckpt); -errno (NC_BATCH_URING without io_uring). */
int nc_op_batch_init(struct nc_op_batch *b, int dev, enum nc_batch_mode mode);
void nc_op_batch_fini(struct nc_op_batch *b);
/* Queue @op; its result goes to *@ret when the batch runs. Both stay valid until then. */
int nc_op_batch_add(struct nc_op_batch *b, struct nestckpt_kvm_op *op, int *ret);
/*
 * Run every queued op and empty the queue.  Returns 0 once each op has its
 * result in its *ret (the ops' own errors are not the batch's), or -errno
 * if the batch itself could not run.
 */
int nc_op_batch_run(struct nc_op_batch *b);
const char *nc_batch_mode_name(enum nc_batch_mode mode);

#endif

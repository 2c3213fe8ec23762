// SPDX-License-Identifier: GPL-2.0
/*
 * Running KVM operations on a frozen VMM.
 *
 * KVM accepts VM and vCPU ioctls only from the VMM's own mm.  An op runs on
 * a kernel worker that takes on the VMM's mm (kthread_use_mm) for its
 * duration, with a bounce buffer mapped in that mm for the ioctl argument
 * (trust.c: the VMM's other threads can write it) and unmapped before the
 * op completes.  Unlike an op run by a parked vCPU
 * thread, this works whatever the VMM's threads do meanwhile, in particular
 * while a tracer (CRIU) holds them stopped; and ops for different vCPUs run
 * in parallel on the unbound workqueue.
 *
 * No vCPU thread is inside KVM_RUN while frozen, so KVM's vcpu->mutex is
 * free for the worker; KVM_RUN itself is never run this way (KVM ties a
 * vCPU to the thread that runs it).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include "nck.h"

static void nck_exec_work(struct work_struct *work)
{
	struct nck_op *op = container_of(work, struct nck_op, work);
	struct nck_exec ex = { .fz = op->fz };
	struct mm_struct *mm = op->fz->mm;

	if (!mm || !mmget_not_zero(mm)) {
		op->result = -ESRCH;	/* the VMM is exiting */
		complete(&op->done);
		return;
	}
	kthread_use_mm(mm);
	op->result = op->fn(&ex, op);
	nck_bounce_unmap(&ex);
	kthread_unuse_mm(mm);
	mmput(mm);
	complete(&op->done);
}

static void nck_start_op(struct nck_freeze *fz, struct nck_op *op)
{
	op->fz = fz;
	init_completion(&op->done);
	queue_work(system_unbound_wq, &op->work);
}

/* Start @op; nck_wait_op() must follow, @op lives until then. */
void nck_queue_op(struct nck_freeze *fz, struct nck_op *op)
{
	INIT_WORK(&op->work, nck_exec_work);
	nck_start_op(fz, op);
}

/*
 * Not interruptible: the worker uses @op to the end.  KVM's state ioctls do
 * not block on the guest, and no vCPU thread holds a vCPU while frozen.
 */
long nck_wait_op(struct nck_op *op)
{
	wait_for_completion(&op->done);
	return op->result;
}

/* Run @op, which lives on the caller's stack, and wait for it. */
long nck_run_op(struct nck_freeze *fz, struct nck_op *op)
{
	long ret;

	INIT_WORK_ONSTACK(&op->work, nck_exec_work);
	nck_start_op(fz, op);
	ret = nck_wait_op(op);
	destroy_work_on_stack(&op->work);
	return ret;
}

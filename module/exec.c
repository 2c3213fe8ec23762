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
 *
 * Waiting for an op is bounded and killable: the worker touches the VMM's
 * memory, which the VMM can back with a userfaultfd it never serves.  The
 * module's own guest writes give up at the op's deadline (guest_write.c),
 * but a fault inside KVM's own code (its copies to and from the bounce
 * buffer) sleeps until the VMM serves it, closes the userfaultfd or dies:
 * a kworker takes no signals.  So an op is refcounted (the waiter's and the
 * worker's references; it owns its buffer once the waiter gave up), holds
 * its freeze, and counts as busy until it ends; nothing re-enters L2 or
 * lets a vCPU thread go while an op of its freeze is busy (freeze.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "nck.h"

/* How long the waiter gives an op past its deadline to report on its own. */
#define NCK_OP_GRACE	(HZ / 2)

static void nck_op_free(struct nck_op *op)
{
	if (op->owns_kbuf)
		kvfree(op->kbuf);
	nck_freeze_put(op->fz);
	kfree(op);
}

void nck_op_put(struct nck_op *op)
{
	if (op && refcount_dec_and_test(&op->ref))
		nck_op_free(op);
}

static void nck_exec_work(struct work_struct *work)
{
	struct nck_op *op = container_of(work, struct nck_op, work);
	struct nck_freeze *fz = op->fz;
	struct nck_exec ex = { .fz = fz };
	struct mm_struct *mm = fz->mm;

	if (!mm || !mmget_not_zero(mm)) {
		op->result = -ESRCH;	/* the VMM is exiting */
	} else {
		kthread_use_mm(mm);
		op->result = op->fn(&ex, op);
		nck_bounce_unmap(&ex);
		kthread_unuse_mm(mm);
		mmput(mm);
	}
	/* Not busy before done: a waiter that saw it done sees it idle. */
	if (atomic_dec_and_test(&fz->ops_busy))
		wake_up_all(&fz->wq);
	complete(&op->done);
	nck_op_put(op);
}

/* A new op on @fz, with the caller's reference. */
struct nck_op *nck_op_new(struct nck_freeze *fz,
			  long (*fn)(struct nck_exec *, struct nck_op *),
			  struct nck_vcpu *v, struct file *file)
{
	struct nck_op *op = kzalloc(sizeof(*op), GFP_KERNEL);

	if (!op)
		return NULL;
	refcount_set(&op->ref, 1);
	refcount_inc(&fz->ref);
	op->fz = fz;
	op->fn = fn;
	op->vcpu = v;
	op->file = file;
	INIT_WORK(&op->work, nck_exec_work);
	init_completion(&op->done);
	return op;
}

/* Start @op; its deadline is the freeze's op timeout from now. */
void nck_queue_op(struct nck_op *op)
{
	struct nck_freeze *fz = op->fz;

	op->deadline = jiffies + msecs_to_jiffies(fz->op_timeout_ms);
	refcount_inc(&op->ref);		/* the worker's */
	atomic_inc(&fz->ops_busy);
	queue_work(system_unbound_wq, &op->work);
}

/*
 * Wait for @op: its result, -ETIMEDOUT a little past its deadline, or
 * -EINTR on a fatal signal.  Either way the caller still puts its reference;
 * an op given up on ends by itself and frees what it owns.
 */
long nck_wait_op(struct nck_op *op)
{
	long left = (long)(op->deadline + NCK_OP_GRACE - jiffies);
	long t;

	t = wait_for_completion_killable_timeout(&op->done, max(left, 1L));
	if (t > 0)
		return op->result;
	op->given_up = true;
	if (t == 0) {
		pr_warn_ratelimited("pid %d: a KVM operation did not finish in %u ms (a page of the VMM's memory it needs is not served?)\n",
				    pid_nr(op->fz->tgid), op->fz->op_timeout_ms);
		return -ETIMEDOUT;
	}
	return -EINTR;
}

/*
 * Run an op made from @tmpl and wait for it.  When the wait gives up
 * (-ETIMEDOUT, -EINTR) the op may still run: it then owns @tmpl->kbuf,
 * which becomes NULL for the caller.
 */
long nck_run_op(struct nck_freeze *fz, struct nck_op *tmpl)
{
	struct nck_op *op;
	long ret;

	op = nck_op_new(fz, tmpl->fn, tmpl->vcpu, tmpl->file);
	if (!op)
		return -ENOMEM;
	op->cmd = tmpl->cmd;
	op->kbuf = tmpl->kbuf;
	op->len = tmpl->len;
	op->value = tmpl->value;
	nck_queue_op(op);
	ret = nck_wait_op(op);
	/* Not completion_done(): a successful wait consumed the completion. */
	if (op->given_up) {
		op->owns_kbuf = true;
		tmpl->kbuf = NULL;
	}
	tmpl->result = ret;
	nck_op_put(op);
	return ret;
}

/* No op of @fz is running or queued. */
bool nck_ops_idle(struct nck_freeze *fz)
{
	return atomic_read(&fz->ops_busy) == 0;
}

/*
 * The deadline of the op the calling worker runs, for waits inside it on
 * the VMM's memory; outside an op, a second from now.
 */
unsigned long nck_op_deadline(void)
{
	struct work_struct *w = current_work();

	if (w && w->func == nck_exec_work)
		return container_of(w, struct nck_op, work)->deadline;
	return jiffies + HZ;
}

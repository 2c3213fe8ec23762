// SPDX-License-Identifier: GPL-2.0
/*
 * Parking a VMM's vCPU threads.
 *
 * A thread is kicked with a TWA_SIGNAL task_work.  The task_work runs on the
 * thread's way back to user mode, before the VMM's code runs again, and
 * parks the thread if it is returning from a system call that has no result
 * yet:
 *  - KVM_RUN on one of its vCPU files returning -EINTR: KVM saw the pending
 *    signal after finishing any userspace I/O completion (KVM's documented
 *    order), so nothing the VMM should see is hidden from it;
 *  - any other system call interrupted with a restart code (-ERESTARTSYS
 *    and its kin): a vCPU thread asleep elsewhere, e.g. a paused VMM's
 *    thread waiting on a condition variable.
 * Anything else (a result on its way to the VMM, a thread in user mode or in
 * the middle of KVM_RUN) is left alone and kicked again a little later.
 *
 * Parking turns the call into a restartable one whose restart function is
 * ours: the thread re-enters the kernel at once through restart_syscall()
 * and waits there.  At thaw it gets back exactly what it was returning:
 * KVM_RUN's -EINTR, or the restart code with the original call number, so
 * the kernel's own restart logic runs the original call again.
 *
 * Waiting inside a restarted system call keeps signals and ptrace working:
 * on a fatal signal the park ends; on a ptrace stop or a job-control stop
 * it returns -ERESTART_RESTARTBLOCK, the kernel handles the stop, and the
 * call restarts into the park again, also after a tracer (CRIU) restored
 * the registers and detached.  A tracer that checkpoints the thread sees an
 * interrupted call, which CRIU restores as -EINTR.  Other signals are
 * blocked while parked, so no VMM handler runs; the VMM's own mask waits in
 * saved_sigmask with the restore flag set, where the kernel keeps a mask it
 * will put back (as for ppoll), and where ptrace reports it from.
 *
 * The kernel puts that mask back on every way out to user mode that
 * delivers no signal: right after the arming, and after a stop.  A VMM
 * signal pending then is delivered with the registers already rewound to
 * restart_syscall(), and its rt_sigreturn resets the restart function: the
 * thread escapes the park and its call returns -EINTR (what KVM_RUN was
 * returning anyway; a restartable call of another kind returns -EINTR in
 * this race too, as after a checkpoint).  So a thread is not armed while
 * one of its signals is pending (that signal is delivered as usual and the
 * thread is kicked again), and an armed thread whose restart function is no
 * longer ours has escaped and is kicked again, while freezing and, from the
 * freeze watchdog, while frozen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <asm/syscall.h>

#include "nck.h"

/* How long a thaw waits for all released threads to leave, and how often it looks. */
#define NCK_RELEASE_WAIT	(2 * HZ)
#define NCK_RELEASE_POLL	msecs_to_jiffies(10)
/* How often a freeze looks for threads to kick again (at least a tick). */
#define NCK_PARK_POLL		msecs_to_jiffies(2)

/* Every armed park, to find the park from inside the restart function. */
static LIST_HEAD(nck_parks);
static DEFINE_SPINLOCK(nck_parks_lock);

static void nck_park_free(struct nck_park *park)
{
	spin_lock(&nck_parks_lock);
	list_del(&park->node);
	spin_unlock(&nck_parks_lock);
	put_task_struct(park->task);
	nck_freeze_put(park->fz);
	kfree(park);
}

void nck_park_put(struct nck_park *park)
{
	if (refcount_dec_and_test(&park->ref))
		nck_park_free(park);
}

/*
 * The park of @task.  A thread can have an older, released park still
 * waiting to be disarmed besides the current one: the current one wins.
 */
static struct nck_park *nck_park_lookup(struct task_struct *task)
{
	struct nck_park *park, *found = NULL;

	spin_lock(&nck_parks_lock);
	list_for_each_entry(park, &nck_parks, node) {
		if (park->task != task || !refcount_inc_not_zero(&park->ref))
			continue;
		if (found && READ_ONCE(park->release)) {
			refcount_dec(&park->ref);
			continue;
		}
		if (found)
			refcount_dec(&found->ref);
		found = park;
		if (!READ_ONCE(park->release))
			break;
	}
	spin_unlock(&nck_parks_lock);
	return found;
}

static void nck_park_set_state(struct nck_park *park, enum nck_park_state s)
{
	spin_lock(&park->fz->lock);
	park->state = s;
	spin_unlock(&park->fz->lock);
	wake_up_all(&park->fz->wq);
}

static void nck_block_signals(struct nck_park *park)
{
	sigset_t all;

	if (!test_restore_sigmask()) {
		current->saved_sigmask = current->blocked;
		set_restore_sigmask();
	}
	sigfillset(&all);
	sigdelsetmask(&all, sigmask(SIGKILL) | sigmask(SIGSTOP));
	sigprocmask(SIG_SETMASK, &all, NULL);
	park->blocked = true;
}

static void nck_unblock_signals(struct nck_park *park)
{
	sigset_t keep;

	if (!park->blocked)
		return;
	park->blocked = false;
	/* A stop's way out (or a tracer) may have put the mask back already. */
	if (!test_restore_sigmask())
		return;
	keep = current->saved_sigmask;
	clear_restore_sigmask();
	sigprocmask(SIG_SETMASK, &keep, NULL);
}

static long nck_park_give_back(struct nck_park *park);

/* The restart function: the park itself, in the VMM thread's context. */
static long nck_parked_syscall(struct restart_block *rb)
{
	struct nck_park *park = nck_park_lookup(current);
	long ret = -EINTR;

	if (!park)
		return -EINTR;	/* not reachable: a park outlives its arming */

	nck_block_signals(park);
	nck_park_set_state(park, NCK_PARK_PARKED);

	for (;;) {
		wait_event_interruptible(park->wq, READ_ONCE(park->release) ||
					 signal_pending(current));
		if (fatal_signal_pending(current)) {
			nck_park_set_state(park, NCK_PARK_GONE);
			break;
		}
		if (READ_ONCE(park->release)) {
			ret = nck_park_give_back(park);
			break;
		}
		if (signal_pending(current)) {
			/* A stop or trap: let the kernel handle it, then restart. */
			nck_park_set_state(park, NCK_PARK_AWAY);
			nck_park_put(park);
			return -ERESTART_RESTARTBLOCK;
		}
	}
	nck_park_put(park);
	return ret;
}

/*
 * Put back the thread's restart function and signal mask.  Returns whether
 * the restart function was still ours (the thread's registers then still
 * hold what the arming left).
 */
static bool nck_park_unarm(struct nck_park *park)
{
	bool ours = current->restart_block.fn == nck_parked_syscall;

	if (ours)
		current->restart_block.fn = park->saved_restart;
	nck_unblock_signals(park);
	return ours;
}

/*
 * Thaw, inside the park: restore the thread and return what the parked call
 * was returning.  A restart code comes back with the original call number,
 * and TIF_NOTIFY_SIGNAL makes the way out run the kernel's restart logic.
 */
static long nck_park_give_back(struct nck_park *park)
{
	struct pt_regs *regs = task_pt_regs(current);

	nck_park_unarm(park);
	nck_park_set_state(park, NCK_PARK_RELEASED);
	if (park->at_kvm_run)
		return -EINTR;
	regs->orig_ax = park->sc_nr;
	set_thread_flag(TIF_NOTIFY_SIGNAL);
	return park->sc_ret;
}

/*
 * Thaw reached a thread that is armed but not inside the park (on its way
 * in, or away for a stop): undo the arming from its registers as they are
 * now, before or after the kernel's restart logic rewound them.  Registers
 * a tracer replaced are not ours to touch.
 */
static void nck_park_disarm(struct nck_park *park, struct pt_regs *regs)
{
	bool ours = nck_park_unarm(park);
	long nr = regs->orig_ax;

	if (!ours || (nr != park->sc_nr && nr != __NR_restart_syscall))
		return;
	if (regs->ax == (unsigned long)-ERESTART_RESTARTBLOCK) {
		/* Not rewound yet: the restart logic is still to run. */
		regs->orig_ax = park->at_kvm_run ? -1 : park->sc_nr;
		regs->ax = park->at_kvm_run ? -EINTR : park->sc_ret;
		if (!park->at_kvm_run)
			set_thread_flag(TIF_NOTIFY_SIGNAL);
	} else if (regs->ax == __NR_restart_syscall) {
		/* Rewound to run restart_syscall() with the thread's function. */
		if (park->at_kvm_run) {
			regs->ax = -EINTR;
			regs->ip += 2;
		} else if (park->sc_ret != -ERESTART_RESTARTBLOCK) {
			regs->ax = park->sc_nr;
		}
	}
}

/* Is the thread returning -EINTR from KVM_RUN on one of its vCPU files? */
static bool nck_at_interrupted_kvm_run(struct nck_park *park,
				       struct pt_regs *regs)
{
	struct nck_freeze *fz = park->fz;
	unsigned long args[6];
	struct file *file;
	bool ok = false;
	u32 i;

	if (syscall_get_nr(current, regs) != __NR_ioctl)
		return false;
	syscall_get_arguments(current, regs, args);
	if ((unsigned int)args[1] != KVM_RUN)
		return false;
	file = fget((unsigned int)args[0]);
	if (!file)
		return false;
	for (i = 0; i < fz->nr_vcpus; i++) {
		struct nck_vcpu *v = &fz->vcpus[i];

		if (v->park == park && v->file == file) {
			/* -EINTR never leaves an I/O completion pending. */
			ok = !READ_ONCE(v->vcpu->arch.complete_userspace_io);
			break;
		}
	}
	fput(file);
	return ok;
}

/* A 64-bit system call instruction just before the return address? */
static bool nck_after_syscall_insn(struct pt_regs *regs)
{
	u8 insn[2];

	/* A signal frame set up on this way out has moved ip elsewhere. */
	if (copy_from_user(insn, (const void __user *)(regs->ip - 2), 2))
		return false;
	return insn[0] == 0x0f && insn[1] == 0x05;
}

/*
 * Is a signal pending that this thread does not block?  The way out would
 * deliver it right after putting the VMM's mask back, past the park.
 */
static bool nck_unblocked_signal_pending(void)
{
	struct sighand_struct *sighand = current->sighand;
	sigset_t set;

	spin_lock_irq(&sighand->siglock);
	sigorsets(&set, &current->pending.signal,
		  &current->signal->shared_pending.signal);
	sigandnsets(&set, &set, &current->blocked);
	spin_unlock_irq(&sighand->siglock);
	return !sigisemptyset(&set);
}

/*
 * Can the thread park here?  Only on its way out of a system call that has
 * no result yet (see the top of this file), with none of its signals
 * waiting to be delivered.  Records what to give back.
 */
static bool nck_park_catch(struct nck_park *park, struct pt_regs *regs)
{
	long err;
	int nr;

	if (fatal_signal_pending(current) || in_ia32_syscall() ||
	    !user_64bit_mode(regs) || nck_unblocked_signal_pending())
		return false;
	nr = syscall_get_nr(current, regs);
	if (nr < 0)
		return false;	/* interrupted in user mode, not in a call */
	err = syscall_get_error(current, regs);
	switch (err) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		if (current->restart_block.fn == nck_parked_syscall)
			return false;
		park->at_kvm_run = false;
		break;
	case -EINTR:
		if (!nck_at_interrupted_kvm_run(park, regs))
			return false;
		park->at_kvm_run = true;
		break;
	default:
		return false;
	}
	if (!nck_after_syscall_insn(regs))
		return false;
	park->sc_nr = nr;
	park->sc_ret = err;
	return true;
}

static void nck_park_work(struct callback_head *cb)
{
	struct nck_park *park = container_of(cb, struct nck_park, work);
	struct pt_regs *regs = task_pt_regs(current);
	enum nck_park_state next;
	bool release;

	spin_lock(&park->fz->lock);
	park->work_queued = false;
	release = park->release;
	next = park->state;
	spin_unlock(&park->fz->lock);

	if (current->flags & PF_EXITING) {
		next = NCK_PARK_GONE;
	} else if (release) {
		/* Thaw reached a thread that never made it into the park. */
		if (next == NCK_PARK_ARMED || next == NCK_PARK_AWAY) {
			nck_park_disarm(park, regs);
			next = NCK_PARK_RELEASED;
		}
	} else if (next == NCK_PARK_KICKED) {
		if (nck_park_catch(park, regs)) {
			park->saved_restart = current->restart_block.fn;
			syscall_set_return_value(current, regs,
				set_restart_fn(&current->restart_block,
					       nck_parked_syscall), 0);
			/* No VMM handler between here and the park. */
			nck_block_signals(park);
			next = NCK_PARK_ARMED;
		} else {
			next = NCK_PARK_RETRY;
		}
	}
	nck_park_set_state(park, next);
	nck_park_put(park);
}

/* Queue the task_work on the park's thread unless it is already queued. */
static int nck_kick(struct nck_park *park, enum nck_park_state state)
{
	int ret;

	spin_lock(&park->fz->lock);
	if (park->work_queued || park->state == NCK_PARK_GONE) {
		spin_unlock(&park->fz->lock);
		return 0;
	}
	park->work_queued = true;
	park->state = state;
	spin_unlock(&park->fz->lock);

	refcount_inc(&park->ref);
	init_task_work(&park->work, nck_park_work);
	ret = task_work_add(park->task, &park->work, TWA_SIGNAL);
	if (ret) {
		/* The thread is exiting. */
		spin_lock(&park->fz->lock);
		park->work_queued = false;
		park->state = NCK_PARK_GONE;
		spin_unlock(&park->fz->lock);
		nck_park_put(park);
	}
	return ret;
}

static struct nck_park *nck_park_new(struct nck_freeze *fz,
				     struct task_struct *task)
{
	struct nck_park *park = kzalloc(sizeof(*park), GFP_KERNEL);

	if (!park)
		return NULL;
	park->fz = fz;
	refcount_inc(&fz->ref);
	park->task = task;	/* the caller's task reference moves here */
	refcount_set(&park->ref, 1);
	init_waitqueue_head(&park->wq);
	park->state = NCK_PARK_RELEASED;
	spin_lock(&nck_parks_lock);
	list_add(&park->node, &nck_parks);
	spin_unlock(&nck_parks_lock);
	return park;
}

/* One park per thread that runs a vCPU of the VMM. */
static int nck_make_parks(struct nck_freeze *fz)
{
	u32 i, j;

	fz->parks = kvcalloc(max_t(u32, fz->nr_vcpus, 1), sizeof(*fz->parks),
			    GFP_KERNEL);
	if (!fz->parks)
		return -ENOMEM;

	for (i = 0; i < fz->nr_vcpus; i++) {
		struct nck_vcpu *v = &fz->vcpus[i];
		struct task_struct *task;
		struct pid *pid;

		rcu_read_lock();
		pid = rcu_dereference(v->vcpu->pid);
		task = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
		if (task)
			get_task_struct(task);
		rcu_read_unlock();
		if (!task)
			continue;	/* never run: nothing to park */
		if (task->mm != fz->mm || (task->flags & PF_EXITING)) {
			put_task_struct(task);
			continue;
		}
		v->tid = task_pid_vnr(task);
		for (j = 0; j < fz->nr_parks; j++)
			if (fz->parks[j]->task == task)
				break;
		if (j < fz->nr_parks) {
			put_task_struct(task);
			v->park = fz->parks[j];
			continue;
		}
		v->park = nck_park_new(fz, task);
		if (!v->park) {
			put_task_struct(task);
			return -ENOMEM;
		}
		fz->parks[fz->nr_parks++] = v->park;
	}
	return 0;
}

static bool nck_parks_settled(struct nck_freeze *fz, int *gone)
{
	bool settled = true;
	u32 i;

	*gone = 0;
	spin_lock(&fz->lock);
	for (i = 0; i < fz->nr_parks; i++) {
		switch (fz->parks[i]->state) {
		case NCK_PARK_PARKED:
			break;
		case NCK_PARK_GONE:
			(*gone)++;
			break;
		default:
			settled = false;
		}
	}
	spin_unlock(&fz->lock);
	return settled;
}

/*
 * Armed (on its way in, or away for a stop) but its restart function is
 * gone: a signal handler ran and its rt_sigreturn reset it, or a tracer
 * ran its own code; the thread is back in the VMM's code.
 */
static bool nck_park_escaped(struct nck_park *park, enum nck_park_state s)
{
	return (s == NCK_PARK_ARMED || s == NCK_PARK_AWAY) &&
	       READ_ONCE(park->task->restart_block.fn) != nck_parked_syscall;
}

/*
 * Kick again every thread that could not park at its last kick or that
 * escaped the park.  Returns how many were kicked.
 */
static int nck_rekick(struct nck_freeze *fz)
{
	int kicked = 0;
	u32 i;

	for (i = 0; i < fz->nr_parks; i++) {
		struct nck_park *park = fz->parks[i];
		enum nck_park_state s;

		spin_lock(&fz->lock);
		s = park->state;
		spin_unlock(&fz->lock);
		if (s == NCK_PARK_RETRY || nck_park_escaped(park, s)) {
			nck_kick(park, NCK_PARK_KICKED);
			kicked++;
		}
	}
	return kicked;
}

/*
 * The freeze watchdog, while frozen: a parked thread that left for a stop
 * may have met one of the VMM's signals on its way back and escaped.
 * Caller holds op_lock (parks stable).  Returns whether it kicked a thread.
 */
bool nck_park_recatch(struct nck_freeze *fz)
{
	return nck_rekick(fz) > 0;
}

/*
 * Park every vCPU thread of @fz.  Once all are parked, vCPUs also get
 * kvm_run->immediate_exit set, so that a KVM_RUN that a thread which escaped
 * the park (or that never ran the vCPU) starts returns at once instead of
 * entering the guest (an I/O completion still happens: KVM does it first).
 *
 * A thread that could not park (in user mode, a result on its way, one of
 * its signals pending) or that escaped the park is kicked again after a
 * tick, which lets it get back into a call; the waits are killable.
 */
int nck_park_all(struct nck_freeze *fz, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	u32 i;
	int ret, gone;

	ret = nck_make_parks(fz);
	if (ret)
		return ret;

	for (i = 0; i < fz->nr_parks; i++)
		nck_kick(fz->parks[i], NCK_PARK_KICKED);

	for (;;) {
		if (nck_parks_settled(fz, &gone)) {
			if (gone)
				return -ESRCH;
			/*
			 * Only now: while threads are still being caught, a
			 * KVM_RUN that returned at once would just spin.
			 */
			for (i = 0; i < fz->nr_vcpus; i++) {
				struct kvm_run *run = fz->vcpus[i].vcpu->run;

				fz->vcpus[i].saved_immediate_exit =
					READ_ONCE(nck_immediate_exit(run));
				WRITE_ONCE(nck_immediate_exit(run), 1);
				fz->vcpus[i].immediate_exit_set = true;
			}
			return 0;
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		wait_event_killable_timeout(fz->wq,
					    nck_parks_settled(fz, &gone),
					    max_t(unsigned long, NCK_PARK_POLL, 1));
		nck_rekick(fz);
	}
}

/*
 * Whether a released thread is done with the freeze, or cannot move until
 * someone else lets it: a thread in a ptrace or job-control stop (CRIU holds
 * every thread seized while its plugin thaws) restarts into the park and
 * leaves it by itself once resumed.
 */
static bool nck_park_left(struct nck_park *park)
{
	enum nck_park_state s = READ_ONCE(park->state);

	return s == NCK_PARK_RELEASED || s == NCK_PARK_GONE || s == NCK_PARK_RETRY ||
	       (s == NCK_PARK_KICKED && !park->work_queued) ||
	       (park->task->flags & PF_EXITING) ||
	       task_is_stopped_or_traced(park->task);
}

/*
 * Let every parked thread go, and disarm those still on their way into the
 * park.  Waits (killable), at most NCK_RELEASE_WAIT for all of them, until
 * each has left, died or is held in a stop.
 */
void nck_release_all(struct nck_freeze *fz)
{
	unsigned long deadline;
	u32 i;

	spin_lock(&fz->lock);
	for (i = 0; i < fz->nr_parks; i++)
		fz->parks[i]->release = true;
	spin_unlock(&fz->lock);

	for (i = 0; i < fz->nr_vcpus; i++) {
		if (!fz->vcpus[i].immediate_exit_set)
			continue;
		WRITE_ONCE(nck_immediate_exit(fz->vcpus[i].vcpu->run),
			   fz->vcpus[i].saved_immediate_exit);
		fz->vcpus[i].immediate_exit_set = false;
	}

	for (i = 0; i < fz->nr_parks; i++) {
		struct nck_park *park = fz->parks[i];
		enum nck_park_state s = READ_ONCE(park->state);

		if (s == NCK_PARK_PARKED)
			wake_up_all(&park->wq);
		else if (s == NCK_PARK_ARMED || s == NCK_PARK_AWAY)
			/* Not in the park now: disarm at its next return. */
			nck_kick(park, s);
	}

	/*
	 * A thread that does not come back in time keeps its own reference.
	 * Polled: entering a stop wakes nobody here.
	 */
	deadline = jiffies + NCK_RELEASE_WAIT;
	for (i = 0; i < fz->nr_parks; i++) {
		struct nck_park *park = fz->parks[i];

		while (!nck_park_left(park) && time_before(jiffies, deadline))
			if (wait_event_killable_timeout(fz->wq, nck_park_left(park),
							NCK_RELEASE_POLL) < 0)
				goto out;
	}
out:
	/* The freeze is over: drop its references; busy parks hold their own. */
	for (i = 0; i < fz->nr_parks; i++) {
		nck_park_put(fz->parks[i]);
		fz->parks[i] = NULL;
	}
	fz->nr_parks = 0;
	for (i = 0; i < fz->nr_vcpus; i++)
		fz->vcpus[i].park = NULL;
}

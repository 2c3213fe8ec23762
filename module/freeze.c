// SPDX-License-Identifier: GPL-2.0
/*
 * Freezes: which VMMs are frozen, and the ioctls that freeze, thaw, report
 * on and operate on them.
 *
 * A freeze belongs to the /dev/nestckpt file that made it: the last close
 * of that file (criu exiting, or crashing) has the watchdog thaw it, so a
 * dead checkpointer never leaves a VMM frozen.  A detached freeze
 * (NESTCKPT_FREEZE_DETACHED, nestckptctl freeze, which exits) outlives it;
 * a later thaw finds it by the VMM's pid.  A freeze holds a reference on
 * the module, so the module cannot be unloaded while anything is frozen,
 * and references on the VMM's KVM files.  While anything is frozen, a
 * periodic watchdog drops the freeze of a VMM that is gone (died, or
 * exec()ed: its vCPU threads were killed and its mm replaced), thaws those
 * whose file was closed, and kicks back into the park a thread that escaped
 * it (park.c).  Whether a VMM is gone is the thread group's business: a
 * leader that called pthread_exit leaves a live VMM behind.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "nck.h"

static LIST_HEAD(nck_freezes);
static DEFINE_MUTEX(nck_freezes_mutex);

static void nck_reaper_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(nck_reaper, nck_reaper_fn);
/* It may wait for ops and threads (seconds): not on the system workqueue. */
#define nck_reaper_queue(delay) \
	mod_delayed_work(system_long_wq, &nck_reaper, (delay))
#define NCK_REAP_INTERVAL	(HZ / 2)
/* Sooner while a thread that escaped its park is being caught again. */
#define NCK_RECATCH_INTERVAL	max_t(unsigned long, msecs_to_jiffies(5), 1)

bool nck_anything_frozen(void)
{
	bool ret;

	mutex_lock(&nck_freezes_mutex);
	ret = !list_empty(&nck_freezes);
	mutex_unlock(&nck_freezes_mutex);
	return ret;
}

static void nck_freeze_free(struct nck_freeze *fz)
{
	u32 i;

	for (i = 0; i < fz->nr_vcpus; i++) {
		struct nck_vcpu *v = &fz->vcpus[i];

		fput(v->file);
		kvfree(v->nested);
		kvfree(v->msrs);
		kvfree(v->msr_changed);
	}
	for (i = 0; i < fz->nr_vms; i++)
		fput(fz->vms[i].file);
	kvfree(fz->vcpus);
	kvfree(fz->parks);
	kvfree(fz->msr_indices);
	nck_maps_free(fz);
	if (fz->mm)
		mmdrop(fz->mm);
	put_pid(fz->tgid);
	kfree(fz);
	module_put(THIS_MODULE);
}

void nck_freeze_put(struct nck_freeze *fz)
{
	if (refcount_dec_and_test(&fz->ref))
		nck_freeze_free(fz);
}

/* Find the freeze of the VMM @tgid, with a reference.  Caller holds the mutex. */
static struct nck_freeze *__nck_freeze_find(struct pid *tgid)
{
	struct nck_freeze *fz;

	list_for_each_entry(fz, &nck_freezes, node)
		if (fz->tgid == tgid) {
			refcount_inc(&fz->ref);
			return fz;
		}
	return NULL;
}

struct nck_freeze *nck_freeze_find(struct pid *tgid)
{
	struct nck_freeze *fz;

	mutex_lock(&nck_freezes_mutex);
	fz = __nck_freeze_find(tgid);
	mutex_unlock(&nck_freezes_mutex);
	return fz;
}

struct nck_freeze *nck_freeze_find_by_kvm(struct kvm *kvm)
{
	struct nck_freeze *fz;
	u32 i;

	mutex_lock(&nck_freezes_mutex);
	list_for_each_entry(fz, &nck_freezes, node)
		for (i = 0; i < fz->nr_vms; i++)
			if (fz->vms[i].kvm == kvm) {
				refcount_inc(&fz->ref);
				mutex_unlock(&nck_freezes_mutex);
				return fz;
			}
	mutex_unlock(&nck_freezes_mutex);
	return NULL;
}

/* A new, unregistered freeze of @tgid with its VMs and vCPUs collected. */
struct nck_freeze *nck_freeze_new(struct pid *tgid)
{
	struct task_struct *leader;
	struct nck_freeze *fz;
	int ret;

	fz = kzalloc(sizeof(*fz), GFP_KERNEL);
	if (!fz)
		return ERR_PTR(-ENOMEM);
	__module_get(THIS_MODULE);
	init_rwsem(&fz->op_lock);
	spin_lock_init(&fz->lock);
	init_waitqueue_head(&fz->wq);
	refcount_set(&fz->ref, 1);
	INIT_LIST_HEAD(&fz->node);
	fz->tgid = get_pid(tgid);
	fz->state = NCK_FREEZING;
	fz->op_timeout_ms = NESTCKPT_FREEZE_TIMEOUT_MS;

	ret = -ESRCH;
	leader = get_pid_task(tgid, PIDTYPE_TGID);
	if (!leader)
		goto fail;
	task_lock(leader);
	fz->mm = leader->mm;
	if (fz->mm)
		mmgrab(fz->mm);
	task_unlock(leader);
	if (fz->mm)
		ret = nck_collect_kvm_files(fz, leader);
	put_task_struct(leader);
	if (ret)
		goto fail;
	return fz;
fail:
	nck_freeze_put(fz);
	return ERR_PTR(ret);
}

/*
 * Run @fn on every vCPU @want selects.  All ops are queued before any is
 * waited for, so they run in parallel.  Returns the first error; every
 * failure is logged with @what.
 */
static long nck_run_vcpu_ops(struct nck_freeze *fz,
			     long (*fn)(struct nck_exec *, struct nck_op *),
			     bool (*want)(const struct nck_vcpu *),
			     const char *what)
{
	struct nck_op **ops;
	long ret = 0, r;
	u32 i;

	ops = kvcalloc(fz->nr_vcpus, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	for (i = 0; i < fz->nr_vcpus; i++) {
		struct nck_vcpu *v = &fz->vcpus[i];

		if (!want(v))
			continue;
		ops[i] = nck_op_new(fz, fn, v, v->file);
		if (!ops[i]) {
			ret = -ENOMEM;
			break;
		}
		nck_queue_op(ops[i]);
	}
	for (i = 0; i < fz->nr_vcpus; i++) {
		if (!ops[i])
			continue;
		r = nck_wait_op(ops[i]);
		nck_op_put(ops[i]);
		if (r) {
			pr_warn("vCPU %u of pid %d: %s failed: %ld\n",
				fz->vcpus[i].vcpu->vcpu_id, pid_nr(fz->tgid),
				what, r);
			if (!ret)
				ret = r;
		}
	}
	kvfree(ops);
	return ret;
}

static bool nck_any_vcpu(const struct nck_vcpu *v)
{
	return true;
}

static bool nck_vcpu_left_l2(const struct nck_vcpu *v)
{
	return v->in_l2;
}

/* Put every vCPU that left L2 back into it.  Returns the first error. */
static long nck_reenter_all(struct nck_freeze *fz)
{
	return nck_run_vcpu_ops(fz, nck_op_nested_enter, nck_vcpu_left_l2,
				"re-entering L2");
}

/*
 * A vCPU whose thread sleeps outside KVM_RUN may still owe KVM the
 * completion of an I/O exit (the VMM has to call KVM_RUN again first).
 * Its state is not consistent until then: refuse rather than guess.
 */
static long nck_check_io_pending(struct nck_freeze *fz)
{
	u32 i;

	for (i = 0; i < fz->nr_vcpus; i++) {
		struct nck_vcpu *v = &fz->vcpus[i];

		if (READ_ONCE(v->vcpu->arch.complete_userspace_io)) {
			pr_info("vCPU %u of pid %d: an I/O exit is not completed (the VMM has not re-entered KVM_RUN): not frozen\n",
				v->vcpu->vcpu_id, pid_nr(fz->tgid));
			return -EINPROGRESS;
		}
	}
	return 0;
}

static void nck_unregister(struct nck_freeze *fz)
{
	mutex_lock(&nck_freezes_mutex);
	list_del_init(&fz->node);
	mutex_unlock(&nck_freezes_mutex);
}

/*
 * Is the VMM this freeze was made for gone?  Dead or dying as a whole, or
 * exec()ed (a new mm: the exec killed its vCPU threads).  A leader that
 * called pthread_exit is a zombie while its other threads run on: the
 * group's state decides, never the leader's.
 */
static bool nck_vmm_gone(struct nck_freeze *fz)
{
	struct task_struct *leader = get_pid_task(fz->tgid, PIDTYPE_TGID);
	struct task_struct *t;
	bool gone = true;

	if (!leader)
		return true;
	if (!(READ_ONCE(leader->signal->flags) & SIGNAL_GROUP_EXIT) &&
	    !READ_ONCE(leader->signal->group_exec_task)) {
		rcu_read_lock();
		for_each_thread(leader, t) {
			if (t->flags & PF_EXITING)
				continue;
			/* Compared, never followed: only exec changes it. */
			gone = READ_ONCE(t->mm) != fz->mm;
			break;
		}
		rcu_read_unlock();
	}
	put_task_struct(leader);
	return gone;
}

/* Gone while frozen (op_lock held): nothing to re-enter, let the parks go. */
static void nck_drop_gone_locked(struct nck_freeze *fz)
{
	pr_info("pid %d died or exec()ed while frozen: freeze dropped\n",
		pid_nr(fz->tgid));
	fz->state = NCK_DEAD;
	nck_nx_rearm(fz);	/* the VM may live on elsewhere */
	nck_release_all(fz);
	nck_unregister(fz);
	nck_freeze_put(fz);	/* the list's reference */
}

/*
 * The freeze of @tgid with a reference; NULL if there is none, and
 * ERR_PTR(-ESRCH) if there was one for a VMM that is gone (dropped now).
 */
static struct nck_freeze *nck_freeze_find_live(struct pid *tgid)
{
	struct nck_freeze *fz = nck_freeze_find(tgid);

	if (!fz || !nck_vmm_gone(fz))
		return fz;
	if (down_write_killable(&fz->op_lock)) {
		nck_freeze_put(fz);
		return ERR_PTR(-EINTR);
	}
	if (fz->state == NCK_FROZEN)
		nck_drop_gone_locked(fz);
	up_write(&fz->op_lock);
	nck_freeze_put(fz);
	return ERR_PTR(-ESRCH);
}

/* Wait (killable, bounded) until no op of @fz runs. */
static long nck_wait_ops_idle(struct nck_freeze *fz)
{
	long t = wait_event_killable_timeout(fz->wq, nck_ops_idle(fz),
					     msecs_to_jiffies(fz->op_timeout_ms));

	return t > 0 ? 0 : t == 0 ? -ETIMEDOUT : -EINTR;
}

/*
 * Let the VMM run again (op_lock held for writing): re-enter L2, put back
 * KVM's mappings and NX worker, release the threads.  Nothing is let go
 * while an op is still busy on a vCPU (it would act on a running one), and
 * a failed re-entry keeps the VMM frozen (L1 would see a bogus exit).
 */
static long nck_unfreeze_locked(struct nck_freeze *fz)
{
	long ret = nck_wait_ops_idle(fz);

	if (!ret)
		ret = nck_reenter_all(fz);
	if (ret)
		return ret;
	/* A mapping not put back still serves the same pages: no reason to stay. */
	nck_maps_unswap(fz);
	nck_nx_rearm(fz);
	nck_release_all(fz);
	return 0;
}

/* The last close of @file: its attached freezes are thawed by the watchdog. */
void nck_freeze_owner_closed(struct file *file)
{
	struct nck_freeze *fz;
	bool any = false;

	mutex_lock(&nck_freezes_mutex);
	list_for_each_entry(fz, &nck_freezes, node) {
		if (fz->owner != file)
			continue;
		fz->owner = NULL;
		WRITE_ONCE(fz->auto_thaw, true);
		any = true;
	}
	mutex_unlock(&nck_freezes_mutex);
	if (any)
		nck_reaper_queue(0);
}

long nck_ioctl_freeze(struct file *file, void __user *uarg)
{
	struct nestckpt_freeze arg;
	struct nck_freeze *fz, *other;
	struct pid *tgid;
	u32 usize, i, nested = 0;
	long ret;

	ret = nck_copy_in(&arg, sizeof(arg), NESTCKPT_FREEZE_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if ((arg.flags & ~(NESTCKPT_FREEZE_MAPS | NESTCKPT_FREEZE_DETACHED)) ||
	    arg.nr_msrs > NESTCKPT_MAX_MSRS ||
	    (arg.nr_msrs && !arg.msr_indices))
		return -EINVAL;
	ret = nck_find_target(arg.pid, &tgid);
	if (ret)
		return ret;

	/* A stale freeze of a VMM that exec()ed is dropped, not in the way. */
	other = nck_freeze_find_live(tgid);
	if (!IS_ERR_OR_NULL(other))
		nck_freeze_put(other);
	fz = nck_freeze_new(tgid);
	put_pid(tgid);
	if (IS_ERR(fz))
		return PTR_ERR(fz);
	fz->op_timeout_ms = arg.timeout_ms ?: NESTCKPT_FREEZE_TIMEOUT_MS;
	fz->owner = (arg.flags & NESTCKPT_FREEZE_DETACHED) ? NULL : file;
	if (!fz->nr_vms) {
		ret = -ENOENT;
		goto out_put;
	}
	if (arg.nr_msrs) {
		fz->msr_indices = nck_copy_array_in(arg.msr_indices, arg.nr_msrs,
						    sizeof(u32));
		if (IS_ERR(fz->msr_indices)) {
			ret = PTR_ERR(fz->msr_indices);
			fz->msr_indices = NULL;
			goto out_put;
		}
		fz->nr_msrs = arg.nr_msrs;
	}

	mutex_lock(&nck_freezes_mutex);
	other = __nck_freeze_find(fz->tgid);
	if (other) {
		mutex_unlock(&nck_freezes_mutex);
		nck_freeze_put(other);
		ret = -EBUSY;
		goto out_put;
	}
	list_add(&fz->node, &nck_freezes);
	down_write(&fz->op_lock);
	mutex_unlock(&nck_freezes_mutex);
	nck_reaper_queue(NCK_REAP_INTERVAL);

	ret = nck_park_all(fz, fz->op_timeout_ms);
	if (!ret)
		ret = nck_check_io_pending(fz);
	if (!ret)
		ret = nck_nx_disarm(fz, fz->op_timeout_ms);
	if (!ret)
		ret = nck_run_vcpu_ops(fz, nck_op_nested_leave, nck_any_vcpu,
				       "leaving L2");
	if (!ret && (arg.flags & NESTCKPT_FREEZE_MAPS))
		ret = nck_maps_swap(fz);
	for (i = 0; i < fz->nr_vcpus; i++)
		nested += fz->vcpus[i].in_l2;
	if (ret) {
		long undo;

		/* Undo: the VMM runs on as if nothing happened. */
		undo = nck_unfreeze_locked(fz);
		if (undo) {
			/* An op still busy, or no way back into L2 yet: stay safe. */
			pr_warn("pid %d: freeze failed (%ld), undo not possible yet (%ld): kept frozen until it is\n",
				pid_nr(fz->tgid), ret, undo);
			fz->state = NCK_FROZEN;
			WRITE_ONCE(fz->auto_thaw, true);
			up_write(&fz->op_lock);
			nck_reaper_queue(NCK_REAP_INTERVAL);
			return ret;	/* the list keeps the reference */
		}
		up_write(&fz->op_lock);
		nck_unregister(fz);
		goto out_put;
	}
	fz->state = NCK_FROZEN;
	arg.nr_vms = fz->nr_vms;
	arg.nr_vcpus = fz->nr_vcpus;
	arg.nr_nested = nested;
	up_write(&fz->op_lock);
	ret = nck_copy_out(uarg, &arg, sizeof(arg), usize);
	/* The freeze stays registered: its reference now belongs to the list. */
	return ret;

out_put:
	nck_freeze_put(fz);
	return ret;
}

/* Thaw @fz (op_lock held, registered); drops the list's reference on success. */
static long nck_thaw_locked(struct nck_freeze *fz, u32 *nr_vcpus)
{
	long ret;

	if (fz->state != NCK_FROZEN)
		return -EBUSY;
	fz->state = NCK_THAWING;
	ret = nck_unfreeze_locked(fz);
	if (ret) {
		fz->state = NCK_FROZEN;
		return ret;
	}
	*nr_vcpus = fz->nr_vcpus;
	fz->state = NCK_DEAD;
	nck_unregister(fz);
	nck_freeze_put(fz);
	return 0;
}

long nck_ioctl_thaw(void __user *uarg)
{
	struct nestckpt_thaw arg;
	struct nck_freeze *fz;
	struct pid *tgid;
	u32 usize, n = 0;
	long ret;

	ret = nck_copy_in(&arg, sizeof(arg), NESTCKPT_THAW_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;
	ret = nck_find_target(arg.pid, &tgid);
	if (ret)
		return ret;
	fz = nck_freeze_find_live(tgid);
	put_pid(tgid);
	if (IS_ERR(fz))
		return PTR_ERR(fz);	/* ESRCH: it exec()ed or died frozen */
	if (!fz)
		return -ENOENT;	/* not frozen */
	if (down_write_killable(&fz->op_lock)) {
		nck_freeze_put(fz);
		return -EINTR;
	}
	ret = nck_thaw_locked(fz, &n);
	up_write(&fz->op_lock);
	nck_freeze_put(fz);
	if (ret)
		return ret;
	arg.nr_vcpus = n;
	return nck_copy_out(uarg, &arg, sizeof(arg), usize);
}

static void nck_fill_vcpu_status(struct nck_freeze *fz, u32 i,
				 struct nestckpt_vcpu_status *st)
{
	struct nck_vcpu *v = &fz->vcpus[i];
	struct pid *pid;

	memset(st, 0, sizeof(*st));
	st->vm = v->vm - fz->vms;
	st->vm_fd = v->vm->fd;
	st->vcpu_id = v->vcpu->vcpu_id;
	st->vcpu_fd = v->fd;
	rcu_read_lock();
	pid = rcu_dereference(v->vcpu->pid);
	st->tid = pid ? pid_vnr(pid) : 0;
	rcu_read_unlock();
	st->vmxon_pa = -1ull;
	st->vmcs12_pa = -1ull;
	if (fz->state != NCK_FROZEN)
		return;
	st->flags |= NESTCKPT_VCPU_FROZEN;
	/* The module holds kvm_run->immediate_exit at 1 while frozen. */
	if (v->immediate_exit_set && v->saved_immediate_exit)
		st->flags |= NESTCKPT_VCPU_IMMEDIATE_EXIT;
	if (!v->nested_read)
		return;
	st->format = v->nested->format;
	st->nested_flags = v->nested->flags;
	if (v->in_l2)
		st->flags |= NESTCKPT_VCPU_IN_L2;
	if (v->nested_on)
		st->flags |= NESTCKPT_VCPU_NESTED_ON;
	if (v->nested->flags & KVM_STATE_NESTED_RUN_PENDING)
		st->flags |= NESTCKPT_VCPU_RUN_PENDING;
	if (v->nested->format == KVM_STATE_NESTED_FORMAT_VMX) {
		st->vmxon_pa = v->nested->hdr.vmx.vmxon_pa;
		st->vmcs12_pa = v->nested->hdr.vmx.vmcs12_pa;
	} else {
		if (v->nested->flags & KVM_STATE_NESTED_GIF_SET)
			st->flags |= NESTCKPT_VCPU_GIF;
		if (v->nested->flags & KVM_STATE_NESTED_GUEST_MODE)
			st->vmcs12_pa = v->nested->hdr.svm.vmcb_pa;
	}
}

long nck_ioctl_status(void __user *uarg)
{
	struct nestckpt_status arg;
	struct nestckpt_vcpu_status st;
	struct nck_freeze *fz;
	struct pid *tgid;
	u32 usize, esize, i;
	long ret;

	ret = nck_copy_in(&arg, sizeof(arg), NESTCKPT_STATUS_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags || (arg.vcpu_capacity && !arg.vcpus) ||
	    (arg.vcpu_capacity && arg.vcpu_entry_size < NESTCKPT_VCPU_STATUS_SIZE_VER0) ||
	    arg.vcpu_entry_size > NESTCKPT_STRUCT_SIZE_MAX)
		return -EINVAL;
	ret = nck_find_target(arg.pid, &tgid);
	if (ret)
		return ret;
	fz = nck_freeze_find_live(tgid);
	if (PTR_ERR_OR_ZERO(fz) == -EINTR) {
		put_pid(tgid);
		return -EINTR;
	}
	if (IS_ERR_OR_NULL(fz)) {
		/* Not frozen: a look at its file table is all there is. */
		fz = nck_freeze_new(tgid);
		if (IS_ERR(fz)) {
			put_pid(tgid);
			return PTR_ERR(fz);
		}
	}
	put_pid(tgid);

	if (down_write_killable(&fz->op_lock)) {
		nck_freeze_put(fz);
		return -EINTR;
	}
	arg.state = fz->state == NCK_FROZEN ? NESTCKPT_STATE_FROZEN :
					      NESTCKPT_STATE_RUNNING;
	arg.nr_vms = fz->nr_vms;
	arg.nr_vcpus = fz->nr_vcpus;
	esize = min_t(u32, arg.vcpu_entry_size, sizeof(st));
	for (i = 0; i < fz->nr_vcpus && i < arg.vcpu_capacity; i++) {
		void __user *dst = u64_to_user_ptr(arg.vcpus) +
				   (u64)i * arg.vcpu_entry_size;

		nck_fill_vcpu_status(fz, i, &st);
		if (copy_to_user(dst, &st, esize) ||
		    clear_user(dst + esize, arg.vcpu_entry_size - esize)) {
			ret = -EFAULT;
			break;
		}
	}
	up_write(&fz->op_lock);
	nck_freeze_put(fz);
	if (ret)
		return ret;
	arg.vcpu_entry_size = sizeof(st);
	return nck_copy_out(uarg, &arg, sizeof(arg), usize);
}

/* The freeze and vCPU (NULL for the VM) an op names. */
static long nck_op_target(struct nestckpt_kvm_op *arg, struct nck_freeze **fzp,
			  struct nck_vcpu **vp, struct nck_vm **vmp)
{
	struct nck_freeze *fz = NULL;
	struct pid *tgid;
	struct file *file = NULL;
	long ret;
	u32 i;

	*vp = NULL;
	*vmp = NULL;
	if (arg->flags & NESTCKPT_OP_BY_FD) {
		struct kvm *kvm;

		file = fget(arg->fd);
		if (!file)
			return -EBADF;
		if (nck_file_is_kvm_vm(file))
			kvm = file->private_data;
		else if (nck_file_is_kvm_vcpu(file))
			kvm = ((struct kvm_vcpu *)file->private_data)->kvm;
		else {
			fput(file);
			return -EINVAL;
		}
		fz = nck_freeze_find_by_kvm(kvm);
		if (!fz) {
			fput(file);
			return -ENOENT;
		}
		/* Same rights as by pid: ptrace over the VMM. */
		ret = nck_find_target(pid_vnr(fz->tgid), &tgid);
		if (!ret)
			put_pid(tgid);
		if (ret || tgid != fz->tgid) {
			fput(file);
			nck_freeze_put(fz);
			return ret ?: -ESRCH;
		}
	} else {
		ret = nck_find_target(arg->pid, &tgid);
		if (ret)
			return ret;
		fz = nck_freeze_find(tgid);
		put_pid(tgid);
		if (!fz)
			return -ENOENT;
	}

	ret = -ENOENT;
	if (file) {
		for (i = 0; i < fz->nr_vms; i++)
			if (fz->vms[i].kvm == (nck_file_is_kvm_vm(file) ?
					      file->private_data : NULL))
				*vmp = &fz->vms[i];
		for (i = 0; i < fz->nr_vcpus; i++)
			if (fz->vcpus[i].vcpu == file->private_data)
				*vp = &fz->vcpus[i];
		fput(file);
		if (*vp)
			*vmp = (*vp)->vm;
	} else if (arg->vm < fz->nr_vms) {
		*vmp = &fz->vms[arg->vm];
		for (i = 0; arg->vcpu_id >= 0 && i < fz->nr_vcpus; i++)
			if (fz->vcpus[i].vm == *vmp &&
			    fz->vcpus[i].vcpu->vcpu_id == arg->vcpu_id)
				*vp = &fz->vcpus[i];
		if (arg->vcpu_id >= 0 && !*vp)
			*vmp = NULL;
	}
	if (!*vmp) {
		nck_freeze_put(fz);
		return ret;
	}
	*fzp = fz;
	return 0;
}

long nck_ioctl_kvm_op(struct file *file, void __user *uarg)
{
	struct nestckpt_kvm_op arg;
	struct nck_freeze *fz;
	struct nck_vcpu *v;
	struct nck_vm *vm;
	struct nck_op op = { .fn = nck_op_generic };
	struct nck_kvm_arg ka;
	u32 usize;
	long ret;

	ret = nck_copy_in(&arg, sizeof(arg), NESTCKPT_KVM_OP_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if (arg.flags & ~NESTCKPT_OP_BY_FD || arg.len > NESTCKPT_OP_MAX_LEN)
		return -EINVAL;
	/* Decided on the copy: the request cannot change after the check. */
	ret = nck_may_kvm_op(file, arg.kvm_ioctl);
	if (ret)
		return ret;
	ret = nck_op_target(&arg, &fz, &v, &vm);
	if (ret)
		return ret;
	/* Copied in once: nothing below reads the caller's buffer again. */
	ret = nck_kvm_arg_in(arg.kvm_ioctl, v != NULL, arg.buf, arg.len, &ka);
	if (ret)
		goto out_put;

	op.cmd = arg.kvm_ioctl;
	op.vcpu = v;
	op.file = v ? v->file : vm->file;
	op.kbuf = ka.kbuf;
	op.len = ka.len;
	op.value = ka.value;

	if (down_read_killable(&fz->op_lock)) {
		ret = -EINTR;
		goto out_free;
	}
	if (fz->state != NCK_FROZEN)
		ret = -EBUSY;
	else
		ret = nck_run_op(fz, &op);
	up_read(&fz->op_lock);
	if (!op.kbuf)
		ka.kbuf = NULL;	/* an op given up on owns it now */
	if (ret < 0)
		goto out_free;
	if (nck_kvm_arg_out(arg.buf, &ka)) {
		ret = -EFAULT;
		goto out_free;
	}
	arg.result = ret;
	arg.len = ka.len;
	ret = nck_copy_out(uarg, &arg, sizeof(arg), usize);
out_free:
	nck_kvm_arg_free(&ka);
out_put:
	nck_freeze_put(fz);
	return ret;
}

void nck_freeze_exit(void)
{
	cancel_delayed_work_sync(&nck_reaper);
}

/*
 * Kick back into the park every thread of a frozen VMM that escaped it.
 * A freeze busy with a thaw (op_lock held for writing) is skipped.
 */
static bool nck_recatch_frozen(void)
{
	struct nck_freeze *fz;
	bool kicked = false;

	mutex_lock(&nck_freezes_mutex);
	list_for_each_entry(fz, &nck_freezes, node) {
		if (!down_read_trylock(&fz->op_lock))
			continue;
		if (fz->state == NCK_FROZEN)
			kicked |= nck_park_recatch(fz);
		up_read(&fz->op_lock);
	}
	mutex_unlock(&nck_freezes_mutex);
	return kicked;
}

/*
 * One freeze the watchdog picked: drop it if its VMM is gone, thaw it if
 * its file was closed (or its failed freeze could not be undone at once).
 * Skipped while busy (a thaw, an op): the next round tries again.
 */
static void nck_reap_one(struct nck_freeze *fz)
{
	u32 n;
	long ret;

	if (!down_write_trylock(&fz->op_lock))
		return;
	if (fz->state != NCK_FROZEN) {
		up_write(&fz->op_lock);
		return;
	}
	if (nck_vmm_gone(fz)) {
		nck_drop_gone_locked(fz);
	} else if (READ_ONCE(fz->auto_thaw) && nck_ops_idle(fz)) {
		ret = nck_thaw_locked(fz, &n);
		if (!ret) {
			pr_info("pid %d thawed: the file that froze it was closed, or its freeze failed\n",
				pid_nr(fz->tgid));
		} else if (ret != -ETIMEDOUT && ret != -EINTR) {
			/* Not a busy op: trying again would fail again. */
			pr_warn("pid %d: cannot thaw (%ld): left frozen, thaw or kill it\n",
				pid_nr(fz->tgid), ret);
			WRITE_ONCE(fz->auto_thaw, false);
		}
	}
	up_write(&fz->op_lock);
}

/*
 * The watchdog, while any freeze exists: drops freezes whose VMM is gone,
 * thaws those whose file was closed, catches escaped threads.  It always
 * waits before its next round (a freeze it cannot handle yet must not make
 * it spin).
 */
static void nck_reaper_fn(struct work_struct *work)
{
	struct nck_freeze *fz, **todo = NULL;
	u32 n = 0, cap = 0, i;
	bool more, kicked;

	mutex_lock(&nck_freezes_mutex);
	list_for_each_entry(fz, &nck_freezes, node)
		cap++;
	if (cap)
		todo = kmalloc_array(cap, sizeof(*todo), GFP_KERNEL);
	list_for_each_entry(fz, &nck_freezes, node) {
		if (!todo || fz->state != NCK_FROZEN ||
		    !(READ_ONCE(fz->auto_thaw) || nck_vmm_gone(fz)))
			continue;
		refcount_inc(&fz->ref);
		todo[n++] = fz;
	}
	mutex_unlock(&nck_freezes_mutex);

	for (i = 0; i < n; i++) {
		nck_reap_one(todo[i]);
		nck_freeze_put(todo[i]);
	}
	kfree(todo);

	kicked = nck_recatch_frozen();

	mutex_lock(&nck_freezes_mutex);
	more = !list_empty(&nck_freezes);
	mutex_unlock(&nck_freezes_mutex);
	if (more)
		queue_delayed_work(system_long_wq, &nck_reaper,
				   kicked ? NCK_RECATCH_INTERVAL : NCK_REAP_INTERVAL);
}

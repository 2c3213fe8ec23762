// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's NX-huge-page recovery worker while a VMM is frozen.
 *
 * From 6.12.14 (and in 7.x) KVM runs that worker as a vhost task: a thread
 * of the VMM's own thread group (PF_USER_WORKER), which a checkpointer
 * cannot dump (ptrace refuses to change its signal mask, and it never
 * returns to user mode).  KVM starts it at the VM's first KVM_RUN through
 * call_once(&kvm->arch.nx_once, ...), and keeps it in
 * kvm->arch.nx_huge_page_recovery_thread until the VM is destroyed.
 *
 * At freeze, for each VM, under nx_once's lock: take the worker out of
 * KVM's hands (NULL pointer, guard left COMPLETED) or, if none was started,
 * mark the guard COMPLETED so that no KVM_RUN starts one while frozen; then
 * stop the worker (vhost_task_stop) and wait until its thread has left the
 * VMM.  At thaw (or when a freeze is undone) the guard goes back to
 * NOT_STARTED, so KVM itself starts a fresh worker, in the VMM's vCPU
 * thread, at the next KVM_RUN, exactly as for a new VM.  Both states left
 * behind are ones KVM produces itself, and KVM checks the pointer for NULL
 * wherever it reads it.  A restored VMM creates new VMs: nothing to do.
 *
 * The mitigation itself (splitting executable huge pages at fault time) is
 * not touched; only the periodic re-coalescing pauses while frozen.
 *
 * KVM's module-parameter setters wake the worker through that pointer with
 * only kvm_lock held; kvm's parameter lock (which every sysfs write of them
 * holds) is taken around the change of the pointer, so no setter can hold
 * the old pointer when the task is freed.
 *
 * vhost_task_stop() waits without bound for the worker to see the stop
 * (it cannot while ptrace-, job- or cgroup-stopped): it runs in a kernel
 * thread of ours that owns the task from then on and holds the VM file, so
 * the freeze itself waits bounded and killable, and gives up cleanly.
 *
 * This file is the only user of these KVM-private fields; Kbuild decides at
 * build time which layout this kernel has (conftest/): NCK_NX_KTHREAD (a
 * kernel thread outside the VMM: nothing to do), NCK_NX_VHOST_EAGER (a
 * vhost task started at KVM_CREATE_VM, which nothing would restart:
 * not handled) or NCK_NX_VHOST_ONCE (handled here).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nck.h"

#if NCK_NX_LAYOUT == NCK_NX_VHOST_ONCE

#include <linux/call_once.h>
#include <linux/file.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/vhost_task.h>
#include <linux/slab.h>
#include <linux/string.h>

/* KVM names it "kvm-nx-lpage-recovery"; comm keeps 15 characters. */
#define NCK_NX_COMM	"kvm-nx-lpage-re"
#define NCK_NX_MAX_SEEN	(2 * NCK_MAX_VMS)

/* One worker being stopped; the stopper thread owns it. */
struct nck_nx_stop {
	struct vhost_task *vtsk;
	struct file *vm_file;		/* keeps the worker's struct kvm alive */
	struct completion done;
	refcount_t ref;			/* the stopper and the freeze */
};

static void nck_nx_stop_put(struct nck_nx_stop *s)
{
	if (refcount_dec_and_test(&s->ref))
		kfree(s);
}

static int nck_nx_stopper(void *data)
{
	struct nck_nx_stop *s = data;

	vhost_task_stop(s->vtsk);	/* waits for the worker, frees the vtsk */
	fput(s->vm_file);
	complete(&s->done);
	nck_nx_stop_put(s);
	module_put_and_kthread_exit(0);
}

/*
 * kvm.ko, whose parameter lock its sysfs setters hold (*@mod NULL: kvm is
 * built in, under the global lock), with a reference on its kobject.
 */
static int nck_nx_kvm_module(struct module **mod, struct kobject **kobj)
{
	struct kset *modules = THIS_MODULE->mkobj.kobj.kset;

	*kobj = modules ? kset_find_obj(modules, "kvm") : NULL;
	if (!*kobj)
		return -ENOENT;
	*mod = container_of(*kobj, struct module_kobject, kobj)->mod;
	return 0;
}

/*
 * The VMM's NX workers, with references, for waiting until they are gone;
 * -EBUSY if one is stopped, traced or frozen (it could not see a stop).
 */
static int nck_nx_snapshot(struct nck_freeze *fz, struct task_struct **seen,
			   u32 *nr)
{
	struct task_struct *leader, *t;
	int ret = 0;

	*nr = 0;
	rcu_read_lock();
	leader = pid_task(fz->tgid, PIDTYPE_TGID);
	if (leader) {
		for_each_thread(leader, t) {
			if (!(t->flags & PF_USER_WORKER) ||
			    strncmp(t->comm, NCK_NX_COMM, sizeof(NCK_NX_COMM) - 1))
				continue;
			if (task_is_stopped_or_traced(t) || t->frozen ||
			    (READ_ONCE(t->__state) & TASK_FROZEN)) {
				ret = -EBUSY;
				break;
			}
			if (*nr < NCK_NX_MAX_SEEN)
				seen[(*nr)++] = get_task_struct(t);
		}
	}
	rcu_read_unlock();
	return ret;
}

static u32 nck_nx_alive(struct task_struct **seen, u32 nr)
{
	u32 i, n = 0;

	for (i = 0; i < nr; i++)
		n += pid_alive(seen[i]);
	return n;
}

/*
 * Take @vm's worker from KVM (*@vtsk, or NULL if it has none) and keep KVM
 * from starting one.  Caller holds kvm's parameter lock.
 */
static int nck_nx_detach(struct nck_vm *vm, struct vhost_task **vtsk)
{
	struct kvm_arch *ka = &vm->kvm->arch;
	struct vhost_task *t;
	int ret = 0;

	*vtsk = NULL;
	mutex_lock(&ka->nx_once.lock);
	t = READ_ONCE(ka->nx_huge_page_recovery_thread);
	switch (atomic_read(&ka->nx_once.state)) {
	case ONCE_COMPLETED:
		/* Started by KVM, or (no worker) given up on: ours only if one runs. */
		if (t) {
			WRITE_ONCE(ka->nx_huge_page_recovery_thread, NULL);
			*vtsk = t;
			vm->nx_disarmed = true;
		}
		break;
	case ONCE_NOT_STARTED:
		/* Never ran (or the start failed): no start until thaw. */
		if (t) {
			ret = -EPROTO;
			break;
		}
		atomic_set_release(&ka->nx_once.state, ONCE_COMPLETED);
		vm->nx_disarmed = true;
		break;
	default:
		/* RUNNING cannot be seen under the lock: not a state we know. */
		ret = -EPROTO;
	}
	mutex_unlock(&ka->nx_once.lock);
	return ret;
}

/* Undo nck_nx_detach() for a worker no stopper took (it was never stopped). */
static void nck_nx_reattach(struct nck_vm *vm, struct vhost_task *t)
{
	struct kvm_arch *ka = &vm->kvm->arch;

	mutex_lock(&ka->nx_once.lock);
	WRITE_ONCE(ka->nx_huge_page_recovery_thread, t);
	vm->nx_disarmed = false;
	mutex_unlock(&ka->nx_once.lock);
}

static struct nck_nx_stop *nck_nx_start_stop(struct nck_vm *vm,
					     struct vhost_task *t)
{
	struct nck_nx_stop *s = kzalloc(sizeof(*s), GFP_KERNEL);
	struct task_struct *k;

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->vtsk = t;
	s->vm_file = get_file(vm->file);
	init_completion(&s->done);
	refcount_set(&s->ref, 2);
	__module_get(THIS_MODULE);
	k = kthread_run(nck_nx_stopper, s, "nestckpt-nx-stop");
	if (IS_ERR(k)) {
		module_put(THIS_MODULE);
		fput(s->vm_file);
		kfree(s);
		return ERR_CAST(k);
	}
	return s;
}

/* Wait for @s's stop until @deadline: 0, -ETIMEDOUT or -EINTR (killed). */
static int nck_nx_wait_stop(struct nck_nx_stop *s, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	if (left <= 0)
		return completion_done(&s->done) ? 0 : -ETIMEDOUT;
	left = wait_for_completion_killable_timeout(&s->done, left);
	if (left < 0)
		return -EINTR;
	return left ? 0 : -ETIMEDOUT;
}

int nck_nx_disarm(struct nck_freeze *fz, unsigned int timeout_ms)
{
	struct task_struct *seen[NCK_NX_MAX_SEEN];
	struct nck_nx_stop *stops[NCK_MAX_VMS] = { };
	struct vhost_task *vtsk[NCK_MAX_VMS] = { };
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct module *kvm_mod = NULL;
	struct kobject *kobj = NULL;
	u32 i, nr_seen, nr_stopped = 0, want;
	int ret, r;

	ret = nck_nx_snapshot(fz, seen, &nr_seen);
	if (!ret && nck_nx_kvm_module(&kvm_mod, &kobj))
		ret = -ENOENT;
	if (ret) {
		/* The freeze holds; a dump names the thread (see the plugin). */
		pr_info("pid %d: KVM's NX recovery worker left in place (%s)\n",
			pid_nr(fz->tgid), ret == -EBUSY ? "it is stopped or traced" :
			"kvm's module parameters not found");
		ret = 0;
		goto out_seen;
	}

	kernel_param_lock(kvm_mod);
	for (i = 0; i < fz->nr_vms && !ret; i++)
		ret = nck_nx_detach(&fz->vms[i], &vtsk[i]);
	kernel_param_unlock(kvm_mod);
	if (ret)
		pr_warn("pid %d: KVM's NX recovery worker guard in an unknown state: not frozen\n",
			pid_nr(fz->tgid));

	for (i = 0; i < fz->nr_vms; i++) {
		if (!vtsk[i])
			continue;
		stops[i] = ret ? ERR_PTR(ret) : nck_nx_start_stop(&fz->vms[i], vtsk[i]);
		if (IS_ERR(stops[i])) {
			/* Never stopped: give it back to KVM as it was. */
			ret = PTR_ERR(stops[i]);
			stops[i] = NULL;
			kernel_param_lock(kvm_mod);
			nck_nx_reattach(&fz->vms[i], vtsk[i]);
			kernel_param_unlock(kvm_mod);
			continue;
		}
		nr_stopped++;
	}
	kobject_put(kobj);

	/* The stops (a stopper still waiting keeps its worker), then the threads. */
	for (i = 0; i < fz->nr_vms; i++) {
		if (!stops[i])
			continue;
		r = ret ? 0 : nck_nx_wait_stop(stops[i], deadline);
		if (r)
			ret = r;
		nck_nx_stop_put(stops[i]);
	}
	want = nr_seen > nr_stopped ? nr_seen - nr_stopped : 0;
	while (!ret && nck_nx_alive(seen, nr_seen) > want) {
		if (time_after(jiffies, deadline))
			ret = -ETIMEDOUT;
		else if (fatal_signal_pending(current))
			ret = -EINTR;
		else
			schedule_timeout_killable(1);
	}
	if (ret == -ETIMEDOUT)
		pr_info("pid %d: KVM's NX recovery worker did not stop within %u ms: not frozen\n",
			pid_nr(fz->tgid), timeout_ms);
out_seen:
	for (i = 0; i < nr_seen; i++)
		put_task_struct(seen[i]);
	return ret;
}

void nck_nx_rearm(struct nck_freeze *fz)
{
	u32 i;

	for (i = 0; i < fz->nr_vms; i++) {
		struct nck_vm *vm = &fz->vms[i];
		struct kvm_arch *ka = &vm->kvm->arch;

		if (!vm->nx_disarmed)
			continue;
		mutex_lock(&ka->nx_once.lock);
		/* Only a guard as we left it: KVM starts a worker at next KVM_RUN. */
		if (atomic_read(&ka->nx_once.state) == ONCE_COMPLETED &&
		    !READ_ONCE(ka->nx_huge_page_recovery_thread))
			atomic_set(&ka->nx_once.state, ONCE_NOT_STARTED);
		vm->nx_disarmed = false;
		mutex_unlock(&ka->nx_once.lock);
	}
}

u64 nck_nx_caps(void)
{
	return NESTCKPT_CAP_NX_WORKER;
}

#else /* the worker is a kernel thread, or one nothing would restart */

int nck_nx_disarm(struct nck_freeze *fz, unsigned int timeout_ms)
{
	return 0;
}

void nck_nx_rearm(struct nck_freeze *fz)
{
}

u64 nck_nx_caps(void)
{
	return NCK_NX_LAYOUT == NCK_NX_KTHREAD ? NESTCKPT_CAP_NX_KTHREAD : 0;
}

#endif

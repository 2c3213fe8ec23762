// SPDX-License-Identifier: GPL-2.0
/*
 * Who may act on which VMM, decided from the kernel's own view only.
 *
 *  - Opening /dev/nestckpt needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
 *    (device.c).
 *  - Every request that names a VMM needs ptrace rights over it, checked at
 *    that request: PTRACE_MODE_ATTACH with the calling task's credentials,
 *    LSMs included.  ptrace_may_access() is not exported, so the module
 *    opens PID/mem, whose open asks exactly that, on a proc instance it
 *    mounted itself at load for the initial pid namespace.  That mount is
 *    in no mount namespace: nothing a caller mounts can stand in for it
 *    (pid namespaces lost their internal proc mount in 5.8, so there is
 *    no per-namespace one to borrow; the initial one shows every task under
 *    its global number).
 *  - A request that changes a VMM (freeze, thaw, a KVM request that sets
 *    state) needs an fd opened for writing, EBADF otherwise; and the calling
 *    task, not the opener (file->f_cred was checked at open and cannot
 *    change), must hold one of the two capabilities now: an fd passed to,
 *    or kept across a privilege drop by, a process without them can read
 *    at most what its own ptrace rights allow.
 *
 * The kvm module's BTF is read through a sysfs instance mounted the same
 * way (nck_sysfs_open), never through the caller's /sys.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/workqueue.h>

#include "nck.h"

static struct vfsmount *nck_proc_mnt, *nck_sys_mnt;

/* @name's filesystem, mounted for the module alone. */
static struct vfsmount *nck_kern_mount(const char *name)
{
	struct file_system_type *type = get_fs_type(name);

	/* proc and sysfs are built in: get_fs_type took no module reference. */
	if (!type)
		return ERR_PTR(-ENODEV);
	return kern_mount(type);
}

/*
 * Run from a kworker: proc takes the pid namespace, sysfs the network
 * namespace of the task mounting it, and insmod may run in a container.
 */
static void nck_mount_work(struct work_struct *work)
{
	nck_proc_mnt = nck_kern_mount("proc");
	nck_sys_mnt = nck_kern_mount("sysfs");
}

int nck_access_init(void)
{
	struct work_struct work;

	INIT_WORK_ONSTACK(&work, nck_mount_work);
	schedule_work(&work);
	flush_work(&work);
	destroy_work_on_stack(&work);
	if (IS_ERR(nck_sys_mnt)) {
		pr_warn("no sysfs of our own (%ld): KVM's BTF layouts unavailable\n",
			PTR_ERR(nck_sys_mnt));
		nck_sys_mnt = NULL;
	}
	if (IS_ERR(nck_proc_mnt)) {
		pr_err("no proc of our own (%ld): cannot check ptrace rights\n",
		       PTR_ERR(nck_proc_mnt));
		nck_proc_mnt = NULL;
		nck_access_exit();
		return -ENODEV;
	}
	return 0;
}

void nck_access_exit(void)
{
	if (nck_sys_mnt)
		kern_unmount(nck_sys_mnt);
	if (nck_proc_mnt)
		kern_unmount(nck_proc_mnt);
	nck_sys_mnt = NULL;
	nck_proc_mnt = NULL;
}

/* @path (relative, e.g. "kernel/btf/kvm") in the initial sysfs, read-only. */
struct file *nck_sysfs_open(const char *path)
{
	if (!nck_sys_mnt)
		return ERR_PTR(-ENOENT);
	return file_open_root_mnt(nck_sys_mnt, path, O_RDONLY, 0);
}

/*
 * The VMM named by @nr (any of its threads, in the caller's pid namespace),
 * if the caller may ptrace it.
 */
int nck_find_target(pid_t nr, struct pid **tgid_out)
{
	struct task_struct *task;
	struct file *mem;
	char path[24];
	int ret = 0;

	if (nr <= 0)
		return -ESRCH;
	rcu_read_lock();
	task = pid_task(find_vpid(nr), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task)
		return -ESRCH;
	if (task->flags & (PF_KTHREAD | PF_EXITING)) {
		ret = -ESRCH;
		goto out;
	}

	/* Our proc is the initial namespace's: name the task by its global number. */
	snprintf(path, sizeof(path), "%d/mem", task_pid_nr(task));
	mem = file_open_root_mnt(nck_proc_mnt, path, O_RDONLY, 0);
	if (IS_ERR(mem)) {
		ret = PTR_ERR(mem);
		if (ret == -EACCES)
			ret = -EPERM;
		else if (ret == -ENOENT)
			ret = -ESRCH;	/* reaped since we found it */
		goto out;
	}
	fput(mem);
	/*
	 * A global number is not reused while its task is alive, so the file
	 * opened was this task's, the one @nr names.
	 */
	if (!pid_alive(task) || (task->flags & PF_EXITING)) {
		ret = -ESRCH;
		goto out;
	}
	*tgid_out = get_task_pid(task, PIDTYPE_TGID);
out:
	put_task_struct(task);
	return ret;
}

/* May the caller, through @file, change a VMM (freeze, thaw, set state)? */
int nck_may_change(struct file *file)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!capable(CAP_SYS_ADMIN) && !capable(CAP_CHECKPOINT_RESTORE))
		return -EPERM;
	return 0;
}

/* May the caller, through @file, run KVM request @cmd through KVM_OP? */
int nck_may_kvm_op(struct file *file, unsigned int cmd)
{
	return nck_kvm_req_changes(cmd) ? nck_may_change(file) : 0;
}

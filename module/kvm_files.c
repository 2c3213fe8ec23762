// SPDX-License-Identifier: GPL-2.0
/*
 * Recognising KVM's files and finding a VMM's VMs and vCPUs in its file
 * table.  A KVM VM or vCPU file is an anon-inode file named "kvm-vm" or
 * "kvm-vcpu:N": anon-inode names are chosen by kernel code only, and only
 * KVM uses these.  Their file_operations have no owner on every kernel
 * (6.1 sets one only for /dev/kvm); where one is set it must be KVM's.
 * Callers further check that a vCPU's VM and a VM's mm are the VMM's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "nck.h"

static bool nck_file_is_kvm(struct file *file, const char *name, bool prefix)
{
	const struct file_operations *fops = file->f_op;
	const char *dname, *owner;

	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC || !fops)
		return false;
	if (fops->owner) {
		owner = module_name(fops->owner);
		if (strcmp(owner, "kvm_intel") && strcmp(owner, "kvm_amd") &&
		    strcmp(owner, "kvm"))
			return false;
	}
	dname = file->f_path.dentry->d_name.name;
	return prefix ? strncmp(dname, name, strlen(name)) == 0 :
			strcmp(dname, name) == 0;
}

bool nck_file_is_kvm_vm(struct file *file)
{
	return nck_file_is_kvm(file, "kvm-vm", false);
}

bool nck_file_is_kvm_vcpu(struct file *file)
{
	return nck_file_is_kvm(file, "kvm-vcpu:", true);
}

/* Twice as many slots as vCPU files can be kept: probes stay short. */
#define NCK_SEEN_BITS	(order_base_2(NCK_MAX_VCPUS) + 1)

struct nck_scan {
	struct nck_freeze *fz;
	struct file *vcpu_files[NCK_MAX_VCPUS];
	int vcpu_fds[NCK_MAX_VCPUS];
	u32 nr_vcpu_files;
	int error;
	struct file *seen[1U << NCK_SEEN_BITS];	/* vcpu_files, hashed */
};

/*
 * Has @file been found under another fd already?  Else note it.  Runs under
 * the file table's lock, with thousands of vCPU files possible: no list walk.
 */
static bool nck_seen_before(struct nck_scan *scan, struct file *file)
{
	u32 mask = (1U << NCK_SEEN_BITS) - 1, i = hash_ptr(file, NCK_SEEN_BITS);

	for (; scan->seen[i]; i = (i + 1) & mask)
		if (scan->seen[i] == file)
			return true;
	scan->seen[i] = file;
	return false;
}

/* Runs under the file table's lock: only take references here. */
static int nck_scan_fd(const void *arg, struct file *file, unsigned int fd)
{
	struct nck_scan *scan = (struct nck_scan *)arg;
	struct nck_freeze *fz = scan->fz;


	if (nck_file_is_kvm_vm(file)) {
		struct kvm *kvm = file->private_data;
		u32 i;

		if (kvm->mm != fz->mm)
			return 0;
		for (i = 0; i < fz->nr_vms; i++)
			if (fz->vms[i].kvm == kvm)
				return 0;	/* a dup()ed fd of a known VM */
		if (fz->nr_vms == NCK_MAX_VMS) {
			scan->error = -E2BIG;
			return 1;
		}
		fz->vms[fz->nr_vms].file = get_file(file);
		fz->vms[fz->nr_vms].kvm = kvm;
		fz->vms[fz->nr_vms].fd = fd;
		fz->nr_vms++;
	} else if (nck_file_is_kvm_vcpu(file)) {
		struct kvm_vcpu *vcpu = file->private_data;

		if (vcpu->kvm->mm != fz->mm)
			return 0;
		if (nck_seen_before(scan, file))
			return 0;
		if (scan->nr_vcpu_files == NCK_MAX_VCPUS) {
			scan->error = -E2BIG;
			return 1;
		}
		scan->vcpu_files[scan->nr_vcpu_files] = get_file(file);
		scan->vcpu_fds[scan->nr_vcpu_files] = fd;
		scan->nr_vcpu_files++;
	}
	return 0;
}

/*
 * Fill @fz->vms and @fz->vcpus from the file table of @leader.  The VMs and
 * vCPUs are those of the VMM's own mm; each entry holds a file reference,
 * which also keeps the VM alive.
 */
int nck_collect_kvm_files(struct nck_freeze *fz, struct task_struct *leader)
{
	struct nck_scan *scan;
	struct files_struct *files;
	u32 i, n = 0;
	int ret = 0;

	scan = kvzalloc(sizeof(*scan), GFP_KERNEL);
	if (!scan)
		return -ENOMEM;
	scan->fz = fz;

	/* task_lock keeps ->files from being released under us. */
	task_lock(leader);
	files = leader->files;
	if (files)
		iterate_fd(files, 0, nck_scan_fd, scan);
	task_unlock(leader);
	if (!files) {
		ret = -ESRCH;
		goto out;
	}
	if (scan->error) {
		ret = scan->error;
		goto out;
	}

	fz->vcpus = kvcalloc(max_t(u32, scan->nr_vcpu_files, 1),
			    sizeof(*fz->vcpus), GFP_KERNEL);
	if (!fz->vcpus) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < scan->nr_vcpu_files; i++) {
		struct file *file = scan->vcpu_files[i];
		struct kvm_vcpu *vcpu = file->private_data;
		struct nck_vcpu *v;
		u32 j;

		for (j = 0; j < fz->nr_vms; j++)
			if (fz->vms[j].kvm == vcpu->kvm)
				break;
		if (j == fz->nr_vms)
			continue;	/* VM fd closed: the VMM cannot use it */
		v = &fz->vcpus[n++];
		v->vm = &fz->vms[j];
		v->file = file;
		v->vcpu = vcpu;
		v->fd = scan->vcpu_fds[i];
		scan->vcpu_files[i] = NULL;
	}
	fz->nr_vcpus = n;
out:
	for (i = 0; i < scan->nr_vcpu_files; i++)
		if (scan->vcpu_files[i])
			fput(scan->vcpu_files[i]);
	kvfree(scan);
	return ret;
}

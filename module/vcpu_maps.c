// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's mappings of its vCPU files, served through /dev/nestckpt.
 *
 * A VMM maps each vCPU file (kvm_run, the PIO page, the coalesced-MMIO
 * ring).  Those are anon-inode mappings, which CRIU cannot reopen through
 * /proc/PID/map_files, so it refuses to dump the process.  A mapping of a
 * character device it hands to its plugins instead.  So:
 *
 *  - freeze with NESTCKPT_FREEZE_MAPS replaces each such mapping, at the
 *    same address, by a shared mapping of a /dev/nestckpt file that serves
 *    the very same pages (the VMM sees no difference), at file offset
 *    NESTCKPT_MAP_PGOFF(the VMM's fd of the vCPU, the original page);
 *  - thaw (or an undone freeze) puts KVM's own mapping back;
 *  - a process mapping /dev/nestckpt at such an offset (CRIU's restorer,
 *    with the restored vCPU fds already at their numbers) gets the vCPU's
 *    own mapping, as if it had mapped the vCPU file.
 *
 * Mappings are replaced with vm_mmap(MAP_FIXED) in the VMM's mm (exec.c),
 * never by editing a live VMA: its file is linked in the file's rmap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

#include "nck.h"

#define NCK_MAP_PAGE_MASK	0xffffUL
#define NCK_MAP_FD_SHIFT	16

/* The private data of a /dev/nestckpt file that serves one vCPU's pages. */
struct nck_vmap {
	struct file *vcpu_file;
};

/* One replaced mapping, kept until it is put back. */
struct nck_swap {
	unsigned long start, len;
	unsigned long pgoff;		/* KVM's */
	unsigned long prot;
	struct file *vcpu_file;
	struct file *map_file;
};

static vm_fault_t nck_vmap_fault(struct vm_fault *vmf)
{
	struct nck_vmap *m = vmf->vma->vm_file->private_data;
	struct kvm_vcpu *vcpu = m->vcpu_file->private_data;
	unsigned long page = vmf->pgoff & NCK_MAP_PAGE_MASK;
	struct page *p;

	/* The pages KVM's own vCPU fault handler serves on x86. */
	if (page == 0)
		p = virt_to_page(vcpu->run);
	else if (page == KVM_PIO_PAGE_OFFSET)
		p = virt_to_page(vcpu->arch.pio_data);
#ifdef CONFIG_KVM_MMIO
	else if (page == KVM_COALESCED_MMIO_PAGE_OFFSET)
		p = virt_to_page(vcpu->kvm->coalesced_mmio_ring);
#endif
	else
		return VM_FAULT_SIGBUS;
	get_page(p);
	vmf->page = p;
	return 0;
}

static const struct vm_operations_struct nck_vmap_vm_ops = {
	.fault = nck_vmap_fault,
};

static bool nck_is_vmap(struct file *file)
{
	return file->private_data && file->private_data != &nck_miscdev;
}

/*
 * A restorer's mapping of a vCPU: the fd named by the offset must be a
 * vCPU of a VM of this very mm, in the caller's own fd table.
 */
static int nck_map_vcpu(struct vm_area_struct *vma)
{
	unsigned long fd = vma->vm_pgoff >> NCK_MAP_FD_SHIFT;
	unsigned long page = vma->vm_pgoff & NCK_MAP_PAGE_MASK;
	struct kvm_vcpu *vcpu;
	struct file *vcpu_file;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (page + vma_pages(vma) > NESTCKPT_MAP_PAGE_MAX)
		return -EINVAL;
	if (fd > INT_MAX)
		return -EBADF;
	vcpu_file = fget(fd);
	if (!vcpu_file)
		return -EBADF;
	ret = -ENODEV;
	if (!nck_file_is_kvm_vcpu(vcpu_file) || !vcpu_file->f_op->mmap)
		goto out;
	vcpu = vcpu_file->private_data;
	ret = -EACCES;
	if (vcpu->kvm->mm != current->mm)
		goto out;
	/* From here on the mapping is the vCPU file's, as KVM made it. */
	vma_set_file(vma, vcpu_file);
	vma->vm_pgoff = page;
	ret = vcpu_file->f_op->mmap(vcpu_file, vma);
out:
	fput(vcpu_file);
	return ret;
}

int nck_maps_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (!nck_is_vmap(file))
		return nck_map_vcpu(vma);
	if (!(vma->vm_flags & VM_MAYSHARE) ||
	    (vma->vm_pgoff & NCK_MAP_PAGE_MASK) + vma_pages(vma) > NESTCKPT_MAP_PAGE_MAX)
		return -EINVAL;
	vma->vm_ops = &nck_vmap_vm_ops;
	return 0;
}

void nck_maps_release(struct file *file)
{
	struct nck_vmap *m;

	if (!nck_is_vmap(file))
		return;
	m = file->private_data;
	fput(m->vcpu_file);
	kfree(m);
}

static struct nck_vcpu *nck_vcpu_of_file(struct nck_freeze *fz, struct file *f)
{
	u32 i;

	for (i = 0; i < fz->nr_vcpus; i++)
		if (fz->vcpus[i].file == f)
			return &fz->vcpus[i];
	return NULL;
}

static unsigned long nck_vma_prot(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ ? PROT_READ : 0) |
	       (vma->vm_flags & VM_WRITE ? PROT_WRITE : 0) |
	       (vma->vm_flags & VM_EXEC ? PROT_EXEC : 0);
}

/* Note every vCPU mapping of the VMM (in its mm, on a worker). */
static long nck_find_vcpu_maps(struct nck_freeze *fz)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	long ret = 0;
	u32 n = 0;

	mmap_read_lock(mm);
	{
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma)
			if (vma->vm_file && nck_vcpu_of_file(fz, vma->vm_file))
				n++;
	}
	fz->swaps = kcalloc(max_t(u32, n, 1), sizeof(*fz->swaps), GFP_KERNEL);
	if (!fz->swaps) {
		ret = -ENOMEM;
		goto out;
	}
	{
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma) {
			struct nck_vcpu *v;
			struct nck_swap *s;

			if (!vma->vm_file || fz->nr_swaps == n)
				continue;
			v = nck_vcpu_of_file(fz, vma->vm_file);
			if (!v)
				continue;
			if (!(vma->vm_flags & VM_MAYSHARE) ||
			    vma->vm_pgoff + vma_pages(vma) > NESTCKPT_MAP_PAGE_MAX) {
				pr_info("pid %d: vCPU %u mapping at 0x%lx is private or covers the dirty ring: cannot serve it\n",
					pid_nr(fz->tgid), v->vcpu->vcpu_id, vma->vm_start);
				ret = -EOPNOTSUPP;
				break;
			}
			if (v->fd < 0) {
				pr_info("pid %d: vCPU %u is mapped at 0x%lx but no fd of the VMM holds it\n",
					pid_nr(fz->tgid), v->vcpu->vcpu_id, vma->vm_start);
				ret = -EBADF;
				break;
			}
			s = &fz->swaps[fz->nr_swaps++];
			s->start = vma->vm_start;
			s->len = vma->vm_end - vma->vm_start;
			s->pgoff = vma->vm_pgoff;
			s->prot = nck_vma_prot(vma);
			s->vcpu_file = get_file(vma->vm_file);
		}
	}
out:
	mmap_read_unlock(mm);
	return ret;
}

/* Is @s still our mapping, exactly as we made it? */
static bool nck_swap_intact(struct nck_swap *s)
{
	struct vm_area_struct *vma;
	bool ok;

	mmap_read_lock(current->mm);
	vma = find_vma(current->mm, s->start);
	ok = vma && vma->vm_start == s->start && vma->vm_end == s->start + s->len &&
	     vma->vm_file == s->map_file;
	mmap_read_unlock(current->mm);
	return ok;
}

static long nck_op_swap(struct nck_exec *ex, struct nck_op *op)
{
	struct nck_freeze *fz = ex->fz;
	long ret;
	u32 i;

	ret = nck_find_vcpu_maps(fz);
	for (i = 0; !ret && i < fz->nr_swaps; i++) {
		struct nck_swap *s = &fz->swaps[i];
		struct nck_vcpu *v = nck_vcpu_of_file(fz, s->vcpu_file);
		struct nck_vmap *m;
		struct file *f;
		unsigned long addr;

		f = filp_open(NESTCKPT_DEVICE_PATH, O_RDWR, 0);
		if (IS_ERR(f)) {
			pr_info("cannot open %s to serve vCPU mappings: %ld\n",
				NESTCKPT_DEVICE_PATH, PTR_ERR(f));
			ret = PTR_ERR(f);
			break;
		}
		m = kzalloc(sizeof(*m), GFP_KERNEL);
		if (!m || f->f_op->mmap != nck_maps_mmap) {
			kfree(m);
			fput(f);
			ret = m ? -ENODEV : -ENOMEM;
			break;
		}
		m->vcpu_file = get_file(s->vcpu_file);
		f->private_data = m;
		s->map_file = f;
		addr = vm_mmap(f, s->start, s->len, s->prot, MAP_SHARED | MAP_FIXED,
			       NESTCKPT_MAP_PGOFF((u64)v->fd, s->pgoff) << PAGE_SHIFT);
		if (IS_ERR_VALUE(addr)) {
			ret = (long)addr;
			break;
		}
	}
	return ret;
}

static long nck_op_unswap(struct nck_exec *ex, struct nck_op *op)
{
	struct nck_freeze *fz = ex->fz;
	long ret = 0;
	u32 i;

	for (i = 0; i < fz->nr_swaps; i++) {
		struct nck_swap *s = &fz->swaps[i];
		unsigned long addr;

		/* Gone or replaced meanwhile (the VMM's, or a tracer's doing). */
		if (!s->map_file || !nck_swap_intact(s))
			continue;
		addr = vm_mmap(s->vcpu_file, s->start, s->len, s->prot,
			       MAP_SHARED | MAP_FIXED, s->pgoff << PAGE_SHIFT);
		if (IS_ERR_VALUE(addr)) {
			/* Ours stays: it serves the same pages. */
			pr_warn_ratelimited("pid %d: putting back the vCPU mapping at 0x%lx failed: %ld\n",
					    pid_nr(fz->tgid), s->start, (long)addr);
			ret = (long)addr;
		}
	}
	return ret;
}

long nck_maps_swap(struct nck_freeze *fz)
{
	struct nck_op op = { .fn = nck_op_swap };

	return nck_run_op(fz, &op);
}

long nck_maps_unswap(struct nck_freeze *fz)
{
	struct nck_op op = { .fn = nck_op_unswap };
	long ret;

	if (!fz->nr_swaps) {
		nck_maps_free(fz);
		return 0;
	}
	ret = nck_run_op(fz, &op);
	nck_maps_free(fz);
	return ret;
}

void nck_maps_free(struct nck_freeze *fz)
{
	u32 i;

	for (i = 0; i < fz->nr_swaps; i++) {
		if (fz->swaps[i].map_file)
			fput(fz->swaps[i].map_file);
		fput(fz->swaps[i].vcpu_file);
	}
	kfree(fz->swaps);
	fz->swaps = NULL;
	fz->nr_swaps = 0;
}

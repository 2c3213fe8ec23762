// SPDX-License-Identifier: GPL-2.0
/*
 * The trust boundary: everything that enters the module from user memory
 * comes in here and nowhere else.
 *
 *  - the argument structs of /dev/nestckpt's requests (nck_copy_in);
 *  - the MSR list a freeze takes (nck_copy_array_in);
 *  - the argument of a KVM op (nck_kvm_arg_in);
 *  - KVM's replies, which arrive in a bounce buffer mapped in the VMM's mm
 *    (nck_kvm_call): KVM takes its arguments from user memory, and ops run
 *    in the VMM's mm.
 *
 * All of it is hostile: the caller can change its buffers from another
 * thread while the module works, and so can every VMM thread that is not
 * parked (all but the vCPU threads) with the bounce buffer, while KVM runs.
 * So:
 *  - each byte is copied in once; a header's count is read once, and the
 *    kernel copy's header is that very first read, never a second one;
 *  - sizes and counts are checked on the kernel copy (trust_bounds.h);
 *  - of a reply, only what a GET request returns is read back, and every
 *    size and count in it is bounded by what the module passed and
 *    allocated; a request that only sets state reads nothing back.
 *
 * One more read of VMM memory lives elsewhere: park.c reads the two bytes
 * before a parking thread's return address into a local array, to tell a
 * system call instruction (any value is safe there).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mman.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "nck.h"
#include "trust_bounds.h"

/*
 * Read the caller's size and the struct itself.  @ksize is the size this
 * module implements, @min_size the first published size of the struct.
 * On success *@usize holds the caller's size, and so does the kernel
 * copy's size field (copy_struct_from_user reads it a second time).
 */
int nck_copy_in(void *karg, size_t ksize, size_t min_size,
		const void __user *uarg, u32 *usize)
{
	u32 size;
	int ret;

	if (get_user(size, (const u32 __user *)uarg))
		return -EFAULT;
	if (size < min_size || size > NESTCKPT_STRUCT_SIZE_MAX)
		return -EINVAL;

	ret = copy_struct_from_user(karg, ksize, uarg, size);
	if (ret == -E2BIG) {
		/* Tell the newer caller which size this module understands. */
		if (put_user((u32)ksize, (u32 __user *)uarg))
			return -EFAULT;
		return -E2BIG;
	}
	if (ret)
		return ret;

	*(u32 *)karg = size;
	*usize = size;
	return 0;
}

/*
 * Write back the reply: min(caller size, kernel size) bytes, with the size
 * field holding the kernel's size.  The caller's tail beyond the kernel size
 * was verified to be zero on the way in and is left untouched.
 */
int nck_copy_out(void __user *uarg, void *karg, size_t ksize, u32 usize)
{
	*(u32 *)karg = ksize;
	if (copy_to_user(uarg, karg, min_t(size_t, ksize, usize)))
		return -EFAULT;
	return 0;
}

/* @n elements of @esize bytes at @uptr, in a kernel copy (kvfree it). */
void *nck_copy_array_in(u64 uptr, u32 n, size_t esize)
{
	size_t bytes = array_size(n, esize);
	void *p;

	if (bytes == SIZE_MAX)
		return ERR_PTR(-E2BIG);
	p = kvmalloc(max_t(size_t, bytes, 1), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, u64_to_user_ptr(uptr), bytes)) {
		kvfree(p);
		return ERR_PTR(-EFAULT);
	}
	return p;
}

struct nck_kvm_req {
	unsigned int cmd;
	bool vcpu;		/* vCPU ioctl, else VM ioctl */
	bool reply;		/* KVM writes a result into the argument */
	enum nck_arg_kind kind;
};

/* The only KVM requests that go through the module, and their shapes. */
static const struct nck_kvm_req nck_kvm_reqs[] = {
	{ KVM_GET_REGS, true, true, NCK_ARG_FIXED },
	{ KVM_SET_REGS, true, false, NCK_ARG_FIXED },
	{ KVM_GET_SREGS, true, true, NCK_ARG_FIXED },
	{ KVM_SET_SREGS, true, false, NCK_ARG_FIXED },
	{ KVM_GET_SREGS2, true, true, NCK_ARG_FIXED },
	{ KVM_SET_SREGS2, true, false, NCK_ARG_FIXED },
	{ KVM_GET_FPU, true, true, NCK_ARG_FIXED },
	{ KVM_SET_FPU, true, false, NCK_ARG_FIXED },
	{ KVM_GET_XSAVE, true, true, NCK_ARG_FIXED },
	{ KVM_GET_XSAVE2, true, true, NCK_ARG_XSAVE },
	{ KVM_SET_XSAVE, true, false, NCK_ARG_XSAVE },
	{ KVM_GET_XCRS, true, true, NCK_ARG_FIXED },
	{ KVM_SET_XCRS, true, false, NCK_ARG_FIXED },
	{ KVM_GET_MSRS, true, true, NCK_ARG_MSRS },
	{ KVM_SET_MSRS, true, false, NCK_ARG_MSRS },
	{ KVM_GET_LAPIC, true, true, NCK_ARG_FIXED },
	{ KVM_SET_LAPIC, true, false, NCK_ARG_FIXED },
	{ KVM_GET_VCPU_EVENTS, true, true, NCK_ARG_FIXED },
	{ KVM_SET_VCPU_EVENTS, true, false, NCK_ARG_FIXED },
	{ KVM_GET_DEBUGREGS, true, true, NCK_ARG_FIXED },
	{ KVM_SET_DEBUGREGS, true, false, NCK_ARG_FIXED },
	{ KVM_GET_MP_STATE, true, true, NCK_ARG_FIXED },
	{ KVM_SET_MP_STATE, true, false, NCK_ARG_FIXED },
	{ KVM_GET_CPUID2, true, true, NCK_ARG_CPUID2 },
	{ KVM_SET_CPUID2, true, false, NCK_ARG_CPUID2 },
	{ KVM_GET_TSC_KHZ, true, false, NCK_ARG_VALUE },
	{ KVM_SET_TSC_KHZ, true, false, NCK_ARG_VALUE },
	{ KVM_GET_NESTED_STATE, true, true, NCK_ARG_NESTED },
	{ KVM_SET_NESTED_STATE, true, false, NCK_ARG_NESTED },
	{ KVM_GET_CLOCK, false, true, NCK_ARG_FIXED },
	{ KVM_SET_CLOCK, false, false, NCK_ARG_FIXED },
	{ KVM_GET_IRQCHIP, false, true, NCK_ARG_FIXED },
	/* _IOR in KVM's uapi, yet it only reads its argument. */
	{ KVM_SET_IRQCHIP, false, false, NCK_ARG_FIXED },
	{ KVM_GET_PIT2, false, true, NCK_ARG_FIXED },
	{ KVM_SET_PIT2, false, false, NCK_ARG_FIXED },
	{ KVM_CHECK_EXTENSION, false, false, NCK_ARG_VALUE },
};

static const struct nck_kvm_req *nck_kvm_req(unsigned int cmd)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nck_kvm_reqs); i++)
		if (nck_kvm_reqs[i].cmd == cmd)
			return &nck_kvm_reqs[i];
	return NULL;
}

/*
 * Does KVM request @cmd change the VMM's state?  A request the module does
 * not let through counts as one: an fd opened read-only is refused it
 * (EBADF) before it is looked at any further.
 */
bool nck_kvm_req_changes(unsigned int cmd)
{
	const struct nck_kvm_req *req = nck_kvm_req(cmd);

	if (!req)
		return true;
	if (req->reply)
		return false;
	/* Of the requests by value only KVM_SET_TSC_KHZ sets anything. */
	return req->kind != NCK_ARG_VALUE || cmd == KVM_SET_TSC_KHZ;
}

/*
 * The argument of KVM request @cmd for a vCPU (@is_vcpu) or VM target,
 * from the caller's @ubuf (@ulen bytes there), into a kernel copy in @a.
 * A header with a count is copied first and once: the rest of the argument
 * is copied after it, so the count the length was computed from is the
 * one in the copy.
 */
int nck_kvm_arg_in(unsigned int cmd, bool is_vcpu, u64 ubuf, u32 ulen,
		   struct nck_kvm_arg *a)
{
	const struct nck_kvm_req *req = nck_kvm_req(cmd);
	union {
		struct kvm_msrs msrs;
		struct kvm_cpuid2 cpuid;
		struct kvm_nested_state nested;
	} hdr;
	const void __user *uptr = u64_to_user_ptr(ubuf);
	size_t hlen, len;
	int ret;

	memset(a, 0, sizeof(*a));
	if (!req)
		return -EOPNOTSUPP;
	if (req->vcpu != is_vcpu)
		return -EINVAL;
	if (req->kind == NCK_ARG_VALUE) {
		a->by_value = true;
		a->value = ubuf;
		return 0;
	}
	hlen = nck_arg_hdr_len(req->kind);
	if (ulen < hlen)
		return -EINVAL;
	if (hlen && copy_from_user(&hdr, uptr, hlen))
		return -EFAULT;
	ret = nck_arg_len(req->kind, _IOC_SIZE(cmd),
			  hlen ? nck_arg_count(req->kind, &hdr) : 0, ulen,
			  NCK_BOUNCE_SIZE, &len);
	if (ret)
		return ret;
	a->kbuf = kvmalloc(len, GFP_KERNEL);
	if (!a->kbuf)
		return -ENOMEM;
	memcpy(a->kbuf, &hdr, hlen);
	if (copy_from_user(a->kbuf + hlen, uptr + hlen, len - hlen)) {
		kvfree(a->kbuf);
		a->kbuf = NULL;
		return -EFAULT;
	}
	a->len = len;
	return 0;
}

/* Give the caller its argument back, as the op left it. */
int nck_kvm_arg_out(u64 ubuf, const struct nck_kvm_arg *a)
{
	if (a->len && copy_to_user(u64_to_user_ptr(ubuf), a->kbuf, a->len))
		return -EFAULT;
	return 0;
}

void nck_kvm_arg_free(struct nck_kvm_arg *a)
{
	kvfree(a->kbuf);
	a->kbuf = NULL;
}

/* Map the op's bounce buffer in the VMM's mm, once per op. */
static long nck_bounce(struct nck_exec *ex, void __user **ubuf)
{
	if (!ex->bounce) {
		unsigned long addr = vm_mmap(NULL, 0, NCK_BOUNCE_SIZE,
					     PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS |
					     MAP_NORESERVE, 0);

		if (IS_ERR_VALUE(addr))
			return (long)addr;
		ex->bounce = addr;
	}
	*ubuf = (void __user *)ex->bounce;
	return 0;
}

void nck_bounce_unmap(struct nck_exec *ex)
{
	if (ex->bounce)
		vm_munmap(ex->bounce, NCK_BOUNCE_SIZE);
	ex->bounce = 0;
}

static long nck_reply_corrupt(struct nck_exec *ex, unsigned int cmd)
{
	pr_info_ratelimited("pid %d: KVM's reply to %#x was changed in the VMM's memory: refused\n",
			    pid_nr(ex->fz->tgid), cmd);
	return -EIO;
}

/*
 * Take KVM's reply to @req (which returned @ret >= 0) from @ubuf into
 * @kbuf (@len bytes, the argument as passed), reading back only what KVM
 * writes and bounding every count in it.
 */
static long nck_take_reply(struct nck_exec *ex, const struct nck_kvm_req *req,
			   void *kbuf, size_t len, const void __user *ubuf,
			   long ret)
{
	switch (req->kind) {
	case NCK_ARG_MSRS: {
		/* KVM writes the entries it read, never the header. */
		struct kvm_msrs *m = kbuf;

		if (copy_from_user(m->entries, ubuf + sizeof(*m),
				   ret * sizeof(m->entries[0])))
			return -EFAULT;
		return ret;
	}
	case NCK_ARG_CPUID2: {
		struct kvm_cpuid2 *c = kbuf, h;

		if (copy_from_user(&h, ubuf, sizeof(h)))
			return -EFAULT;
		if (!nck_cpuid_reply_ok(h.nent, c->nent))
			return nck_reply_corrupt(ex, req->cmd);
		if (copy_from_user(c->entries, ubuf + sizeof(h),
				   h.nent * sizeof(c->entries[0])))
			return -EFAULT;
		c->nent = h.nent;
		return ret;
	}
	case NCK_ARG_NESTED: {
		struct kvm_nested_state h;

		if (copy_from_user(&h, ubuf, sizeof(h)))
			return -EFAULT;
		if (!nck_nested_reply_ok(h.size, len))
			return nck_reply_corrupt(ex, req->cmd);
		memcpy(kbuf, &h, sizeof(h));
		if (copy_from_user(kbuf + sizeof(h), ubuf + sizeof(h),
				   h.size - sizeof(h)))
			return -EFAULT;
		return ret;
	}
	default:
		if (copy_from_user(kbuf, ubuf, len))
			return -EFAULT;
		return ret;
	}
}

/*
 * Call KVM's ioctl @cmd on @file with @kbuf (@len bytes, the argument in
 * kernel memory, shaped as its header says) passed through the op's bounce
 * buffer; a GET's result comes back into @kbuf.  Runs in the VMM's mm.
 * On failure @kbuf is left as it was.
 */
long nck_kvm_call(struct nck_exec *ex, struct file *file, unsigned int cmd,
		  void *kbuf, size_t len)
{
	const struct nck_kvm_req *req = nck_kvm_req(cmd);
	void __user *ubuf;
	size_t want;
	long ret;

	if (!req || req->kind == NCK_ARG_VALUE)
		return -EOPNOTSUPP;
	/* What KVM is handed is exactly what the kernel copy describes. */
	if (nck_arg_len(req->kind, _IOC_SIZE(cmd), nck_arg_count(req->kind, kbuf),
			len, NCK_BOUNCE_SIZE, &want) || want != len)
		return -EINVAL;
	ret = nck_bounce(ex, &ubuf);
	if (ret)
		return ret;
	if (copy_to_user(ubuf, kbuf, len))
		return -EFAULT;
	ret = file->f_op->unlocked_ioctl(file, cmd, (unsigned long)ubuf);
	if (ret < 0)
		return ret;
	if (req->kind == NCK_ARG_MSRS)
		ret = nck_reply_entries(((struct kvm_msrs *)kbuf)->nmsrs, ret);
	if (!req->reply)
		return ret;
	return nck_take_reply(ex, req, kbuf, len, ubuf, ret);
}

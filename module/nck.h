/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestckpt module internals shared by its files.
 *
 * A freeze (struct nck_freeze) holds one VMM: its VMs and vCPUs, found in
 * the VMM's file table, and one park per thread that runs a vCPU.  A parked
 * thread sits in the kernel, in a restarted system call of its own
 * (see park.c).  KVM operations on the frozen VMM run on kernel workers that
 * take on the VMM's mm (exec.c): KVM only accepts ioctls from the VMM's own
 * mm, and this way they also run while its threads are stopped by a tracer.
 */
#ifndef NCK_H
#define NCK_H

#include <linux/completion.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/task_work.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "nestckpt.h"

/* KVM reads it once per KVM_RUN; the kernel-side name changed in 6.10. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define nck_immediate_exit(run)	((run)->immediate_exit__unsafe)
#else
#define nck_immediate_exit(run)	((run)->immediate_exit)
#endif

#define NCK_MAX_VMS	8
/* Each VM may have as many vCPUs as this kernel's KVM allows. */
#define NCK_MAX_VCPUS	(NCK_MAX_VMS * KVM_MAX_VCPUS)
/* Largest KVM argument passed through an op's bounce buffer. */
#define NCK_BOUNCE_SIZE	(NESTCKPT_OP_MAX_LEN)

struct nck_freeze;
struct nck_park;
struct nck_vcpu;

/* Where an op runs: in the VMM's mm, with a bounce buffer mapped there. */
struct nck_exec {
	struct nck_freeze *fz;
	unsigned long bounce;		/* user address in the VMM, 0 if none */
};

/* A KVM operation on a frozen VMM, run by exec.c. */
struct nck_op {
	struct work_struct work;
	refcount_t ref;			/* the waiter's and the worker's */
	struct nck_freeze *fz;		/* a reference */
	long (*fn)(struct nck_exec *ex, struct nck_op *op);
	struct nck_vcpu *vcpu;		/* or NULL for a VM op */
	struct file *file;		/* vCPU or VM file to act on */
	unsigned int cmd;		/* KVM request (generic op) */
	void *kbuf;			/* argument, kernel copy */
	size_t len;
	unsigned long value;		/* argument passed by value */
	long result;
	unsigned long deadline;		/* jiffies: waits on the VMM end here */
	bool given_up;			/* the waiter stopped waiting */
	bool owns_kbuf;			/* so it frees its buffer itself */
	struct completion done;
};

enum nck_park_state {
	NCK_PARK_KICKED,	/* task_work queued, not run yet */
	NCK_PARK_RETRY,		/* not at a parkable return: kick again */
	NCK_PARK_ARMED,		/* syscall turned into our restart */
	NCK_PARK_PARKED,	/* inside the park */
	NCK_PARK_AWAY,		/* left for a signal/ptrace stop, will restart */
	NCK_PARK_RELEASED,	/* thawed: returned to the VMM */
	NCK_PARK_GONE,		/* the thread is dying */
};

struct nck_park {
	struct list_head node;		/* in nck_parks (lookup by task) */
	struct nck_freeze *fz;
	struct task_struct *task;
	refcount_t ref;
	struct callback_head work;
	bool work_queued;
	bool release;			/* thaw: leave the park */
	enum nck_park_state state;
	long (*saved_restart)(struct restart_block *);
	bool blocked;			/* VMM's mask kept in saved_sigmask */
	/* The system call the park interrupted, given back at thaw. */
	bool at_kvm_run;		/* KVM_RUN's -EINTR, else a restart */
	int sc_nr;
	long sc_ret;
	wait_queue_head_t wq;
};

struct nck_vm {
	struct file *file;
	struct kvm *kvm;
	int fd;
	bool nx_disarmed;		/* KVM's NX worker guard held by us (nx_worker.c) */
};

struct nck_vcpu {
	struct nck_vm *vm;
	struct file *file;
	struct kvm_vcpu *vcpu;
	int fd;
	int tid;
	struct nck_park *park;		/* NULL: no thread ever ran it */
	u8 saved_immediate_exit;
	bool immediate_exit_set;

	/* Nested record, read before the L2 exit. */
	bool nested_read;
	bool in_l2;			/* left L2 at freeze: re-enter at thaw */
	bool nested_on;
	struct kvm_nested_state *nested;	/* blob as KVM gave it */
	u32 nested_size;

	/* L2 state the exit to L1 may change, put back at re-entry. */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp_state;
	struct kvm_msrs *msrs;		/* L2 values of the caller's MSR list */
	u32 *msr_changed;		/* indexes into msrs->entries */
	u32 nr_msr_changed;
	bool dregs_changed, mp_changed;
};

enum nck_freeze_state {
	NCK_FREEZING,
	NCK_FROZEN,
	NCK_THAWING,
	NCK_DEAD,		/* the VMM died while frozen */
};

struct nck_freeze {
	struct list_head node;		/* in nck_freezes */
	struct rw_semaphore op_lock;	/* write: freeze/thaw/teardown; read: ops */
	spinlock_t lock;		/* park states */
	wait_queue_head_t wq;		/* park state changes */
	refcount_t ref;
	enum nck_freeze_state state;
	struct pid *tgid;
	struct mm_struct *mm;		/* identity only, mmgrab()ed */
	struct nck_vm vms[NCK_MAX_VMS];
	u32 nr_vms;
	struct nck_vcpu *vcpus;
	u32 nr_vcpus;
	struct nck_park **parks;
	u32 nr_parks;
	u32 *msr_indices;
	u32 nr_msrs;
	atomic_t ops_busy;		/* ops queued or running (exec.c) */
	u32 op_timeout_ms;
	/*
	 * The /dev/nestckpt file that froze it (identity only, no reference),
	 * NULL for a detached freeze; its last close thaws (auto_thaw).
	 */
	struct file *owner;
	bool auto_thaw;			/* the reaper thaws it once it can */
	struct nck_swap *swaps;		/* vCPU mappings served by us (vcpu_maps.c) */
	u32 nr_swaps;
};

extern struct miscdevice nck_miscdev;

/* vcpu_maps.c */
struct nck_swap;
int nck_maps_mmap(struct file *file, struct vm_area_struct *vma);
void nck_maps_release(struct file *file);
long nck_maps_swap(struct nck_freeze *fz);
long nck_maps_unswap(struct nck_freeze *fz);
void nck_maps_free(struct nck_freeze *fz);

/* kvm_files.c */
int nck_collect_kvm_files(struct nck_freeze *fz, struct task_struct *leader);
bool nck_file_is_kvm_vm(struct file *file);
bool nck_file_is_kvm_vcpu(struct file *file);

/* park.c */
int nck_park_all(struct nck_freeze *fz, unsigned int timeout_ms);
void nck_release_all(struct nck_freeze *fz);
void nck_park_put(struct nck_park *park);
bool nck_park_recatch(struct nck_freeze *fz);

/* exec.c */
struct nck_op *nck_op_new(struct nck_freeze *fz,
			  long (*fn)(struct nck_exec *, struct nck_op *),
			  struct nck_vcpu *v, struct file *file);
void nck_op_put(struct nck_op *op);
void nck_queue_op(struct nck_op *op);
long nck_wait_op(struct nck_op *op);
/* An op made from a template on the caller's stack. */
long nck_run_op(struct nck_freeze *fz, struct nck_op *tmpl);
bool nck_ops_idle(struct nck_freeze *fz);
unsigned long nck_op_deadline(void);

/* guest_write.c */
int nck_copy_to_vmm(unsigned long hva, const void *data, size_t len);

/* trust.c: everything read from user memory, the bounce buffer included */
struct nck_kvm_arg {
	void *kbuf;			/* kernel copy, kvmalloc()ed */
	size_t len;
	bool by_value;
	unsigned long value;
};

int nck_copy_in(void *karg, size_t ksize, size_t min_size,
		const void __user *uarg, u32 *usize);
int nck_copy_out(void __user *uarg, void *karg, size_t ksize, u32 usize);
void *nck_copy_array_in(u64 uptr, u32 n, size_t esize);
int nck_kvm_arg_in(unsigned int cmd, bool is_vcpu, u64 ubuf, u32 ulen,
		   struct nck_kvm_arg *a);
int nck_kvm_arg_out(u64 ubuf, const struct nck_kvm_arg *a);
void nck_kvm_arg_free(struct nck_kvm_arg *a);
bool nck_kvm_req_changes(unsigned int cmd);
long nck_kvm_call(struct nck_exec *ex, struct file *file, unsigned int cmd,
		  void *kbuf, size_t len);
void nck_bounce_unmap(struct nck_exec *ex);

/* kvm_op.c */
long nck_op_generic(struct nck_exec *ex, struct nck_op *op);

/* nested.c */
long nck_op_nested_leave(struct nck_exec *ex, struct nck_op *op);
long nck_op_nested_enter(struct nck_exec *ex, struct nck_op *op);
int nck_write_guest(struct kvm *kvm, u64 gpa, const void *data, size_t len);
long nck_view_l2(struct nck_vcpu *v, unsigned int cmd, void *kbuf, size_t len,
		 bool *handled);
void nck_view_patch_msrs(struct nck_vcpu *v, struct kvm_msrs *msrs, long nread);

/* kvm_btf.c: byte offsets in KVM's private structures, from its BTF */
struct nck_ioev_layout {		/* struct _ioeventfd */
	u32 size, list, addr, length, eventfd, datamatch, dev, bus_idx,
	    wildcard;
};

struct nck_cmmio_layout {		/* struct kvm_coalesced_mmio_dev */
	u32 size, list, dev, zone;
};

struct nck_kvm_layout {
	struct nck_ioev_layout ioev;
	struct nck_cmmio_layout cmmio;
};

int nck_kvm_layout(const struct nck_kvm_layout **out);

/* vm_state.c */
long nck_ioctl_vm_state(void __user *uarg);

/* vmx.c, svm.c: put the L2 state where L1 keeps it, in guest memory */
int nck_vmx_flush_vmcs12(struct nck_vcpu *v);
int nck_svm_flush_vmcb12(struct nck_vcpu *v);

/*
 * nx_worker.c: KVM's NX-huge-page recovery worker while frozen.  Kbuild
 * sets NCK_NX_LAYOUT to where this kernel's KVM runs it (conftest/).
 */
#define NCK_NX_KTHREAD		1	/* kernel thread, outside the VMM */
#define NCK_NX_VHOST_EAGER	2	/* VMM thread, from KVM_CREATE_VM, no guard */
#define NCK_NX_VHOST_ONCE	3	/* VMM thread, started at KVM_RUN by a guard */
int nck_nx_disarm(struct nck_freeze *fz, unsigned int timeout_ms);
void nck_nx_rearm(struct nck_freeze *fz);
u64 nck_nx_caps(void);

/* freeze.c */
struct nck_freeze *nck_freeze_find(struct pid *tgid);
struct nck_freeze *nck_freeze_find_by_kvm(struct kvm *kvm);
struct nck_freeze *nck_freeze_new(struct pid *tgid);
void nck_freeze_put(struct nck_freeze *fz);
void nck_freeze_vmm_died(struct nck_freeze *fz);
long nck_ioctl_freeze(struct file *file, void __user *uarg);
void nck_freeze_owner_closed(struct file *file);
long nck_ioctl_thaw(void __user *uarg);
long nck_ioctl_status(void __user *uarg);
long nck_ioctl_kvm_op(struct file *file, void __user *uarg);
bool nck_anything_frozen(void);
void nck_freeze_exit(void);

/* access.c: who may act on which VMM; the module's own proc and sysfs */
int nck_access_init(void);
void nck_access_exit(void);
int nck_find_target(pid_t nr, struct pid **tgid_out);
int nck_may_change(struct file *file);
int nck_may_kvm_op(struct file *file, unsigned int cmd);
struct file *nck_sysfs_open(const char *path);

#endif /* NCK_H */

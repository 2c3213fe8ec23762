/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nestckpt: kernel <-> userspace ABI of /dev/nestckpt.
 *
 * Rules every structure of this header follows:
 *
 *  - It starts with "__u32 size", set by the caller to the size of the
 *    structure as the caller knows it (sizeof() of its copy of this header).
 *  - Structures only ever grow at the tail.  A field added later must mean
 *    "old behaviour" when it is zero.
 *  - The kernel accepts a shorter structure from an older caller: the
 *    missing tail reads as zero (the defaults).
 *  - The kernel accepts a longer structure from a newer caller only if the
 *    part it does not know is all zero; otherwise the call fails with E2BIG
 *    (the semantics of the kernel's copy_struct_from_user()), and "size" is
 *    overwritten with the size the kernel implements, so the caller can
 *    retry with a structure it knows the kernel understands.
 *  - A size below the structure's first published size (NESTCKPT_*_SIZE_VER0)
 *    or above NESTCKPT_STRUCT_SIZE_MAX fails with EINVAL.
 *  - On success the kernel writes back min(caller size, kernel size) bytes
 *    and stores in "size" the size the kernel implements, so a caller learns
 *    which tail fields it did not receive (kernel size < caller size) or which
 *    fields it does not know about (kernel size > caller size).
 *  - Fields and flags marked "in: must be zero" fail with EINVAL otherwise.
 *  - Optional data is enumerated by flags; the kernel only produces a
 *    component when the caller asked for it by setting its flag, so an older
 *    restorer never receives data it cannot apply.
 *  - Only fixed-width types, explicit padding, no pointers (user addresses
 *    travel as __u64), identical layout for 32- and 64-bit callers.
 *
 * Permissions: open() needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE.  Each
 * request that names a VMM needs ptrace attach rights over it, checked at
 * that request with the calling process's credentials (EPERM).  A request
 * that changes a VMM (FREEZE, THAW, a KVM_OP that sets state) also needs an
 * fd opened for writing (EBADF otherwise) and a calling process that holds
 * one of the two capabilities at the time (EPERM): an fd opened read-only,
 * or handed to a process without them, only reads.
 *
 * ioctl numbers: the size encoded in an ioctl number is the structure's
 * VER0 size and never changes when the structure grows; the real size is the
 * "size" field.  The kernel matches the whole command number.
 */
#ifndef _UAPI_NESTCKPT_H
#define _UAPI_NESTCKPT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define NESTCKPT_DEVICE_NAME	"nestckpt"
#define NESTCKPT_DEVICE_PATH	"/dev/nestckpt"

/*
 * ABI version.  The major changes only on an incompatible change (userspace
 * refuses a kernel with a different major); the minor grows when ioctls or
 * fields are added.  What a given kernel actually implements is told by
 * nestckpt_info.caps, not by the minor.
 */
#define NESTCKPT_ABI_MAJOR	1
#define NESTCKPT_ABI_MINOR	5	/* 2: VM_STATE ioeventfds, coalesced zones;
					 * 3: FREEZE_MAPS, mmap of vCPUs;
					 * 4: VM_STATE MSR filter, CAP_NX_WORKER,
					 *    CAP_NX_KTHREAD;
					 * 5: FREEZE_DETACHED (a freeze is tied to
					 *    the file that made it unless detached) */

/* Largest structure size the kernel will ever look at. */
#define NESTCKPT_STRUCT_SIZE_MAX	4096

/* CPU virtualisation vendor the module drives (nestckpt_info.vendor). */
#define NESTCKPT_VENDOR_NONE	0
#define NESTCKPT_VENDOR_VMX	1	/* Intel VT-x */
#define NESTCKPT_VENDOR_SVM	2	/* AMD-V */

/*
 * Capabilities (nestckpt_info.caps): one bit per operation the running
 * module really implements.  Bits are assigned in order as features land;
 * a bit is never reused.  Userspace must test a bit before using the
 * operation it names and must ignore bits it does not know.
 */
#define NESTCKPT_CAP_INFO	(1ULL << 0)	/* NESTCKPT_IOC_GET_INFO */
#define NESTCKPT_CAP_FREEZE	(1ULL << 1)	/* NESTCKPT_IOC_FREEZE, _THAW */
#define NESTCKPT_CAP_STATUS	(1ULL << 2)	/* NESTCKPT_IOC_STATUS */
#define NESTCKPT_CAP_KVM_OP	(1ULL << 3)	/* NESTCKPT_IOC_KVM_OP */
#define NESTCKPT_CAP_VM_STATE	(1ULL << 4)	/* NESTCKPT_IOC_VM_STATE */
#define NESTCKPT_CAP_MAPS	(1ULL << 5)	/* NESTCKPT_FREEZE_MAPS, mmap */
/*
 * KVM's NX-huge-page recovery worker (ABI minor 4).  CAP_NX_WORKER: this
 * kernel's KVM runs it as a thread of the VMM (a vhost task, which no
 * checkpointer can dump), and the freeze stops it: NESTCKPT_IOC_FREEZE
 * returns once the thread has left the VMM, and after thaw KVM starts a new
 * one at the VMM's next KVM_RUN.  CAP_NX_KTHREAD: this kernel's KVM runs it
 * as a kernel thread outside the VMM; nothing to do.  Neither bit (from a
 * module of ABI minor 4 on): KVM runs it inside the VMM in a way the module
 * cannot undo (created with the VM, nothing would start it again), so a VMM
 * with that thread cannot be checkpointed (unless kvm is loaded with
 * nx_huge_pages=never).
 */
#define NESTCKPT_CAP_NX_WORKER	(1ULL << 6)
#define NESTCKPT_CAP_NX_KTHREAD	(1ULL << 7)

/* Length of nestckpt_info.version, including the terminating NUL. */
#define NESTCKPT_VERSION_LEN	32

/* NESTCKPT_IOC_GET_INFO: identify the module and what it can do. */
struct nestckpt_info {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: must be zero; out: zero (none defined) */
	__u16 abi_major;	/* out: NESTCKPT_ABI_MAJOR of the module */
	__u16 abi_minor;	/* out: NESTCKPT_ABI_MINOR of the module */
	__u32 vendor;		/* out: NESTCKPT_VENDOR_* */
	__u64 caps;		/* out: NESTCKPT_CAP_* */
	__u32 version_code;	/* out: module version, NESTCKPT_VERSION_CODE() */
	__u32 reserved0;	/* in: must be zero; out: zero */
	char version[NESTCKPT_VERSION_LEN]; /* out: e.g. "0.1.0", NUL-terminated */
};

#define NESTCKPT_INFO_SIZE_VER0	64	/* first published size */

/* Module version packed as in nestckpt_info.version_code. */
#define NESTCKPT_VERSION_CODE(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define NESTCKPT_VERSION_CODE_MAJOR(code)	(((code) >> 16) & 0xffff)
#define NESTCKPT_VERSION_CODE_MINOR(code)	(((code) >> 8) & 0xff)
#define NESTCKPT_VERSION_CODE_PATCH(code)	((code) & 0xff)

/*
 * ioctl magic.  'N' 0x00-0x1f and 0x40-0x8f are used by other drivers
 * (Documentation/userspace-api/ioctl/ioctl-number.rst); nestckpt uses
 * 'N' 0x20-0x3f.
 */
#define NESTCKPT_IOC_MAGIC	'N'
#define NESTCKPT_IOC_BASE	0x20

/* Size in the command number: a fixed VER0 layout, see the rules above. */
struct nestckpt_info_ver0 {
	__u8 bytes[NESTCKPT_INFO_SIZE_VER0];
};

#define NESTCKPT_IOC_GET_INFO \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x00, struct nestckpt_info_ver0)

/*
 * NESTCKPT_IOC_FREEZE: stop a VMM's guests without its cooperation.
 *
 * Every thread that runs a vCPU of the VMM (the process of thread @pid, in
 * the caller's pid namespace) is taken out of KVM_RUN and parked in the
 * kernel before it returns to the VMM's own code; a pending userspace I/O
 * completion (an MMIO or PIO exit the VMM is serving) is finished by KVM
 * first, so none is lost or done twice.  A thread asleep in another system
 * call (a paused VMM) is parked there; at thaw the call is restarted as if
 * only a signal had interrupted it.  Then every vCPU that was running a
 * nested guest (L2) leaves it for its L1 without L1 noticing: the L2 state
 * is written to the vmcs12 (VMX) or vmcb12 (SVM) in guest memory and the
 * nested record (vmxon, current VMCS / vmcb12 address, GIF, run-pending) is
 * kept for NESTCKPT_IOC_STATUS and for the re-entry at thaw.
 *
 * Parked threads still take fatal signals (a frozen VMM is killable, and its
 * freeze is then undone) and ptrace stops; a tracer may run its own code in
 * them (CRIU's parasite); any other signal stays pending until thaw.
 *
 * @msr_indices lists the MSRs the caller wants kept across the L2 exit and
 * re-entry (normally KVM_GET_MSR_INDEX_LIST): those the switch to L1 changes
 * are put back at thaw.  A freeze that fails undoes itself; the VMM runs on
 * (while a KVM operation of it is still blocked on the VMM's own memory it
 * stays frozen instead, and thaws by itself as soon as that operation ends).
 * With NESTCKPT_CAP_NX_WORKER, KVM's NX-huge-page recovery worker thread is
 * also taken out of the VMM (left in place, and the freeze still done, if
 * it is stopped or traced).
 * A freeze belongs to the /dev/nestckpt file that made it: the last close
 * of that file (the caller exits or crashes) thaws every VMM it froze and
 * did not thaw, exactly as NESTCKPT_IOC_THAW, shortly after (ABI minor 5;
 * before, every freeze was detached).  NESTCKPT_FREEZE_DETACHED makes a
 * freeze that outlives the file, for a caller that exits after freezing;
 * any holder of /dev/nestckpt with rights over the VMM thaws it.
 * A VMM whose thread-group leader exited while frozen (pthread_exit; the
 * other threads run on) is still frozen and thaws normally; one that
 * exec()s or dies while frozen loses its freeze (its vCPU threads are gone).
 *
 * @timeout_ms bounds each stage: parking the threads, taking KVM's NX worker
 * out, and each KVM operation on a vCPU (a write into guest memory that the
 * VMM holds with a userfaultfd it does not serve ends there).
 * Errors: ESRCH no such process, EPERM no ptrace rights over it, ENOENT it
 * has no KVM VM, EBUSY already frozen, ETIMEDOUT a vCPU thread (or KVM's NX
 * worker) did not stop within @timeout_ms or a KVM operation on it (a guest
 * memory write included) did not finish, EINTR the caller was killed,
 * EINPROGRESS a vCPU's I/O exit is not completed (its thread sleeps outside
 * KVM_RUN before calling it again, which KVM's API requires before the
 * state is read: retry once the VMM did).
 */
struct nestckpt_freeze {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: NESTCKPT_FREEZE_* */
	__s32 pid;		/* in: any thread of the VMM */
	__u32 timeout_ms;	/* in: 0 means NESTCKPT_FREEZE_TIMEOUT_MS */
	__u64 msr_indices;	/* in: user address of __u32[nr_msrs] */
	__u32 nr_msrs;		/* in: at most NESTCKPT_MAX_MSRS */
	__u32 nr_vms;		/* out: VMs found */
	__u32 nr_vcpus;		/* out: vCPUs frozen */
	__u32 nr_nested;	/* out: of those, vCPUs taken out of L2 */
};

#define NESTCKPT_FREEZE_SIZE_VER0	40

/*
 * NESTCKPT_FREEZE_MAPS (ABI minor 3): while frozen, the VMM's mappings of
 * its vCPU files (kvm_run, PIO page, coalesced-MMIO ring) are mappings of
 * /dev/nestckpt at file page offset NESTCKPT_MAP_PGOFF(the VMM's fd of the
 * vCPU, the original page), serving the very same pages: a checkpointer
 * that cannot reopen anon-inode mappings (CRIU) sees a character device.
 * Thaw puts KVM's own mappings back.  Refused with EOPNOTSUPP for a
 * private mapping or one reaching KVM's dirty ring (page 64 on), and with
 * EBADF for a mapped vCPU whose file the VMM no longer holds.
 *
 * mmap() of /dev/nestckpt at offset NESTCKPT_MAP_PGOFF(fd, page) pages,
 * MAP_SHARED, by a process whose fd @fd is a vCPU of one of its own VMs,
 * maps that vCPU's file at @page, exactly as mmap() of @fd would (a
 * restorer recreates the VMM's mappings this way).  EBADF: no such fd;
 * ENODEV: not a vCPU; EACCES: a vCPU of another process's VM; EINVAL: a
 * private mapping or pages beyond NESTCKPT_MAP_PAGE_MAX.
 */
#define NESTCKPT_FREEZE_MAPS		(1U << 0)
#define NESTCKPT_FREEZE_DETACHED	(1U << 1)	/* ABI minor 5 */
#define NESTCKPT_MAP_PGOFF(fd, page)	((((__u64)(fd)) << 16) | (page))
#define NESTCKPT_MAP_PAGE_MAX		64
#define NESTCKPT_FREEZE_TIMEOUT_MS	10000
#define NESTCKPT_MAX_MSRS		1024

/*
 * NESTCKPT_IOC_THAW: undo NESTCKPT_IOC_FREEZE: re-enter L2 where it was
 * left, put back what the L2 exit changed, release the threads.
 * Errors: ENOENT not frozen, ESRCH the frozen VMM exec()ed or died (its
 * freeze is dropped), ETIMEDOUT a KVM operation on it is still blocked on
 * the VMM's memory (it stays frozen), EINTR the caller was killed.
 */
struct nestckpt_thaw {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: must be zero */
	__s32 pid;		/* in: any thread of the VMM */
	__u32 nr_vcpus;		/* out: vCPUs released */
};

#define NESTCKPT_THAW_SIZE_VER0	16

/* One vCPU in NESTCKPT_IOC_STATUS. */
struct nestckpt_vcpu_status {
	__u32 vm;		/* index of its VM among the VMM's VMs */
	__s32 vm_fd;		/* the VMM's fd of that VM */
	__u32 vcpu_id;		/* as given to KVM_CREATE_VCPU */
	__s32 vcpu_fd;		/* the VMM's fd of the vCPU */
	__s32 tid;		/* thread that last ran it, 0 if none yet */
	__u32 flags;		/* NESTCKPT_VCPU_* */
	__u16 format;		/* KVM_STATE_NESTED_FORMAT_* (frozen only) */
	__u16 nested_flags;	/* kvm_nested_state.flags before the L2 exit */
	__u32 reserved;		/* zero */
	__u64 vmxon_pa;		/* VMX vmxon region, ~0 if none */
	__u64 vmcs12_pa;	/* VMX current VMCS or SVM vmcb12, ~0 if none */
};

#define NESTCKPT_VCPU_STATUS_SIZE_VER0	48

#define NESTCKPT_VCPU_FROZEN	(1U << 0)	/* its thread is parked */
#define NESTCKPT_VCPU_IN_L2	(1U << 1)	/* was running L2: left it at freeze */
#define NESTCKPT_VCPU_NESTED_ON	(1U << 2)	/* VMXON done / EFER.SVME set */
#define NESTCKPT_VCPU_GIF	(1U << 3)	/* SVM global interrupt flag */
#define NESTCKPT_VCPU_RUN_PENDING (1U << 4)	/* VMLAUNCH/VMRUN not yet completed */
/*
 * The VMM's own kvm_run->immediate_exit is 1 (ABI minor 3).  While frozen
 * the module keeps the field at 1 and puts the VMM's value back at thaw, so
 * a copy of the kvm_run page taken while frozen must use this instead.
 */
#define NESTCKPT_VCPU_IMMEDIATE_EXIT (1U << 5)

#define NESTCKPT_STATE_RUNNING	0
#define NESTCKPT_STATE_FROZEN	1

/*
 * NESTCKPT_IOC_STATUS: the VMM's VMs and vCPUs.  The nested fields are
 * filled in while frozen.  The kernel writes min(@vcpu_capacity, @nr_vcpus)
 * entries of min(caller's, kernel's) @vcpu_entry_size bytes each.
 */
struct nestckpt_status {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: must be zero */
	__s32 pid;		/* in: any thread of the VMM */
	__u32 state;		/* out: NESTCKPT_STATE_* */
	__u32 nr_vms;		/* out */
	__u32 nr_vcpus;		/* out: all of them, even beyond capacity */
	__u32 vcpu_capacity;	/* in: entries at @vcpus */
	__u32 vcpu_entry_size;	/* in: caller's entry size; out: kernel's */
	__u64 vcpus;		/* in: user address of the entries */
};

#define NESTCKPT_STATUS_SIZE_VER0	40

/*
 * NESTCKPT_IOC_KVM_OP: run one KVM state ioctl (KVM_GET_REGS, KVM_SET_MSRS,
 * KVM_GET_NESTED_STATE, KVM_GET_IRQCHIP, ...) on a frozen VMM's vCPU or VM,
 * in the VMM's own context, as the VMM itself would.  @buf is the ioctl's
 * argument (@len bytes, in and out); ioctls whose argument is a value
 * (KVM_GET_TSC_KHZ, KVM_SET_TSC_KHZ, KVM_CHECK_EXTENSION) take it in @buf.
 * Only state ioctls are accepted (never KVM_RUN or anything that creates or
 * destroys); the target must be frozen (EBUSY otherwise).
 *
 * The target is the VMM of @pid, VM number @vm, vCPU @vcpu_id (-1 for the
 * VM itself); or, with NESTCKPT_OP_BY_FD, the kvm-vm or kvm-vcpu file the
 * caller holds as @fd (as CRIU's dumper does).
 */
struct nestckpt_kvm_op {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: NESTCKPT_OP_* */
	__s32 pid;		/* in: any thread of the VMM */
	__u32 vm;		/* in: VM index (see NESTCKPT_IOC_STATUS) */
	__s32 vcpu_id;		/* in: vCPU id, -1 for a VM ioctl */
	__s32 fd;		/* in: with NESTCKPT_OP_BY_FD */
	__u32 kvm_ioctl;	/* in: the KVM request */
	__u32 len;		/* in: bytes at @buf; out: bytes it used */
	__u64 buf;		/* in: argument (user address or value) */
	__s64 result;		/* out: the ioctl's non-negative return */
};

#define NESTCKPT_KVM_OP_SIZE_VER0	48
#define NESTCKPT_OP_BY_FD	(1U << 0)
#define NESTCKPT_OP_MAX_LEN	(256U << 10)

/*
 * NESTCKPT_IOC_VM_STATE: the state of a VM that no KVM ioctl returns, read
 * from KVM's public structures: memslots, irqfds (with the VMM's fd numbers
 * for their eventfds), GSI routing and the capabilities the VMM enabled;
 * and ioeventfds and coalesced-MMIO zones (see below).
 * @flags selects the components (NESTCKPT_VMS_*); the kernel fills only
 * those, and reports in @flags the ones it filled.  The output at @buf is a
 * sequence of records, each a struct nestckpt_vm_record followed by @count
 * entries of @entry_size bytes.  If @buf_len is too small the call fails
 * with ENOSPC and @buf_len holds the size needed.  The VMM may be running.
 *
 * ioeventfds and coalesced-MMIO zones live in structures private to KVM;
 * the module learns their layout from the kvm module's BTF
 * (/sys/kernel/btf/kvm, CONFIG_DEBUG_INFO_BTF_MODULES) and checks every
 * entry against KVM's public I/O bus tables before reporting it.  A request
 * for either component fails as a whole, never returning a partial or
 * unchecked list:
 *   EOPNOTSUPP  the layout is not available (no kvm module BTF, or it lacks
 *               the structures or members needed);
 *   EPROTO      an entry did not match KVM's I/O bus tables (the layout
 *               read does not describe the running KVM).
 * Requests without these two flags are not affected.  Each entry is the
 * argument of the KVM_IOEVENTFD or KVM_REGISTER_COALESCED_MMIO call that
 * recreates it.  A length-0 MMIO ioeventfd (which KVM also puts on its fast
 * MMIO bus) is reported once, as it was registered.
 */
struct nestckpt_vm_state {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 flags;		/* in: components wanted; out: components given */
	__s32 pid;		/* in: any thread of the VMM */
	__u32 vm;		/* in: VM index (see NESTCKPT_IOC_STATUS) */
	__u64 buf;		/* in: user address of the output */
	__u32 buf_len;		/* in: its size; out: bytes used or needed */
	__u32 reserved;		/* in: must be zero */
};

#define NESTCKPT_VM_STATE_SIZE_VER0	32

#define NESTCKPT_VMS_MEMSLOTS	(1U << 0)	/* struct kvm_userspace_memory_region */
#define NESTCKPT_VMS_IRQFDS	(1U << 1)	/* struct nestckpt_irqfd */
#define NESTCKPT_VMS_ROUTING	(1U << 2)	/* struct kvm_irq_routing_entry */
#define NESTCKPT_VMS_CAPS	(1U << 3)	/* struct kvm_enable_cap */
/*
 * struct kvm_ioeventfd: datamatch, addr, len, flags (KVM_IOEVENTFD_FLAG_PIO,
 * _DATAMATCH) as given to KVM_IOEVENTFD; fd is the VMM's fd number of the
 * eventfd, -1 if the VMM no longer holds it; pad zero.  ABI minor 2.
 */
#define NESTCKPT_VMS_IOEVENTFDS	(1U << 4)
/* struct kvm_coalesced_mmio_zone, pio 1 for a PIO zone.  ABI minor 2. */
#define NESTCKPT_VMS_COALESCED	(1U << 5)
/*
 * The MSR filter the VMM set with KVM_X86_SET_MSR_FILTER (KVM has no getter):
 * one struct nestckpt_msr_filter, or none (count 0) when the VM has no
 * filter.  ABI minor 4.
 */
#define NESTCKPT_VMS_MSR_FILTER	(1U << 6)
#define NESTCKPT_VMS_ALL	0x7fU

struct nestckpt_vm_record {
	__u32 type;		/* one NESTCKPT_VMS_* bit */
	__u32 count;
	__u32 entry_size;
	__u32 reserved;
};

/* KVM's limits (KVM_MSR_FILTER_MAX_RANGES, _MAX_BITMAP_SIZE in asm/kvm.h). */
#define NESTCKPT_MSR_FILTER_RANGES	16
#define NESTCKPT_MSR_FILTER_BITMAP	0x600	/* bytes per range */

/* One range of the filter, as KVM_X86_SET_MSR_FILTER takes it. */
struct nestckpt_msr_filter_range {
	__u32 flags;		/* KVM_MSR_FILTER_READ | _WRITE */
	__u32 nmsrs;		/* MSRs from @base, one bit each in @bitmap */
	__u32 base;
	__u32 bitmap_len;	/* bytes of @bitmap KVM holds; the rest is zero */
	__u8 bitmap[NESTCKPT_MSR_FILTER_BITMAP];
};

/* The filter: the argument of the KVM_X86_SET_MSR_FILTER that recreates it. */
struct nestckpt_msr_filter {
	__u32 flags;		/* KVM_MSR_FILTER_DEFAULT_ALLOW or _DENY */
	__u32 nr_ranges;	/* used entries of @ranges */
	struct nestckpt_msr_filter_range ranges[NESTCKPT_MSR_FILTER_RANGES];
};

/* One irqfd: KVM_IRQFD as the VMM made it, by the VMM's fd numbers. */
struct nestckpt_irqfd {
	__s32 fd;		/* the eventfd, -1 if the VMM no longer holds it */
	__s32 resample_fd;	/* -1 if none */
	__u32 gsi;
	__u32 flags;		/* KVM_IRQFD_FLAG_RESAMPLE when resampling */
};

struct nestckpt_freeze_ver0 { __u8 bytes[NESTCKPT_FREEZE_SIZE_VER0]; };
struct nestckpt_thaw_ver0 { __u8 bytes[NESTCKPT_THAW_SIZE_VER0]; };
struct nestckpt_status_ver0 { __u8 bytes[NESTCKPT_STATUS_SIZE_VER0]; };
struct nestckpt_kvm_op_ver0 { __u8 bytes[NESTCKPT_KVM_OP_SIZE_VER0]; };
struct nestckpt_vm_state_ver0 { __u8 bytes[NESTCKPT_VM_STATE_SIZE_VER0]; };

#define NESTCKPT_IOC_FREEZE \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x01, struct nestckpt_freeze_ver0)
#define NESTCKPT_IOC_THAW \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x02, struct nestckpt_thaw_ver0)
#define NESTCKPT_IOC_STATUS \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x03, struct nestckpt_status_ver0)
#define NESTCKPT_IOC_KVM_OP \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x04, struct nestckpt_kvm_op_ver0)
#define NESTCKPT_IOC_VM_STATE \
	_IOWR(NESTCKPT_IOC_MAGIC, NESTCKPT_IOC_BASE + 0x05, struct nestckpt_vm_state_ver0)

#endif /* _UAPI_NESTCKPT_H */

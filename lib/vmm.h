/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM side of a whole VMM process, read out of a frozen VMM through
 * /dev/nestckpt (vmm_dump.c) and recreated inside a restored process
 * (vmm_restore.c).  Included by libnestckpt.h.
 */
#ifndef NC_VMM_H
#define NC_VMM_H

#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "op_batch.h"

/* What a dump cost, for benchmarks and logs. */
struct nc_dump_stats {
	uint32_t vcpus;
	unsigned long ops;		/* KVM ops run through the module */
	unsigned long syscalls;		/* to run them (io_uring_enter or ioctl) */
	enum nc_batch_mode mode;	/* the one used */
	uint64_t vcpu_ns;		/* wall time of the per-vCPU reads, all vCPUs */
};

/*
 * Read every VM and vCPU of the frozen VMM @pid through @dev into @img
 * (memset by the callee; free with nc_image_free): all vCPU state as the
 * VMM itself would read it (L2's, for vCPUs the freeze took out of L2),
 * the VM-wide state and what only the module can read (memslots,
 * bindings, routing, enabled caps).  The per-vCPU reads of all vCPUs go
 * through one op batch (@mode).  @stats may be NULL.
 */
int nc_vmm_dump(int dev, pid_t pid, enum nc_batch_mode mode,
		struct nc_image *img, struct nc_dump_stats *stats,
		struct nc_err *err);

/*
 * What only the module reads of VM @vm of process @pid (memslots, irqfds,
 * ioeventfds, routing, coalesced zones, enabled caps, MSR filter) into @s;
 * free with nc_vm_state_free().  The process may be running.
 */
int nc_vm_tables_read(int dev, pid_t pid, uint32_t vm, struct nc_vm_state *s,
		      struct nc_err *err);

/* The fds of one VM recreated in this process. */
struct nc_restored_vm {
	int vm_fd;
	uint32_t n_vcpus;
	int *vcpu_fds;		/* in the order of nc_vm_state.vcpus */
};

/*
 * Create, in the calling process, a VM like @vm on /dev/kvm (@kvm_fd) and
 * all its vCPUs, and put back every state item in the order KVM needs
 * (vCPUs in L2 re-enter it through KVM_SET_NESTED_STATE).  Memslots point
 * at the recorded addresses: guest memory must be there before a vCPU
 * runs.  Eventfd bindings need the VMM's fds in place: see
 * nc_vm_restore_bindings().  On failure nothing stays open.
 */
int nc_vm_restore(int kvm_fd, const struct nc_vm_state *vm,
		  struct nc_restored_vm *out, struct nc_err *err);
/* irqfds and ioeventfds, by the VMM's fd numbers (already restored). */
int nc_vm_restore_bindings(int vm_fd, const struct nc_vm_state *vm,
			   struct nc_err *err);
void nc_restored_vm_close(struct nc_restored_vm *r);

/* ---- proving an image on this host before it is final (scratch_vm.c) ---- */
struct nc_prove_stats {
	uint32_t vms, vcpus;		/* replayed */
	bool read_back;			/* VM tables read back through the module */
	uint64_t ns;			/* wall time of the whole proof */
};
/*
 * Decode the encoded image @buf (@len bytes), check it as the restore does,
 * and replay each VM with nc_vm_restore() into a scratch VM of this process
 * (memslots at the image's GPAs, on untouched anonymous memory), then read
 * its VM tables back through @dev (skipped if @dev < 0) and compare.  0, or
 * the refusal in @err naming the VM, vCPU and item.  Nothing stays open.
 */
int nc_image_prove(int dev, const uint8_t *buf, size_t len,
		   struct nc_prove_stats *st, struct nc_err *err);

/* ---- the VM's MSR filter (msr_filter.c) ---- */
/* From the module's record; -EPROTO if KVM would not take it back. */
int nc_msr_filter_from_module(const struct nestckpt_msr_filter *m,
			      struct nc_msr_filter **out);
/* KVM_X86_SET_MSR_FILTER on @vm_fd (after the VM's enabled caps). */
int nc_msr_filter_restore(int vm_fd, const struct nc_msr_filter *f,
			  struct nc_err *err);
/* Would KVM deny the guest's RDMSR (!@write) or WRMSR of @msr under @f? */
bool nc_msr_filter_denies(const struct nc_msr_filter *f, uint32_t msr, bool write);

/* ---- machine-check state (mce.c) ---- */
#define NC_MSR_MCG_CAP		0x179
#define NC_MSR_MCG_STATUS	0x17a
#define NC_MSR_MCG_CTL		0x17b
#define NC_MCE_MAX_BANKS	32	/* KVM_MAX_MCE_BANKS */
#define NC_MCE_MAX_BANK_MSRS	(5 * NC_MCE_MAX_BANKS)
/* The vCPU's recorded MCG_CAP, if the image has it. */
bool nc_mce_cap(const struct nc_vcpu_state *v, uint64_t *mcg_cap);
/* MSRs KVM_SET_MSRS cannot write: KVM_X86_SETUP_MCE sets them. */
bool nc_mce_setup_only(uint32_t index);
/* Add MCG_CAP to an MSR index list (KVM_GET_MSR_INDEX_LIST lacks it). */
int nc_mce_add_cap_index(uint32_t **idx, uint32_t *n);
/* The bank MSRs of @mcg_cap's banks into @idx; their number. */
uint32_t nc_mce_bank_msrs(uint64_t mcg_cap, uint32_t idx[NC_MCE_MAX_BANK_MSRS]);
/* NULL, or why KVM_X86_SETUP_MCE refuses @mcg_cap given @supported. */
const char *nc_mce_invalid(uint64_t mcg_cap, uint64_t supported);
/* Every vCPU's MCG_CAP against this host's KVM (if /dev/kvm is here). */
int nc_mce_check(const struct nc_image *img, struct nc_err *err);
/* KVM_X86_SETUP_MCE with @v's MCG_CAP on a new vCPU (none recorded: nothing). */
int nc_mce_setup(int vcpu_fd, const struct nc_vcpu_state *v, struct nc_err *err);

/* ---- test-only fault switch (fault.c): the replay broken as it was ---- */
#define NC_FAULT_ENV		"NESTCKPT_FAULT"
/* Is fault @name ("asid", "mce", "msr-filter") set? */
bool nc_fault(const char *name);
/* Must MSR @index be written even where the new vCPU holds its value? */
bool nc_fault_msr_forced(uint32_t index);

#endif

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

#endif

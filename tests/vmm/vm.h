/* SPDX-License-Identifier: GPL-2.0 */
/* Host side: one VM with one memslot holding this binary, and its vCPUs. */
#ifndef NESTVMM_VM_H
#define NESTVMM_VM_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "layout.h"

/* GSI of the idle irqfd (an IOAPIC pin no device of ours uses). */
#define VM_IRQFD_GSI	10

struct vm {
	int kvm_fd;
	int fd;
	uint8_t *mem;		/* guest-physical 0 .. mem_size */
	uint64_t mem_size;
	int run_size;
	struct kvm_cpuid2 *cpuid;
	enum vendor vendor;	/* nested virtualization the guest may use */
	int irqchip;		/* in-kernel PIC/IOAPIC/LAPIC */
	int irqfd;		/* eventfd bound to GSI VM_IRQFD_GSI (irqchip only) */
	uint64_t disabled_exits;	/* KVM_CAP_X86_DISABLE_EXITS given */
	/* eventfds of the idle ioeventfds (layout.h), never signalled */
	int ioeventfd_pio, ioeventfd_mmio, ioeventfd_fast;
	uint64_t mcg_cap;	/* --qemu-msrs: KVM_X86_SETUP_MCE of each vCPU; else 0 */
	uint64_t mcg_cap_seen;	/* MCG_CAP KVM then reports (what the guest reads) */
};

/* The idle coalesced zones (layout.h). */
#define VM_COALESCED_MMIO_SIZE	0x1000u
#define VM_COALESCED_PIO_SIZE	8u

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);

void vm_create(struct vm *vm, int irqchip);
/* The host view of a guest object (guest pointer == guest-physical). */
void *gva(struct vm *vm, const void *guest_ptr);
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

int vcpu_create(struct vm *vm, int id, struct kvm_run **run);
/* MSR state as QEMU sets it up (layout.h): filter, userspace MSRs, MCE. */
void vm_setup_qemu_msrs(struct vm *vm);
void vcpu_setup_qemu_msrs(struct vm *vm, int fd);
void vcpu_set_msr(int fd, uint32_t index, uint64_t value);
uint64_t vcpu_get_msr(int fd, uint32_t index);

#endif

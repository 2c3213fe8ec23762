// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU creation. Guest memory is a single memslot at guest-physical 0
 * into which this (static, non-PIE) binary's loaded segments are copied at
 * their link addresses, so guest code is our own code, identity-mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vm.h"

#define SZ_2M		(2ul << 20)

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nestvmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

void *gva(struct vm *vm, const void *guest_ptr)
{
	return gpa_to_hva(vm, (uintptr_t)guest_ptr, 1);
}

void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa >= vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

static int image_end_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t *end = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD &&
		    info->dlpi_addr + ph->p_vaddr + ph->p_memsz > *end)
			*end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	return 1;	/* the executable comes first; that is all we run */
}

static int image_copy_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct vm *vm = data;
	int i;

	(void)size;
	if (info->dlpi_addr)
		die("binary is position independent; build it -static -no-pie");
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		/* Copy the live image: data and bss as the host has them now. */
		memcpy(vm->mem + ph->p_vaddr, (void *)ph->p_vaddr, ph->p_memsz);
	}
	return 1;
}

static enum vendor detect_vendor(struct kvm_cpuid2 *c)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0x80000001 && (e->ecx & (1u << 2)))
			return VENDOR_SVM;
		if (e->function == 1 && (e->ecx & (1u << 5)))
			return VENDOR_VMX;
	}
	return VENDOR_NONE;
}

static int add_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len,
			 uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch, .addr = addr, .len = len, .flags = flags,
	};

	io.fd = eventfd(0, EFD_CLOEXEC);
	if (io.fd < 0 || ioctl(vm->fd, KVM_IOEVENTFD, &io))
		die("KVM_IOEVENTFD 0x%llx: %s", (unsigned long long)addr,
		    strerror(errno));
	return io.fd;
}

static void add_coalesced(struct vm *vm, uint64_t addr, uint32_t size, int pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	if (ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &z))
		die("KVM_REGISTER_COALESCED_MMIO 0x%llx: %s",
		    (unsigned long long)addr, strerror(errno));
}

/*
 * Idle I/O bindings as a device model makes them, at addresses no guest
 * touches: more VM state only KVM's structures hold, for nestckpt to find.
 */
static void add_idle_io_bindings(struct vm *vm)
{
	vm->ioeventfd_pio = add_ioeventfd(vm, PORT_IOEVENTFD, 2,
					  KVM_IOEVENTFD_FLAG_PIO |
					  KVM_IOEVENTFD_FLAG_DATAMATCH,
					  IOEVENTFD_DATAMATCH);
	vm->ioeventfd_mmio = add_ioeventfd(vm, MMIO_IOEVENTFD, 4, 0, 0);
	vm->ioeventfd_fast = add_ioeventfd(vm, MMIO_IOEVENTFD_FAST, 0, 0, 0);
	add_coalesced(vm, MMIO_COALESCED, VM_COALESCED_MMIO_SIZE, 0);
	add_coalesced(vm, PORT_COALESCED, VM_COALESCED_PIO_SIZE, 1);
}

void vm_create(struct vm *vm, int irqchip)
{
	struct kvm_userspace_memory_region slot;
	uint64_t end = 0;
	int n = 256;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die("open /dev/kvm: %s", strerror(errno));
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	/* The in-kernel LAPIC is what real VMMs use; selftests do too. */
	vm->irqchip = irqchip;
	if (irqchip && ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	/* A PIT as QEMU has one; unprogrammed, it raises no interrupt. */
	if (irqchip) {
		struct kvm_pit_config pit = { .flags = 0 };
		struct kvm_irqfd irqfd = { .gsi = VM_IRQFD_GSI };

		if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit))
			die("KVM_CREATE_PIT2: %s", strerror(errno));
		/*
		 * An irqfd wired as a device model's would be, never signalled:
		 * VM state only KVM's structures hold, for nestckpt to find.
		 */
		vm->irqfd = eventfd(0, EFD_CLOEXEC);
		irqfd.fd = vm->irqfd;
		if (vm->irqfd < 0 || ioctl(vm->fd, KVM_IRQFD, &irqfd))
			die("KVM_IRQFD: %s", strerror(errno));
	}
	add_idle_io_bindings(vm);
	/* An enabled capability, also only in KVM's structures (vCPUs never PAUSE-loop). */
	{
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X86_DISABLE_EXITS,
			.args = { KVM_X86_DISABLE_EXITS_PAUSE },
		};

		vm->disabled_exits = ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? 0 :
				     KVM_X86_DISABLE_EXITS_PAUSE;
	}

	for (;;) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				   n * sizeof(struct kvm_cpuid_entry2));
		vm->cpuid->nent = n;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid))
			break;
		if (errno != E2BIG)
			die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(vm->cpuid);
		n *= 2;
	}
	vm->vendor = detect_vendor(vm->cpuid);

	dl_iterate_phdr(image_end_cb, &end);
	vm->mem_size = ((end + SZ_2M - 1) & ~(SZ_2M - 1)) + SZ_2M;
	if (vm->mem_size > MMIO_BASE)
		die("image too large");
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest memory: %s", strerror(errno));
	dl_iterate_phdr(image_copy_cb, vm);

	memset(&slot, 0, sizeof(slot));
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = vm->mem_size;
	slot.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot))
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
}

uint64_t vcpu_get_msr(int fd, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = index;
	if (ioctl(fd, KVM_GET_MSRS, &m) != 1)
		die("KVM_GET_MSRS 0x%x: %s", index, strerror(errno));
	return m.e.data;
}

void vcpu_set_msr(int fd, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = index;
	m.e.data = value;
	if (ioctl(fd, KVM_SET_MSRS, &m) != 1)
		die("KVM_SET_MSRS 0x%x: %s", index, strerror(errno));
}

int vcpu_create(struct vm *vm, int id, struct kvm_run **run)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	unsigned int i;
	int fd;

	fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (fd < 0)
		die("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	*run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (*run == MAP_FAILED)
		die("mmap vcpu %d: %s", id, strerror(errno));

	/* Give each vCPU its own APIC ID in leaf 1. */
	for (i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)id << 24);
	}
	if (ioctl(fd, KVM_SET_CPUID2, vm->cpuid))
		die("KVM_SET_CPUID2: %s", strerror(errno));
	/* With an in-kernel LAPIC, APs would otherwise wait for INIT/SIPI. */
	if (vm->irqchip && ioctl(fd, KVM_SET_MP_STATE, &mp))
		die("KVM_SET_MP_STATE: %s", strerror(errno));
	return fd;
}

/*
 * As QEMU 7.2 does: KVM_CAP_X86_USER_SPACE_MSR for filtered MSRs, a filter
 * that allows everything but RDMSR of MSR_CORE_THREAD_COUNT (QEMU serves it
 * from the CPU topology), and per vCPU KVM_X86_SETUP_MCE with the MCG_CTL_P
 * and MCG_SER_P bits KVM supports and 10 banks, then MCG_CTL all ones.
 */
void vm_setup_qemu_msrs(struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER },
	};
	static uint8_t deny[8];		/* bit 0 clear: 0x35 denied */
	struct kvm_msr_filter filter = {
		.flags = 0,		/* allow what no range names */
		.ranges = { { .flags = KVM_MSR_FILTER_READ, .nmsrs = 1,
			      .base = MSR_CORE_THREAD_COUNT, .bitmap = deny } },
	};
	uint64_t supported = 0;

	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap))
		die("KVM_ENABLE_CAP KVM_CAP_X86_USER_SPACE_MSR: %s", strerror(errno));
	if (ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, &filter))
		die("KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &supported))
		die("KVM_X86_GET_MCE_CAP_SUPPORTED: %s", strerror(errno));
	/* MCG_CTL_P (bit 8) and MCG_SER_P (bit 24), as QEMU keeps them */
	vm->mcg_cap = (supported & ((1ull << 8) | (1ull << 24))) | QEMU_MCE_BANKS;
}

void vcpu_setup_qemu_msrs(struct vm *vm, int fd)
{
	unsigned int b;

	if (ioctl(fd, KVM_X86_SETUP_MCE, &vm->mcg_cap))
		die("KVM_X86_SETUP_MCE 0x%llx: %s", (unsigned long long)vm->mcg_cap,
		    strerror(errno));
	vcpu_set_msr(fd, MSR_MCG_CTL, ~0ull);
	for (b = 0; b < QEMU_MCE_BANKS; b++)
		vcpu_set_msr(fd, 0x400 + 4 * b, ~0ull);	/* MCi_CTL all ones */
	/* What the guest sees: KVM keeps only what the vendor has (SVM: bits 0-8). */
	vm->mcg_cap_seen = vcpu_get_msr(fd, MSR_MCG_CAP);
}

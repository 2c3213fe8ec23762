/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the VMM and its guests agree on: I/O ports, the per-vCPU area in
 * guest memory and the counters in it.
 *
 * Guest code is this binary's own code, run identity-mapped, so a guest
 * pointer is a guest-physical address and the host finds the same object at
 * guest_mem + address (see gva()).
 */
#ifndef NESTVMM_LAYOUT_H
#define NESTVMM_LAYOUT_H

#include <stdint.h>

#define MAX_VCPUS		64

/* Ports L1 never intercepts, so L1 and L2 reach the VMM directly. */
#define PORT_UCALL		0x5000	/* outl: address of the vCPU's struct ucall */
#define PORT_DATA		0x5010	/* pio workload: outl seq, inl -> seq */

/* Guest-physical window without a memslot: accesses exit as KVM_EXIT_MMIO. */
#define MMIO_BASE		0xc0000000ul
#define MMIO_STRIDE		0x1000ul

/*
 * Idle I/O bindings the VMM registers and no guest ever touches: VM state
 * only KVM's structures hold (ioeventfds, coalesced zones), for nestckpt.
 */
#define PORT_IOEVENTFD		0x5020	/* PIO ioeventfd, 2 bytes, datamatch */
#define IOEVENTFD_DATAMATCH	0x1234
#define PORT_COALESCED		0x5030	/* PIO coalesced zone, 8 ports */
#define IDLE_MMIO_BASE		0xd0000000ul	/* far above MMIO_BASE's window */
#define MMIO_IOEVENTFD		(IDLE_MMIO_BASE + 0x0000)	/* 4 bytes, any data */
#define MMIO_IOEVENTFD_FAST	(IDLE_MMIO_BASE + 0x1000)	/* len 0 (fast MMIO) */
#define MMIO_COALESCED		(IDLE_MMIO_BASE + 0x2000)	/* one page */

#define IRQ_VECTOR		0x40

/* Per-vCPU area; its size is a power of two so code finds it from %rsp. */
#define AREA_SHIFT		18
#define AREA_SIZE		(1ul << AREA_SHIFT)
#define STACK_SIZE		(32 * 1024)
#define TSS_SIZE		0x68
#define TSS_IST1		0x24	/* offset of IST1 in the 64-bit TSS */

enum vcpu_mode {
	MODE_PLAIN,
	MODE_L1,
	MODE_L2,
};

enum vendor {
	VENDOR_NONE,
	VENDOR_SVM,
	VENDOR_VMX,
};

/* L2 workloads, bit mask. */
#define WL_COUNT		(1u << 0)
#define WL_REGS			(1u << 1)
#define WL_IRQ			(1u << 2)
#define WL_PIO			(1u << 3)
#define WL_MMIO			(1u << 4)
#define WL_MSR			(1u << 5)	/* RDMSR the VMM serves (--qemu-msrs) */

/*
 * --qemu-msrs: MSR state QEMU sets up.  MSR_CORE_THREAD_COUNT is denied by
 * an MSR filter and served from userspace (KVM_EXIT_X86_RDMSR) with this
 * value; MCE as KVM_X86_SETUP_MCE gives it (MCG_CTL all ones).
 */
#define MSR_CORE_THREAD_COUNT	0x35
#define MSR_MCG_CAP		0x179
#define MSR_MCG_CTL		0x17b
#define MSR_35_VALUE(id)	(0x35c0de0000010001ull | ((uint64_t)(id) << 32))
#define QEMU_MCE_BANKS		10

#define FAULT_L2_STALL		(1u << 0)	/* L2 stops counting */
#define FAULT_REGS_CLOBBER	(1u << 1)	/* L1 corrupts L2's r12 now and then */

enum ucall_cmd {
	UC_NONE,
	UC_READY,	/* L1 set up; a[0] = mode */
	UC_PRINT,	/* msg */
	UC_FAIL,	/* guest assertion: msg, a[0..1] values, line */
	UC_EXCEPTION,	/* a[0] vector, a[1] error code, a[2] rip, a[3] level */
};

struct ucall {
	uint32_t cmd;
	uint32_t line;
	uint64_t a[4];
	char msg[96];
};

#define HIST_SLOTS		256
#define HIST_OTHER		(HIST_SLOTS - 1)

/*
 * Written by the guest, read by the VMM at any time; config fields are
 * written by the VMM before the vCPU first runs.
 */
struct vcpu_shared {
	/* config */
	uint32_t id;
	uint32_t mode;
	uint32_t vendor;
	uint32_t workloads;
	uint32_t faults;
	uint32_t hc_every;	/* L2 hypercall every N loop iterations (power of 2) */
	uint32_t io_every;	/* PIO/MMIO every N loop iterations (power of 2) */
	uint32_t irq_every;	/* L1 injects on every k-th exit */

	/* progress */
	volatile uint64_t l1_count;	/* plain/L1 loop, or L1 exit loop */
	volatile uint64_t l2_count;
	volatile uint64_t l2_hypercalls;	/* issued by L2 */
	volatile uint64_t l1_exits;
	volatile uint64_t l1_hypercall_exits;
	volatile uint64_t unexpected_exits;
	volatile uint64_t first_unexpected;	/* reason + 1; 0 = none */
	volatile uint64_t missed_exits;		/* L1 count != L2 issued */
	volatile uint64_t pattern_failures;
	volatile uint64_t first_pattern_reg;	/* register index + 1 */
	volatile uint64_t irq_injected;
	volatile uint64_t irq_received;
	volatile uint64_t irq_reinjected;
	volatile uint64_t irq_mismatch;
	volatile uint64_t pio_done;		/* completed OUT+IN pairs, guest view */
	volatile uint64_t pio_errors;
	volatile uint64_t mmio_done;
	volatile uint64_t mmio_errors;
	volatile uint64_t exit_hist[HIST_SLOTS];
	/* msr workload: what the guest must read, and its reads */
	uint64_t mcg_cap_want;
	volatile uint64_t msr_reads;
};

struct vcpu_area {
	struct vcpu_shared sh;
	struct ucall uc;
	uint8_t vmcb[4096] __attribute__((aligned(4096)));	/* vmcb12 or vmcs12 */
	uint8_t host_save[4096] __attribute__((aligned(4096)));	/* hsave or VMXON region */
	uint8_t iopm[3 * 4096] __attribute__((aligned(4096)));
	uint8_t msrpm[2 * 4096] __attribute__((aligned(4096)));
	uint8_t tss[TSS_SIZE] __attribute__((aligned(128)));
	uint8_t df_stack[8192] __attribute__((aligned(4096)));	/* IST1: #DF */
	uint8_t l1_stack[STACK_SIZE] __attribute__((aligned(4096)));
	uint8_t l2_stack[STACK_SIZE] __attribute__((aligned(4096)));
} __attribute__((aligned(AREA_SIZE)));

_Static_assert(sizeof(struct vcpu_area) <= AREA_SIZE, "vcpu_area too big");
_Static_assert(sizeof(struct vcpu_shared) + sizeof(struct ucall) <= 4096,
	       "shared page too big");

extern struct vcpu_area vcpu_areas[MAX_VCPUS];

/* Descriptor tables and paging, filled by the VMM (boot.c), used by guests. */
#define SEL_CODE		0x08
#define SEL_DATA		0x10
/* one 16-byte TSS descriptor per vCPU from here: its own #DF stack */
#define SEL_TSS0		0x18
#define SEL_TSS(id)		(SEL_TSS0 + 16 * (id))
#define GDT_ENTRIES		(3 + 2 * MAX_VCPUS)

struct idt_entry {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t rsvd;
};

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern uint64_t guest_gdt[GDT_ENTRIES];
extern struct idt_entry guest_idt_l1[256];
extern struct idt_entry guest_idt_l2[256];
extern uint64_t guest_pml4[512];

/* Guest entry points (guest_main.c, guest_workload.c, guest_asm.S). */
void guest_start(uint32_t id);
void l2_start(void);
extern const uint64_t guest_exc_stubs[32];
void guest_irq_stub(void);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Host-side state of the test VMM shared by its parts. */
#ifndef NESTVMM_H
#define NESTVMM_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include "vm.h"

enum vcpu_state {
	VCPU_CREATED,
	VCPU_READY,	/* guest reported UC_READY */
	VCPU_FAILED,	/* guest failure, exception or unusable KVM exit */
	VCPU_STOPPED,
};

struct vcpu_ctx {
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	struct vcpu_shared *sh;		/* in guest memory */
	enum vcpu_mode mode;
	uint32_t workloads;

	/* VMM's own view, only written by the vCPU thread */
	volatile int state;
	volatile int ready;		/* UC_READY seen */
	volatile uint64_t kvm_exits, kvm_eintr;
	/* --signal-every-us (signaler.c): sent by the signaler thread, */
	volatile uint64_t sig_sent, sig_full;
	/* received by this thread: handler runs, taken by sigtimedwait */
	volatile uint64_t sig_handled, sig_taken;
	volatile uint64_t pio, pio_errors;	/* OUTs seen, sequence errors */
	int pio_want_in;
	volatile uint64_t mmio, mmio_errors;	/* stores seen, errors */
	int mmio_want_load;
	volatile uint64_t msr_exits;		/* RDMSR 0x35 served */
	char failure[256];

	/* progress window: values one stats period apart (stats.c) */
	uint64_t snap_l1, snap_l2, prev_l1, prev_l2;
};

struct vmm {
	struct vm vm;
	int nr_vcpus;
	struct vcpu_ctx vcpus[MAX_VCPUS];
	volatile sig_atomic_t stop;
	volatile int failed;		/* some vCPU failed: stop early */
	const char *stats_path;
	double elapsed;
	int verbose;
	unsigned int io_pause_ms;	/* sleep before completing a PIO IN */
};

void *vcpu_thread(void *arg);
extern struct vmm vmm;

void stats_write_file(struct vmm *m);
void stats_print(struct vmm *m, FILE *f);
void stats_snapshot(struct vmm *m);
int stats_check(struct vmm *m, FILE *f);

const char *mode_name(enum vcpu_mode mode);
const char *workloads_str(uint32_t wl, char *buf, size_t len);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * One thread per vCPU: KVM_RUN and the exits the VMM serves itself (the
 * guest report channel, the PIO and MMIO workloads). The thread keeps no
 * state of its own outside struct vcpu_ctx, and treats EINTR as "look at
 * the stop flag, then run again": after a CRIU restore KVM_RUN returns
 * EINTR once, and it must simply be retried.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include "nestvmm.h"
#include "signaler.h"
#include "state_capture.h"

static void vcpu_fail(struct vcpu_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vcpu_fail(struct vcpu_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->failure, sizeof(c->failure), fmt, ap);
	va_end(ap);
	c->state = VCPU_FAILED;
	vmm.failed = 1;
	fprintf(stderr, "nestvmm: vcpu%d: %s\n", c->id, c->failure);
}

static uint64_t guest_rip(struct vcpu_ctx *c)
{
	struct kvm_regs regs;

	if (ioctl(c->fd, KVM_GET_REGS, &regs))
		return 0;
	return regs.rip;
}

static void handle_ucall(struct vcpu_ctx *c, uint32_t addr)
{
	struct ucall *uc = gpa_to_hva(&vmm.vm, addr, sizeof(*uc));
	char msg[sizeof(uc->msg) + 1];

	if (!uc || addr != (uintptr_t)&vcpu_areas[c->id].uc) {
		vcpu_fail(c, "bad ucall address 0x%x", addr);
		return;
	}
	memcpy(msg, uc->msg, sizeof(uc->msg));
	msg[sizeof(uc->msg)] = 0;

	switch (uc->cmd) {
	case UC_READY:
		c->state = VCPU_READY;
		c->ready = 1;
		if (vmm.verbose)
			fprintf(stderr, "nestvmm: vcpu%d ready (%s)\n", c->id,
				mode_name(c->mode));
		break;
	case UC_PRINT:
		fprintf(stderr, "nestvmm: vcpu%d: guest: %s\n", c->id, msg);
		break;
	case UC_FAIL:
		vcpu_fail(c, "guest failure at guest line %u: %s "
			  "(a0=0x%llx a1=0x%llx)", uc->line, msg,
			  (unsigned long long)uc->a[0],
			  (unsigned long long)uc->a[1]);
		break;
	case UC_EXCEPTION:
		vcpu_fail(c, "%s: vector %llu error 0x%llx rip 0x%llx", msg,
			  (unsigned long long)uc->a[0],
			  (unsigned long long)uc->a[1],
			  (unsigned long long)uc->a[2]);
		break;
	default:
		vcpu_fail(c, "unknown ucall %u", uc->cmd);
	}
}

static void handle_io(struct vcpu_ctx *c)
{
	struct kvm_run *run = c->run;
	uint32_t *data = (uint32_t *)((uint8_t *)run + run->io.data_offset);

	if (run->io.size != 4 || run->io.count != 1) {
		vcpu_fail(c, "unexpected I/O size %u count %u port 0x%x",
			  run->io.size, run->io.count, run->io.port);
		return;
	}
	if (run->io.port == PORT_UCALL && run->io.direction == KVM_EXIT_IO_OUT) {
		handle_ucall(c, *data);
		return;
	}
	if (run->io.port != PORT_DATA) {
		vcpu_fail(c, "unexpected I/O port 0x%x", run->io.port);
		return;
	}
	/* OUT seq, IN -> seq must alternate; seq counts every OUT. */
	if (run->io.direction == KVM_EXIT_IO_OUT) {
		c->pio++;
		if (*data != (uint32_t)c->pio || c->pio_want_in)
			c->pio_errors++;
		c->pio_want_in = 1;
	} else {
		if (!c->pio_want_in)
			c->pio_errors++;
		*data = (uint32_t)c->pio;
		c->pio_want_in = 0;
	}
}

/*
 * Sleep with an I/O exit not yet completed (KVM completes it at the next
 * KVM_RUN): the state a VMM pausing between an exit and its re-entry
 * leaves a vCPU in.  nanosleep resumes after a signal without a handler.
 */
static void pause_mid_exit(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !vmm.stop)
		;
}

static void handle_mmio(struct vcpu_ctx *c)
{
	struct kvm_run *run = c->run;
	uint64_t base = MMIO_BASE + c->id * MMIO_STRIDE;
	uint64_t expect, val = 0;

	if (run->mmio.phys_addr != base || run->mmio.len != 8) {
		vcpu_fail(c, "unexpected MMIO at 0x%llx len %u",
			  (unsigned long long)run->mmio.phys_addr,
			  run->mmio.len);
		return;
	}
	if (run->mmio.is_write) {
		c->mmio++;
		expect = ((uint64_t)c->id << 56) | c->mmio;
		memcpy(&val, run->mmio.data, 8);
		if (val != expect || c->mmio_want_load)
			c->mmio_errors++;
		c->mmio_want_load = 1;
	} else {
		if (!c->mmio_want_load)
			c->mmio_errors++;
		val = ((uint64_t)c->id << 56) | c->mmio;
		memcpy(run->mmio.data, &val, 8);
		c->mmio_want_load = 0;
	}
}

/* Only RDMSR of 0x35 is filtered to us (vm_setup_qemu_msrs). */
static void handle_msr(struct vcpu_ctx *c)
{
	struct kvm_run *run = c->run;

	if (run->exit_reason != KVM_EXIT_X86_RDMSR ||
	    run->msr.index != MSR_CORE_THREAD_COUNT) {
		run->msr.error = 1;
		vcpu_fail(c, "unexpected %s of MSR 0x%x",
			  run->exit_reason == KVM_EXIT_X86_RDMSR ? "RDMSR" : "WRMSR",
			  run->msr.index);
		return;
	}
	run->msr.data = MSR_35_VALUE(c->id);
	run->msr.error = 0;
	c->msr_exits++;
}

void *vcpu_thread(void *arg)
{
	struct vcpu_ctx *c = arg;
	struct kvm_run *run = c->run;

	signaler_vcpu_init(c);
	while (!vmm.stop && c->state != VCPU_FAILED) {
		int rc = ioctl(c->fd, KVM_RUN, 0);

		signaler_vcpu_point(c);
		capture_vcpu_point(c, rc);
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->kvm_eintr++;
				continue;
			}
			vcpu_fail(c, "KVM_RUN: %s", strerror(errno));
			break;
		}
		c->kvm_exits++;

		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(c);
			if (vmm.io_pause_ms && run->io.direction == KVM_EXIT_IO_IN)
				pause_mid_exit(vmm.io_pause_ms);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(c);
			break;
		case KVM_EXIT_INTR:
			c->kvm_eintr++;
			break;
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			handle_msr(c);
			break;
		case KVM_EXIT_HLT:
			vcpu_fail(c, "guest halted, rip 0x%llx",
				  (unsigned long long)guest_rip(c));
			break;
		case KVM_EXIT_SHUTDOWN:
			vcpu_fail(c, "KVM_EXIT_SHUTDOWN (triple fault), rip 0x%llx",
				  (unsigned long long)guest_rip(c));
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu_fail(c, "KVM_EXIT_FAIL_ENTRY reason 0x%llx",
				  (unsigned long long)
				  run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu_fail(c, "KVM_EXIT_INTERNAL_ERROR suberror %u, rip 0x%llx",
				  run->internal.suberror,
				  (unsigned long long)guest_rip(c));
			break;
		default:
			vcpu_fail(c, "unexpected KVM exit %u, rip 0x%llx",
				  run->exit_reason,
				  (unsigned long long)guest_rip(c));
		}
	}
	if (c->state != VCPU_FAILED)
		c->state = VCPU_STOPPED;
	return NULL;
}

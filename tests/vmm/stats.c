// SPDX-License-Identifier: GPL-2.0
/*
 * Counters for the outside world and the final verdict.
 *
 * Stats file (and SIGUSR1 dump): one "key value" per line.
 *   vendor svm|vmx|none       vcpus N       elapsed_ms N      pid N
 *   vm.mem_hva, vm.mem_size   guest memory's mapping (memslot 0)
 *   vm.irqfd_fd, vm.irqfd_gsi the idle irqfd (-1 without irqchip)
 *   vm.disabled_exits         KVM_CAP_X86_DISABLE_EXITS bits enabled
 *   vm.mcg_cap                --qemu-msrs: MCG_CAP KVM reports after KVM_X86_SETUP_MCE (0: none)
 *   vcpuI.msr_exits/msr_reads msr workload: RDMSR 0x35 served by the VMM / guest reads
 *   vm.ioeventfd_{pio,mmio,fast}_{fd,addr,len}, vm.ioeventfd_pio_datamatch
 *                             the idle ioeventfds (PIO with datamatch, MMIO
 *                             any data, MMIO length 0)
 *   vm.coalesced_{mmio,pio}_{addr,size}  the idle coalesced zones
 * per vCPU (vcpuI.):
 *   mode plain|l1|l2          workloads count+regs+...        state S
 *   l1_count       plain guest / idle L1 loop count, or L1 exits handled
 *   l2_count       L2's counter (count workload)
 *   l2_hypercalls  VMCALL/VMMCALL issued by L2
 *   l1_exits       every exit L1 saw; l1_exit.<reason> per exit reason
 *   l1_hypercall_exits  of which VMCALL/VMMCALL
 *   unexpected_exits, first_unexpected (reason name or none)
 *   missed_exits   L1's hypercall count disagreed with L2's
 *   pattern_failures, first_pattern_reg (0 none; 1..15 GPR, 16.. XMM quad)
 *   irq_injected, irq_received, irq_reinjected, irq_mismatch
 *   pio, pio_guest, pio_errors      OUTs the VMM saw / round trips L2 did
 *   mmio, mmio_guest, mmio_errors   same for MMIO stores
 *   kvm_exits, kvm_eintr            KVM_RUN returns seen by the VMM
 *   sig_sent, sig_full     --signal-every-us: signals sent to the thread,
 *                          not sent (its queue was full)
 *   sig_handled, sig_taken          received: handler runs, sigtimedwait
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "exit_names.h"
#include "nestvmm.h"

static const char *const state_names[] = {
	[VCPU_CREATED] = "created", [VCPU_READY] = "running",
	[VCPU_FAILED] = "failed", [VCPU_STOPPED] = "stopped",
};

static const char *vendor_name(enum vendor v)
{
	return v == VENDOR_SVM ? "svm" : v == VENDOR_VMX ? "vmx" : "none";
}

static uint64_t progress_l2(struct vcpu_ctx *c)
{
	/* without the count workload L2's progress is its hypercalls */
	return (c->workloads & WL_COUNT) ? c->sh->l2_count :
					    c->sh->l2_hypercalls;
}

void stats_print(struct vmm *m, FILE *f)
{
	enum vendor v = m->vm.vendor;
	char buf[64];
	int i;
	unsigned int s;

	fprintf(f, "vendor %s\nvcpus %d\nelapsed_ms %llu\npid %d\n",
		vendor_name(v), m->nr_vcpus,
		(unsigned long long)(m->elapsed * 1000), (int)getpid());
	/* What only KVM's structures hold, for checking nestckpt's reads. */
	fprintf(f, "vm.mem_hva 0x%llx\nvm.mem_size 0x%llx\nvm.irqfd_fd %d\n"
		"vm.irqfd_gsi %d\nvm.disabled_exits %llu\n",
		(unsigned long long)(uintptr_t)m->vm.mem,
		(unsigned long long)m->vm.mem_size,
		m->vm.irqchip ? m->vm.irqfd : -1, m->vm.irqchip ? VM_IRQFD_GSI : -1,
		(unsigned long long)m->vm.disabled_exits);
	/* --qemu-msrs: the MCG_CAP each vCPU got (0: no KVM_X86_SETUP_MCE) */
	fprintf(f, "vm.mcg_cap 0x%llx\n", (unsigned long long)m->vm.mcg_cap_seen);
	fprintf(f, "vm.ioeventfd_pio_fd %d\nvm.ioeventfd_pio_addr 0x%x\n"
		"vm.ioeventfd_pio_len 2\nvm.ioeventfd_pio_datamatch 0x%x\n"
		"vm.ioeventfd_mmio_fd %d\nvm.ioeventfd_mmio_addr 0x%lx\n"
		"vm.ioeventfd_mmio_len 4\n"
		"vm.ioeventfd_fast_fd %d\nvm.ioeventfd_fast_addr 0x%lx\n"
		"vm.ioeventfd_fast_len 0\n"
		"vm.coalesced_mmio_addr 0x%lx\nvm.coalesced_mmio_size 0x%x\n"
		"vm.coalesced_pio_addr 0x%x\nvm.coalesced_pio_size 0x%x\n",
		m->vm.ioeventfd_pio, PORT_IOEVENTFD, IOEVENTFD_DATAMATCH,
		m->vm.ioeventfd_mmio, MMIO_IOEVENTFD,
		m->vm.ioeventfd_fast, MMIO_IOEVENTFD_FAST,
		MMIO_COALESCED, VM_COALESCED_MMIO_SIZE,
		PORT_COALESCED, VM_COALESCED_PIO_SIZE);
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu_ctx *c = &m->vcpus[i];
		struct vcpu_shared *sh = c->sh;
		/*
		 * The guest runs while we print: read each effect before its
		 * cause, so a snapshot never shows more received than injected.
		 */
		uint64_t hc_exits = sh->l1_hypercall_exits;
		uint64_t irq_received = sh->irq_received;
		uint64_t pio_guest = sh->pio_done, mmio_guest = sh->mmio_done;

#define KV(key, val)	fprintf(f, "vcpu%d." key " %llu\n", i, \
				(unsigned long long)(val))
		fprintf(f, "vcpu%d.mode %s\n", i, mode_name(c->mode));
		fprintf(f, "vcpu%d.workloads %s\n", i,
			workloads_str(c->workloads, buf, sizeof(buf)));
		fprintf(f, "vcpu%d.state %s\n", i, state_names[c->state]);
		KV("l1_count", sh->l1_count);
		KV("l2_count", sh->l2_count);
		KV("l2_hypercalls", sh->l2_hypercalls);
		KV("l1_exits", sh->l1_exits);
		KV("l1_hypercall_exits", hc_exits);
		for (s = 0; s < HIST_SLOTS; s++)
			if (sh->exit_hist[s])
				fprintf(f, "vcpu%d.l1_exit.%s %llu\n", i,
					exit_slot_name(v, s, buf, sizeof(buf)),
					(unsigned long long)sh->exit_hist[s]);
		KV("unexpected_exits", sh->unexpected_exits);
		if (sh->first_unexpected) {
			uint64_t r = sh->first_unexpected - 1;

			fprintf(f, "vcpu%d.first_unexpected %s\n", i,
				r < HIST_OTHER ?
				exit_slot_name(v, r, buf, sizeof(buf)) : "other");
		} else {
			fprintf(f, "vcpu%d.first_unexpected none\n", i);
		}
		KV("missed_exits", sh->missed_exits);
		KV("pattern_failures", sh->pattern_failures);
		KV("first_pattern_reg", sh->first_pattern_reg);
		KV("irq_injected", sh->irq_injected);
		KV("irq_received", irq_received);
		KV("irq_reinjected", sh->irq_reinjected);
		KV("irq_mismatch", sh->irq_mismatch);
		KV("pio", c->pio);
		KV("pio_guest", pio_guest);
		KV("pio_errors", c->pio_errors + sh->pio_errors);
		KV("mmio", c->mmio);
		KV("mmio_guest", mmio_guest);
		KV("mmio_errors", c->mmio_errors + sh->mmio_errors);
		KV("msr_exits", c->msr_exits);
		KV("msr_reads", sh->msr_reads);
		KV("kvm_exits", c->kvm_exits);
		KV("kvm_eintr", c->kvm_eintr);
		KV("sig_sent", c->sig_sent);
		KV("sig_full", c->sig_full);
		KV("sig_handled", c->sig_handled);
		KV("sig_taken", c->sig_taken);
#undef KV
	}
}

/* Replace the file atomically so a reader never sees half of it. */
void stats_write_file(struct vmm *m)
{
	char tmp[4096];
	FILE *f;

	if (!m->stats_path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->stats_path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "nestvmm: %s: %s\n", tmp, strerror(errno));
		return;
	}
	stats_print(m, f);
	if (fclose(f) || rename(tmp, m->stats_path))
		fprintf(stderr, "nestvmm: writing %s: %s\n", m->stats_path,
			strerror(errno));
}

/*
 * Called once a second of running time: the verdict compares the final
 * counters with the older snapshot, so "made progress" means "in the last
 * one to two seconds", not merely "at some point".
 */
void stats_snapshot(struct vmm *m)
{
	int i;

	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu_ctx *c = &m->vcpus[i];

		c->snap_l1 = c->prev_l1;
		c->snap_l2 = c->prev_l2;
		c->prev_l1 = c->sh->l1_count;
		c->prev_l2 = progress_l2(c);
	}
}

static int fails;

static void check(FILE *f, int ok, int id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(FILE *f, int ok, int id, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	fails++;
	fprintf(f, "FAIL vcpu%d: ", id);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "\n");
}

/* Where a vCPU that stopped making progress was (threads are joined). */
static const char *where(struct vcpu_ctx *c, char *buf, size_t len)
{
	struct {
		struct kvm_nested_state hdr;
		uint8_t data[8192];
	} ns;
	struct kvm_regs regs;
	int guest_mode = -1;

	if (ioctl(c->fd, KVM_GET_REGS, &regs)) {
		snprintf(buf, len, "registers unavailable");
		return buf;
	}
	memset(&ns, 0, sizeof(ns));
	ns.hdr.size = sizeof(ns);
	if (!ioctl(c->fd, KVM_GET_NESTED_STATE, &ns))
		guest_mode = !!(ns.hdr.flags & KVM_STATE_NESTED_GUEST_MODE);
	snprintf(buf, len, "rip 0x%llx rsp 0x%llx%s",
		 (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		 guest_mode < 0 ? "" : guest_mode ? " in L2" : " in L1");
	return buf;
}

static int in_flight(uint64_t a, uint64_t b)
{
	return a == b || a == b + 1;
}

/* Returns the number of failed checks; prints one line per failure. */
int stats_check(struct vmm *m, FILE *f)
{
	char buf[128];
	int i, ok;

	fails = 0;
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu_ctx *c = &m->vcpus[i];
		struct vcpu_shared *sh = c->sh;
		uint64_t pio_errs = c->pio_errors + sh->pio_errors;
		uint64_t mmio_errs = c->mmio_errors + sh->mmio_errors;

		check(f, c->state != VCPU_FAILED, i, "vcpu failed: %s",
		      c->failure);
		check(f, c->ready, i, "guest never reported ready");
		ok = sh->l1_count > c->snap_l1;
		check(f, ok, i, "no progress: counter stuck at %llu (%s)",
		      (unsigned long long)sh->l1_count,
		      ok ? "" : where(c, buf, sizeof(buf)));
		if (c->mode == MODE_L2) {
			ok = progress_l2(c) > c->snap_l2;
			check(f, ok, i, "L2 made no progress: %s stuck at %llu (%s)",
			      (c->workloads & WL_COUNT) ? "l2_count" :
			      "l2_hypercalls",
			      (unsigned long long)progress_l2(c),
			      ok ? "" : where(c, buf, sizeof(buf)));
			check(f, in_flight(sh->l2_hypercalls,
					   sh->l1_hypercall_exits) &&
			      !sh->missed_exits, i,
			      "L1 missed hypercall exits: L2 issued %llu, "
			      "L1 saw %llu, %llu mismatches",
			      (unsigned long long)sh->l2_hypercalls,
			      (unsigned long long)sh->l1_hypercall_exits,
			      (unsigned long long)sh->missed_exits);
		}
		check(f, !sh->unexpected_exits, i,
		      "%llu unexpected L1 exits",
		      (unsigned long long)sh->unexpected_exits);
		check(f, !sh->pattern_failures, i,
		      "%llu register pattern failures (first reg %llu)",
		      (unsigned long long)sh->pattern_failures,
		      (unsigned long long)sh->first_pattern_reg);
		if (c->workloads & WL_IRQ && c->mode == MODE_L2) {
			check(f, sh->irq_injected > 0, i, "no interrupt injected");
			check(f, in_flight(sh->irq_injected, sh->irq_received) &&
			      !sh->irq_mismatch, i,
			      "interrupts injected %llu received %llu, "
			      "%llu mismatches seen by L2",
			      (unsigned long long)sh->irq_injected,
			      (unsigned long long)sh->irq_received,
			      (unsigned long long)sh->irq_mismatch);
		}
		if (c->workloads & WL_PIO) {
			check(f, c->pio > 0, i, "no PIO round trip");
			check(f, !pio_errs && in_flight(c->pio, sh->pio_done), i,
			      "PIO sequence: vmm %llu guest %llu errors %llu",
			      (unsigned long long)c->pio,
			      (unsigned long long)sh->pio_done,
			      (unsigned long long)pio_errs);
		}
		if (c->workloads & WL_MSR) {
			check(f, c->msr_exits > 0, i, "no RDMSR 0x35 served");
			check(f, in_flight(c->msr_exits, sh->msr_reads), i,
			      "RDMSR 0x35: vmm served %llu, guest read %llu",
			      (unsigned long long)c->msr_exits,
			      (unsigned long long)sh->msr_reads);
		}
		if (c->workloads & WL_MMIO) {
			check(f, c->mmio > 0, i, "no MMIO round trip");
			check(f, !mmio_errs && in_flight(c->mmio, sh->mmio_done),
			      i, "MMIO sequence: vmm %llu guest %llu errors %llu",
			      (unsigned long long)c->mmio,
			      (unsigned long long)sh->mmio_done,
			      (unsigned long long)mmio_errs);
		}
	}
	return fails;
}

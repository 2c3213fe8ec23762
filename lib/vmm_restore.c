// SPDX-License-Identifier: GPL-2.0
/*
 * Recreating a VM and its vCPUs from an image, inside the restored VMM
 * process (KVM binds a VM to the mm that creates it, and CRIU's
 * RESTORE_EXT_FILE hook runs in the restored task with its final mm).
 *
 * Order (KVM's constraints, as QEMU does it on an incoming migration):
 *  VM:   enabled caps, MSR filter, irqchip and PIT (before any vCPU),
 *        memslots, routing, coalesced zones;
 *  vCPU: CPUID, TSC frequency, MCG_CAP (KVM_X86_SETUP_MCE), VMX capability MSRs (KVM refuses them once
 *        the vCPU is in VMX operation), sregs (EFER.SVME before nested
 *        state), nested state (a vCPU that was in L2 re-enters it here; KVM
 *        maps the vmcs12/vmcb12 pages at the first KVM_RUN), regs, xsave,
 *        xcrs, the other MSRs, LAPIC, events, MP state, debug registers;
 *        MSRs are written only where the value differs from the one the
 *        vCPU holds at that point (see nc_msr_plan());
 *  VM:   irqchip and PIT contents, clock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libnestckpt.h"

#define VMX_CAP_MSR_FIRST	0x480
#define VMX_CAP_MSR_LAST	0x491

static int kvm(int fd, unsigned long req, const void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

#define MSRS_PER_CALL	255	/* KVM takes fewer than 256 per call */

/*
 * The values the vCPU holds now for the @n MSRs of @e, into @held (*@n_held).
 * KVM_GET_MSRS stops at the first MSR it cannot read: that one is left out
 * and the rest asked for again.
 */
static int held_msrs(int fd, const struct kvm_msr_entry *e, uint32_t n,
		     struct kvm_msrs *part, struct kvm_msr_entry *held,
		     uint32_t *n_held)
{
	uint32_t i = 0, k;
	int r;

	*n_held = 0;
	while (i < n) {
		part->nmsrs = n - i < MSRS_PER_CALL ? n - i : MSRS_PER_CALL;
		for (k = 0; k < part->nmsrs; k++)
			part->entries[k] = (struct kvm_msr_entry){ .index = e[i + k].index };
		r = kvm(fd, KVM_GET_MSRS, part);
		if (r < 0)
			return r;
		/* Bound by what was asked and by the room in @held. */
		r = nc_msr_reply_count(r, part->nmsrs, *n_held, n);
		if (r < 0)
			return r;
		for (k = 0; k < (uint32_t)r; k++)
			held[(*n_held)++] = part->entries[k];
		i += r;
		if ((uint32_t)r < part->nmsrs)
			i++;		/* unreadable here: no value held */
	}
	return 0;
}

static bool is_vmx_cap(uint32_t idx)
{
	return idx >= VMX_CAP_MSR_FIRST && idx <= VMX_CAP_MSR_LAST;
}

/* Test only (fault.c): write MSRs the plan left out, as restore once did. */
static uint32_t fault_unplanned_msrs(const struct kvm_msr_entry *want, uint32_t n_want,
				     struct kvm_msr_entry *plan, uint32_t n_plan)
{
	uint32_t i, k;

	for (i = 0; i < n_want; i++) {
		if (!nc_fault_msr_forced(want[i].index))
			continue;
		for (k = 0; k < n_plan && plan[k].index != want[i].index; k++)
			;
		if (k == n_plan)
			plan[n_plan++] = want[i];
	}
	return n_plan;
}

/*
 * Put back the VMX capability MSRs of @m (@vmx_caps) or all the others, as
 * KVM accepts them: an MSR whose value the vCPU already holds is not written
 * (nc_msr_plan()), the rest are; one KVM refuses then carries state this
 * host cannot take, and is named with both values.
 */
static int set_msrs(int fd, uint32_t vcpu, const struct kvm_msrs *m,
		    bool vmx_caps, struct nc_err *err)
{
	struct kvm_msr_entry *want, *held, *plan;
	uint32_t n_want = 0, n_held = 0, n_plan, i, k;
	struct kvm_msrs *part;
	int r = -ENOMEM;

	want = calloc(m->nmsrs + 1, sizeof(*want));
	held = calloc(m->nmsrs + 1, sizeof(*held));
	plan = calloc(m->nmsrs + 1, sizeof(*plan));
	part = calloc(1, sizeof(*part) + MSRS_PER_CALL * sizeof(part->entries[0]));
	if (!want || !held || !plan || !part) {
		nc_errf(err, r, "vcpu%u: out of memory", vcpu);
		goto out;
	}
	for (i = 0; i < m->nmsrs; i++) {
		/* MCG_CAP: nc_mce_setup() put it back; KVM_SET_MSRS cannot. */
		if (nc_mce_setup_only(m->entries[i].index))
			continue;
		if (is_vmx_cap(m->entries[i].index) == vmx_caps)
			want[n_want++] = m->entries[i];
	}
	r = held_msrs(fd, want, n_want, part, held, &n_held);
	if (r < 0) {
		nc_errf(err, r, "vcpu%u: KVM_GET_MSRS: %s", vcpu, strerror(-r));
		goto out;
	}
	n_plan = nc_msr_plan(want, n_want, held, n_held, plan);
	n_plan = fault_unplanned_msrs(want, n_want, plan, n_plan);
	for (i = 0; i < n_plan; i += part->nmsrs) {
		part->nmsrs = n_plan - i < MSRS_PER_CALL ? n_plan - i : MSRS_PER_CALL;
		memcpy(part->entries, plan + i, part->nmsrs * sizeof(plan[0]));
		r = kvm(fd, KVM_SET_MSRS, part);
		if (r < 0) {
			nc_errf(err, r, "vcpu%u: KVM_SET_MSRS: %s", vcpu, strerror(-r));
			goto out;
		}
		if ((uint32_t)r < part->nmsrs) {
			const struct kvm_msr_entry *bad = &part->entries[r];
			const char *name = nc_msr_name(bad->index);
			char now[48] = "a value KVM does not let it read";

			for (k = 0; k < n_held; k++)
				if (held[k].index == bad->index)
					snprintf(now, sizeof(now), "0x%llx",
						 (unsigned long long)held[k].data);
			r = nc_errf(err, -EINVAL, "vcpu%u: MSR 0x%x (%s) value 0x%llx "
				    "refused by KVM (the new vCPU holds %s)", vcpu,
				    bad->index, name ? name : "unnamed",
				    (unsigned long long)bad->data, now);
			goto out;
		}
	}
	r = 0;
out:
	free(want);
	free(held);
	free(plan);
	free(part);
	return r;
}

static int restore_vcpu(int vm_fd, const struct nc_vcpu_state *v, int *out_fd,
			struct nc_err *err)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int fd, r;

	fd = kvm(vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)v->id);
	if (fd < 0)
		return nc_errf(err, fd, "vcpu%u: KVM_CREATE_VCPU: %s", v->id, strerror(-fd));
#define STEP(cond, req, arg, what) do {						\
	if ((cond) && (r = kvm(fd, req, arg)) < 0) {				\
		nc_errf(err, r, "vcpu%u: %s: %s", v->id, what, strerror(-r));	\
		goto fail;							\
	}									\
} while (0)
	/* The entries the VMM set, without the padding older images carry. */
	if (v->cpuid) {
		size_t sz = sizeof(*cpuid) + v->cpuid->nent * sizeof(cpuid->entries[0]);

		cpuid = malloc(sz);
		if (!cpuid) {
			r = nc_errf(err, -ENOMEM, "vcpu%u: out of memory", v->id);
			goto fail;
		}
		memcpy(cpuid, v->cpuid, sz);
		nc_cpuid_trim(cpuid);
	}
	STEP(cpuid, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
	STEP(v->have & NC_VCPU_TSC_KHZ, KVM_SET_TSC_KHZ, (void *)(uintptr_t)v->tsc_khz,
	     "KVM_SET_TSC_KHZ");
	/* MCG_CAP first: KVM takes MCG_CTL and the banks only within it. */
	r = nc_fault("mce") ? 0 : nc_mce_setup(fd, v, err);
	if (r)
		goto fail;
	if (v->msrs && (r = set_msrs(fd, v->id, v->msrs, true, err)) < 0)
		goto fail;
	if (v->have & NC_VCPU_PDPTRS) {
		struct kvm_sregs2 s2 = { 0 };

		memcpy(&s2, &v->sregs, offsetof(struct kvm_sregs, interrupt_bitmap));
		s2.efer = v->sregs.efer;
		s2.apic_base = v->sregs.apic_base;
		s2.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
		memcpy(s2.pdptrs, v->pdptrs, sizeof(s2.pdptrs));
		STEP(true, KVM_SET_SREGS2, &s2, "KVM_SET_SREGS2");
		/* The pending interrupt of the bitmap, which sregs2 lacks, via sregs. */
		STEP(v->have & NC_VCPU_SREGS, KVM_SET_SREGS, &v->sregs, "KVM_SET_SREGS");
	} else {
		STEP(v->have & NC_VCPU_SREGS, KVM_SET_SREGS, &v->sregs, "KVM_SET_SREGS");
	}
	STEP(v->nested, KVM_SET_NESTED_STATE, v->nested, "KVM_SET_NESTED_STATE");
	STEP(v->have & NC_VCPU_REGS, KVM_SET_REGS, &v->regs, "KVM_SET_REGS");
	STEP(v->xsave, KVM_SET_XSAVE, v->xsave, "KVM_SET_XSAVE");
	/* A host without XSAVE reports no XCRs and refuses KVM_SET_XCRS. */
	STEP((v->have & NC_VCPU_XCRS) && v->xcrs.nr_xcrs, KVM_SET_XCRS, &v->xcrs,
	     "KVM_SET_XCRS");
	if (v->msrs && (r = set_msrs(fd, v->id, v->msrs, false, err)) < 0)
		goto fail;
	STEP(v->have & NC_VCPU_LAPIC, KVM_SET_LAPIC, &v->lapic, "KVM_SET_LAPIC");
	STEP(v->have & NC_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, &v->events,
	     "KVM_SET_VCPU_EVENTS");
	STEP(v->have & NC_VCPU_MP_STATE, KVM_SET_MP_STATE, &v->mp_state,
	     "KVM_SET_MP_STATE");
	STEP(v->have & NC_VCPU_DEBUGREGS, KVM_SET_DEBUGREGS, &v->debugregs,
	     "KVM_SET_DEBUGREGS");
#undef STEP
	free(cpuid);
	*out_fd = fd;
	return 0;
fail:
	free(cpuid);
	close(fd);
	return r;
}

static int restore_vm_setup(int vm_fd, const struct nc_vm_state *vm,
			    struct nc_err *err)
{
	uint32_t i;
	int r;

	for (i = 0; i < vm->n_enabled_caps; i++) {
		r = kvm(vm_fd, KVM_ENABLE_CAP, &vm->enabled_caps[i]);
		if (r < 0)
			return nc_errf(err, r, "KVM_ENABLE_CAP %u (%s): %s",
				      vm->enabled_caps[i].cap,
				      nc_kvm_cap_name(vm->enabled_caps[i].cap) ?: "?",
				      strerror(-r));
	}
	/* After the caps: KVM_CAP_X86_USER_SPACE_MSR decides where denials go. */
	if (vm->msr_filter && !nc_fault("msr-filter")) {
		r = nc_msr_filter_restore(vm_fd, vm->msr_filter, err);
		if (r)
			return r;
	}
	if (vm->have & NC_VM_IRQCHIP) {
		r = kvm(vm_fd, KVM_CREATE_IRQCHIP, NULL);
		if (r < 0)
			return nc_errf(err, r, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
	}
	if (vm->have & NC_VM_PIT2) {
		struct kvm_pit_config pit = { .flags = vm->pit2.flags & KVM_PIT_SPEAKER_DUMMY };

		r = kvm(vm_fd, KVM_CREATE_PIT2, &pit);
		if (r < 0)
			return nc_errf(err, r, "KVM_CREATE_PIT2: %s", strerror(-r));
	}
	for (i = 0; i < vm->n_memslots; i++) {
		r = kvm(vm_fd, KVM_SET_USER_MEMORY_REGION, &vm->memslots[i]);
		if (r < 0)
			return nc_errf(err, r, "memslot %u (gpa 0x%llx, %llu bytes): %s",
				      vm->memslots[i].slot,
				      (unsigned long long)vm->memslots[i].guest_phys_addr,
				      (unsigned long long)vm->memslots[i].memory_size,
				      strerror(-r));
	}
	if (vm->n_routes) {
		struct kvm_irq_routing *rt = calloc(1, sizeof(*rt) +
			vm->n_routes * sizeof(rt->entries[0]));

		if (!rt)
			return nc_errf(err, -ENOMEM, "out of memory");
		rt->nr = vm->n_routes;
		memcpy(rt->entries, vm->routes, vm->n_routes * sizeof(rt->entries[0]));
		r = kvm(vm_fd, KVM_SET_GSI_ROUTING, rt);
		free(rt);
		if (r < 0)
			return nc_errf(err, r, "KVM_SET_GSI_ROUTING (%u routes): %s",
				      vm->n_routes, strerror(-r));
	}
	for (i = 0; i < vm->n_coalesced; i++) {
		r = kvm(vm_fd, KVM_REGISTER_COALESCED_MMIO, &vm->coalesced[i]);
		if (r < 0)
			return nc_errf(err, r, "coalesced zone 0x%llx: %s",
				      (unsigned long long)vm->coalesced[i].addr,
				      strerror(-r));
	}
	return 0;
}

static int restore_vm_late(int vm_fd, const struct nc_vm_state *vm,
			   struct nc_err *err)
{
	int r, i;

	if (vm->have & NC_VM_IRQCHIP)
		for (i = 0; i < 3; i++) {
			r = kvm(vm_fd, KVM_SET_IRQCHIP, &vm->chip[i]);
			if (r < 0)
				return nc_errf(err, r, "KVM_SET_IRQCHIP %d: %s", i,
					      strerror(-r));
		}
	if (vm->have & NC_VM_PIT2) {
		r = kvm(vm_fd, KVM_SET_PIT2, &vm->pit2);
		if (r < 0)
			return nc_errf(err, r, "KVM_SET_PIT2: %s", strerror(-r));
	}
	if (vm->have & NC_VM_CLOCK) {
		struct kvm_clock_data c = { .clock = vm->clock.clock };

		r = kvm(vm_fd, KVM_SET_CLOCK, &c);
		if (r < 0)
			return nc_errf(err, r, "KVM_SET_CLOCK: %s", strerror(-r));
	}
	return 0;
}

void nc_restored_vm_close(struct nc_restored_vm *r)
{
	uint32_t i;

	for (i = 0; i < r->n_vcpus; i++)
		if (r->vcpu_fds[i] >= 0)
			close(r->vcpu_fds[i]);
	if (r->vm_fd >= 0)
		close(r->vm_fd);
	free(r->vcpu_fds);
	r->vcpu_fds = NULL;
	r->n_vcpus = 0;
	r->vm_fd = -1;
}

int nc_vm_restore(int kvm_fd, const struct nc_vm_state *vm,
		  struct nc_restored_vm *out, struct nc_err *err)
{
	uint32_t i;
	int r;

	memset(out, 0, sizeof(*out));
	/*
	 * KVM_CREATE_VM registers an MMU notifier, which gives up with EINTR
	 * when a signal is pending (a child of criu's exiting): try again.
	 */
	for (i = 0; i < 100; i++) {
		out->vm_fd = kvm(kvm_fd, KVM_CREATE_VM, 0);
		if (out->vm_fd != -EINTR)
			break;
		usleep(10000);
	}
	if (out->vm_fd < 0)
		return nc_errf(err, out->vm_fd, "KVM_CREATE_VM: %s", strerror(-out->vm_fd));
	out->vcpu_fds = calloc(vm->n_vcpus ? vm->n_vcpus : 1, sizeof(int));
	if (!out->vcpu_fds) {
		r = nc_errf(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = restore_vm_setup(out->vm_fd, vm, err);
	for (i = 0; !r && i < vm->n_vcpus; i++) {
		r = restore_vcpu(out->vm_fd, &vm->vcpus[i], &out->vcpu_fds[i], err);
		if (!r)
			out->n_vcpus = i + 1;
	}
	if (!r)
		r = restore_vm_late(out->vm_fd, vm, err);
	if (!r)
		return 0;
fail:
	nc_restored_vm_close(out);
	return r;
}

int nc_vm_restore_bindings(int vm_fd, const struct nc_vm_state *vm,
			   struct nc_err *err)
{
	uint32_t i;
	int r;

	for (i = 0; i < vm->n_irqfds; i++) {
		const struct nc_irqfd_binding *b = &vm->irqfds[i];
		struct kvm_irqfd a = {
			.fd = b->fd, .gsi = b->gsi, .flags = b->flags,
			.resamplefd = b->resamplefd >= 0 ? b->resamplefd : 0,
		};

		r = kvm(vm_fd, KVM_IRQFD, &a);
		if (r < 0)
			return nc_errf(err, r, "irqfd: eventfd %d for GSI %u: %s", b->fd,
				      b->gsi, strerror(-r));
	}
	for (i = 0; i < vm->n_ioeventfds; i++) {
		const struct nc_ioeventfd_binding *b = &vm->ioeventfds[i];
		struct kvm_ioeventfd a = {
			.datamatch = b->datamatch, .addr = b->addr, .len = b->len,
			.fd = b->fd, .flags = b->flags,
		};

		r = kvm(vm_fd, KVM_IOEVENTFD, &a);
		if (r < 0)
			return nc_errf(err, r, "ioeventfd: eventfd %d at %s 0x%llx: %s",
				      b->fd, b->flags & KVM_IOEVENTFD_FLAG_PIO ?
				      "pio" : "mmio", (unsigned long long)b->addr,
				      strerror(-r));
	}
	return 0;
}

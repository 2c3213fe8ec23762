// SPDX-License-Identifier: GPL-2.0
/*
 * Proving an encoded image on this host before the dump makes it final: it
 * is decoded and checked as the restore does it (nc_image_check_vcpus,
 * nc_image_check_host), then each VM is replayed by the restore's own code
 * (nc_vm_restore) into a scratch VM of the calling process, and the VM state
 * no ioctl returns is read back through the module and compared.  A
 * refusal fails the dump while the VMM can still be thawed.
 *
 * The scratch VM has the image's memslots at the same guest-physical
 * addresses, backed by anonymous MAP_NORESERVE memory the proof never
 * touches (KVM may fault in the odd page, e.g. a kvmclock page it maps when
 * the MSR is written).  What KVM reads from guest memory only at the first
 * KVM_RUN is not proven: a scratch vCPU never runs (see docs/kvm-state.md).
 * irqfd and ioeventfd bindings need the VMM's own eventfds and are not
 * replayed here either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libnestckpt.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Anonymous, never-touched memory at the image's GPA layout. */
static int scratch_memslots(const struct nc_vm_state *vm,
			    struct kvm_userspace_memory_region **out)
{
	struct kvm_userspace_memory_region *s;
	uint32_t i;

	*out = NULL;
	if (!vm->n_memslots)
		return 0;
	s = calloc(vm->n_memslots, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < vm->n_memslots; i++) {
		void *p;

		s[i] = vm->memslots[i];
		s[i].userspace_addr = 0;
		if (!s[i].memory_size)
			continue;
		p = mmap(NULL, s[i].memory_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			int rc = -errno;

			while (i--)
				if (s[i].userspace_addr)
					munmap((void *)(uintptr_t)s[i].userspace_addr,
					       s[i].memory_size);
			free(s);
			return rc;
		}
		s[i].userspace_addr = (uintptr_t)p;
	}
	*out = s;
	return 0;
}

static void scratch_memslots_free(struct kvm_userspace_memory_region *s, uint32_t n)
{
	uint32_t i;

	for (i = 0; s && i < n; i++)
		if (s[i].userspace_addr)
			munmap((void *)(uintptr_t)s[i].userspace_addr, s[i].memory_size);
	free(s);
}

/* Is every entry of @a (@n of @size bytes) in @b, each matched once? */
static bool same_entries(const void *a, const void *b, uint32_t n, size_t size)
{
	bool *used = calloc(n ? n : 1, sizeof(*used));
	uint32_t i, j;
	bool ok = used != NULL;

	for (i = 0; ok && i < n; i++) {
		for (j = 0; j < n; j++)
			if (!used[j] && !memcmp((const char *)a + i * size,
						(const char *)b + j * size, size))
				break;
		ok = j < n;
		if (ok)
			used[j] = true;
	}
	free(used);
	return ok;
}

static bool same_filter(const struct nc_msr_filter *a, const struct nc_msr_filter *b)
{
	uint32_t i;

	if (!a || !b)
		return a == b;
	if (a->flags != b->flags || a->nr_ranges != b->nr_ranges)
		return false;
	for (i = 0; i < a->nr_ranges; i++) {
		const struct nc_msr_filter_range *x = &a->ranges[i], *y = &b->ranges[i];

		if (x->flags != y->flags || x->base != y->base || x->nmsrs != y->nmsrs ||
		    x->bitmap_len != y->bitmap_len ||
		    memcmp(x->bitmap, y->bitmap, x->bitmap_len))
			return false;
	}
	return true;
}

/* The memslot of @back with @want's id: same flags, GPA and size? */
static bool slot_kept(const struct kvm_userspace_memory_region *want,
		      const struct nc_vm_state *back)
{
	uint32_t i;

	for (i = 0; i < back->n_memslots; i++) {
		const struct kvm_userspace_memory_region *b = &back->memslots[i];

		if (b->slot == want->slot)
			return b->flags == want->flags &&
			       b->guest_phys_addr == want->guest_phys_addr &&
			       b->memory_size == want->memory_size;
	}
	return false;
}

/* What the module reads of the scratch VM against what the image holds. */
static int compare_tables(const struct nc_vm_state *vm, const struct nc_vm_state *back,
			  uint32_t idx, struct nc_err *err)
{
	const struct {
		const char *what;
		const void *a, *b;
		uint32_t na, nb;
		size_t size;
	} lists[] = {
		{ "enabled capabilities", vm->enabled_caps, back->enabled_caps,
		  vm->n_enabled_caps, back->n_enabled_caps, sizeof(*vm->enabled_caps) },
		{ "GSI routes", vm->routes, back->routes, vm->n_routes, back->n_routes,
		  sizeof(*vm->routes) },
		{ "coalesced MMIO/PIO zones", vm->coalesced, back->coalesced,
		  vm->n_coalesced, back->n_coalesced, sizeof(*vm->coalesced) },
	};
	uint32_t i;

	if (!same_filter(vm->msr_filter, back->msr_filter))
		return nc_errf(err, -EINVAL, "vm%u: MSR filter: the scratch VM %s after "
			       "the replay (the image's: %u range(s))", idx,
			       back->msr_filter ? "holds another one" : "has none",
			       vm->msr_filter ? vm->msr_filter->nr_ranges : 0);
	for (i = 0; i < vm->n_memslots; i++)
		if (!slot_kept(&vm->memslots[i], back))
			return nc_errf(err, -EINVAL, "vm%u: memslot %u (gpa 0x%llx): not in "
				       "the scratch VM as the image has it", idx,
				       vm->memslots[i].slot,
				       (unsigned long long)vm->memslots[i].guest_phys_addr);
	if (vm->n_memslots != back->n_memslots)
		return nc_errf(err, -EINVAL, "vm%u: %u memslots in the image, %u in the "
			       "scratch VM", idx, vm->n_memslots, back->n_memslots);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (lists[i].na != lists[i].nb ||
		    !same_entries(lists[i].a, lists[i].b, lists[i].na, lists[i].size))
			return nc_errf(err, -EINVAL, "vm%u: %s: %u in the image, the scratch "
				       "VM holds %u or other values", idx, lists[i].what,
				       lists[i].na, lists[i].nb);
	return 0;
}

/* Replay VM @idx of an image into a scratch VM, read it back, close it. */
static int prove_vm(int kvm_fd, int dev, const struct nc_vm_state *vm, uint32_t idx,
		    struct nc_err *err)
{
	struct nc_vm_state scratch = *vm, back = { 0 };
	struct nc_restored_vm out;
	struct nc_err e = { "" };
	int rc;

	rc = scratch_memslots(vm, &scratch.memslots);
	if (rc)
		return nc_errf(err, rc, "vm%u: scratch memory: %s", idx, strerror(-rc));
	rc = nc_vm_restore(kvm_fd, &scratch, &out, &e);
	if (rc) {
		nc_errf(err, rc, "vm%u: %s", idx, e.msg);
		goto out;
	}
	/* The only VM of this process: its index there is 0. */
	if (dev >= 0) {
		rc = nc_vm_tables_read(dev, getpid(), 0, &back, &e);
		if (rc)
			nc_errf(err, rc, "vm%u: reading the scratch VM back: %s", idx, e.msg);
		else
			rc = compare_tables(vm, &back, idx, err);
		nc_vm_state_free(&back);
	}
	nc_restored_vm_close(&out);
out:
	scratch_memslots_free(scratch.memslots, vm->n_memslots);
	return rc;
}

int nc_image_prove(int dev, const uint8_t *buf, size_t len,
		   struct nc_prove_stats *st, struct nc_err *err)
{
	struct nc_compat_report rep = { 0 };
	struct nc_image img;
	uint64_t t0 = mono_ns();
	uint32_t i;
	int kvm_fd, rc;

	memset(st, 0, sizeof(*st));
	rc = nc_image_decode(buf, len, &img, err);
	if (rc) {
		nc_image_free(&img);
		return rc;
	}
	rc = nc_image_check_vcpus(&img, err);
	if (!rc && (rc = nc_image_check_host(&img, &rep, err)) && !err->msg[0])
		nc_errf(err, rc, "this host refuses it: missing: %s%s",
			rep.n_missing ? rep.missing[0] : "?",
			rep.n_missing > 1 ? " (and more)" : "");
	kvm_fd = rc ? -1 : open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (!rc && kvm_fd < 0)
		rc = nc_errf(err, -errno, "/dev/kvm: %s", strerror(errno));
	for (i = 0; !rc && i < img.n_vms; i++) {
		rc = prove_vm(kvm_fd, dev, &img.vms[i], i, err);
		st->vms++;
		st->vcpus += img.vms[i].n_vcpus;
	}
	st->read_back = dev >= 0;
	if (kvm_fd >= 0)
		close(kvm_fd);
	nc_image_free(&img);
	st->ns = mono_ns() - t0;
	return rc;
}

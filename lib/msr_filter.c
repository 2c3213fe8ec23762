// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's MSR filter (KVM_X86_SET_MSR_FILTER), which KVM cannot return: the
 * module reads it (NESTCKPT_VMS_MSR_FILTER), the image keeps it in its own
 * must-understand component (a restorer that dropped it would let the guest
 * reach MSRs the VMM serves itself), and the restore sets it again once the
 * VM's capabilities (KVM_CAP_X86_USER_SPACE_MSR) are back.  Every filter is
 * checked against KVM's own rules (x86.c, kvm_add_msr_filter) before it is
 * written or used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "image.pb-c.h"
#include "image_internal.h"
#include "libnestckpt.h"

#define FILTER_RANGE_FLAGS	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

/* What KVM keeps for @nmsrs bits: whole longs (BITS_TO_LONGS * 8). */
static uint32_t bitmap_bytes(uint32_t nmsrs)
{
	return (uint32_t)(((uint64_t)nmsrs + 63) / 64 * 8);
}

const char *nc_msr_filter_invalid(const struct nc_msr_filter *f)
{
	uint32_t i;

	if (f->flags & ~(uint32_t)KVM_MSR_FILTER_DEFAULT_DENY)
		return "unknown filter flags";
	if (f->nr_ranges > NC_MSR_FILTER_RANGES)
		return "more ranges than KVM takes";
	if (!f->nr_ranges && (f->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return "deny-by-default without ranges";
	for (i = 0; i < f->nr_ranges; i++) {
		const struct nc_msr_filter_range *r = &f->ranges[i];

		if (!r->flags || (r->flags & ~FILTER_RANGE_FLAGS))
			return "a range with invalid flags";
		if (!r->nmsrs || bitmap_bytes(r->nmsrs) > NC_MSR_FILTER_BITMAP)
			return "a range of more MSRs than KVM takes";
		if (r->bitmap_len != bitmap_bytes(r->nmsrs))
			return "a bitmap not the size of its range";
	}
	return NULL;
}

int nc_msr_filter_pack(const struct nc_msr_filter *f, uint32_t vm_index,
		       uint8_t **out, size_t *len)
{
	NcMsrFilterRange r[NC_MSR_FILTER_RANGES], *rp[NC_MSR_FILTER_RANGES];
	NcMsrFilter m = NC_MSR_FILTER__INIT;
	uint32_t i;
	size_t n;

	if (nc_msr_filter_invalid(f))
		return -EINVAL;
	m.vm = vm_index;
	m.flags = f->flags;
	m.n_ranges = f->nr_ranges;
	m.ranges = rp;
	for (i = 0; i < f->nr_ranges; i++) {
		nc_msr_filter_range__init(&r[i]);
		r[i].flags = f->ranges[i].flags;
		r[i].first = f->ranges[i].base;
		r[i].nmsrs = f->ranges[i].nmsrs;
		r[i].bitmap.len = f->ranges[i].bitmap_len;
		r[i].bitmap.data = (uint8_t *)f->ranges[i].bitmap;
		rp[i] = &r[i];
	}
	n = nc_msr_filter__get_packed_size(&m);
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	*len = nc_msr_filter__pack(&m, *out);
	return 0;
}

int nc_msr_filter_unpack(const uint8_t *b, size_t len, struct nc_msr_filter **out,
			 uint32_t *vm_index, struct nc_why *why)
{
	NcMsrFilter *m = nc_msr_filter__unpack(NULL, len, b);
	struct nc_msr_filter *f;
	const char *bad;
	uint32_t i;
	int rc = 0;

	*out = NULL;
	if (!m)
		return nc_why_set(why, "cannot decode (%zu bytes)", len);
	if (m->n_ranges > NC_MSR_FILTER_RANGES) {
		rc = nc_why_set(why, "%zu ranges, KVM takes %u", m->n_ranges,
				NC_MSR_FILTER_RANGES);
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->flags = m->flags;
	f->nr_ranges = m->n_ranges;
	for (i = 0; i < m->n_ranges; i++) {
		const NcMsrFilterRange *r = m->ranges[i];

		if (r->bitmap.len > NC_MSR_FILTER_BITMAP) {
			rc = nc_why_set(why, "range %u: bitmap of %zu bytes", i,
					r->bitmap.len);
			break;
		}
		f->ranges[i].flags = r->flags;
		f->ranges[i].base = r->first;
		f->ranges[i].nmsrs = r->nmsrs;
		f->ranges[i].bitmap_len = r->bitmap.len;
		if (r->bitmap.len)	/* protobuf-c leaves an empty one NULL */
			memcpy(f->ranges[i].bitmap, r->bitmap.data, r->bitmap.len);
	}
	if (!rc && (bad = nc_msr_filter_invalid(f)))
		rc = nc_why_set(why, "not a filter KVM accepts: %s", bad);
	if (rc)
		free(f);
	else
		*out = f;
	*vm_index = m->vm;
out:
	nc_msr_filter__free_unpacked(m, NULL);
	return rc;
}

int nc_msr_filter_restore(int vm_fd, const struct nc_msr_filter *f,
			  struct nc_err *err)
{
	struct kvm_msr_filter k;
	const char *bad = nc_msr_filter_invalid(f);
	uint32_t i;

	if (bad)
		return nc_errf(err, -EINVAL, "MSR filter: %s", bad);
	memset(&k, 0, sizeof(k));
	k.flags = f->flags;
	for (i = 0; i < f->nr_ranges; i++) {
		k.ranges[i].flags = f->ranges[i].flags;
		k.ranges[i].base = f->ranges[i].base;
		k.ranges[i].nmsrs = f->ranges[i].nmsrs;
		/* KVM copies bitmap_len bytes from here: the image's own buffer. */
		k.ranges[i].bitmap = (uint8_t *)f->ranges[i].bitmap;
	}
	if (ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &k))
		return nc_errf(err, -errno, "KVM_X86_SET_MSR_FILTER (%u ranges): %s",
			       f->nr_ranges, strerror(errno));
	return 0;
}

int nc_msr_filter_from_module(const struct nestckpt_msr_filter *m,
			      struct nc_msr_filter **out)
{
	struct nc_msr_filter *f = calloc(1, sizeof(*f));
	uint32_t i;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->flags = m->flags;
	f->nr_ranges = m->nr_ranges;
	for (i = 0; i < m->nr_ranges && i < NC_MSR_FILTER_RANGES; i++) {
		const struct nestckpt_msr_filter_range *r = &m->ranges[i];

		f->ranges[i].flags = r->flags;
		f->ranges[i].base = r->base;
		f->ranges[i].nmsrs = r->nmsrs;
		f->ranges[i].bitmap_len = r->bitmap_len;
		if (r->bitmap_len <= NC_MSR_FILTER_BITMAP)
			memcpy(f->ranges[i].bitmap, r->bitmap, r->bitmap_len);
	}
	if (nc_msr_filter_invalid(f)) {
		free(f);
		return -EPROTO;
	}
	*out = f;
	return 0;
}

/* Is @msr denied for @write by @f (KVM's kvm_msr_allowed())? */
bool nc_msr_filter_denies(const struct nc_msr_filter *f, uint32_t msr, bool write)
{
	uint32_t want = write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ, i;

	for (i = 0; i < f->nr_ranges; i++) {
		const struct nc_msr_filter_range *r = &f->ranges[i];
		uint32_t bit = msr - r->base;

		if ((r->flags & want) && msr >= r->base && bit < r->nmsrs)
			return !(r->bitmap[bit / 8] & (1u << (bit % 8)));
	}
	return f->flags & KVM_MSR_FILTER_DEFAULT_DENY;
}

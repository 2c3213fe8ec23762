// SPDX-License-Identifier: GPL-2.0
/*
 * vmcs12 between KVM's in-memory layout and architectural field encodings.
 *
 * KVM's vmcs12 is a private layout identified only by VMCS12_REVISION
 * (seed 004: layouts and revisions change), so the image never holds it as
 * bytes: every field is read at its offset for the page's revision and kept
 * by its SDM encoding, and written back at the offset of the destination's
 * layout. A revision this library has no layout for, a byte of the page
 * that is set but belongs to no known field, or an image field with no
 * place in the destination layout is a named error: never a blind copy.
 */
#include <errno.h>
#include <string.h>

#include "image_internal.h"
#include "nested.h"

#define VMCS_HDR_REVISION_MASK	0x7fffffffu	/* bit 31: shadow VMCS */
#define VMCS12_HEADER_BYTES	12		/* revision, abort, launch_state */

static const struct nc_vmcs12_layout *const layouts[] = {
	&nc_vmcs12_layout_11e57ed0,
};

uint64_t nc_le_get(const uint8_t *p, unsigned int width)
{
	uint64_t v = 0;

	while (width--)
		v = v << 8 | p[width];
	return v;
}

void nc_le_put(uint8_t *p, unsigned int width, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < width; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

const struct nc_vmcs12_layout *nc_vmcs12_layout_find(uint32_t revision)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i]->revision == (revision & VMCS_HDR_REVISION_MASK))
			return layouts[i];
	return NULL;
}

static const struct nc_vmcs12_field_loc *
field_loc(const struct nc_vmcs12_layout *l, uint32_t encoding)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		if (l->fields[i].encoding == encoding)
			return &l->fields[i];
	return NULL;
}

const char *nc_vmcs_field_name(uint32_t encoding)
{
	const struct nc_vmcs12_field_loc *loc =
		field_loc(&nc_vmcs12_layout_11e57ed0, encoding);

	return loc ? loc->member : NULL;
}

bool nc_vmcs12_get(const struct nc_vmcs12 *v, uint32_t encoding, uint64_t *value)
{
	uint32_t i;

	for (i = 0; i < v->n; i++) {
		if (v->f[i].encoding == encoding) {
			*value = v->f[i].value;
			return true;
		}
	}
	return false;
}

int nc_vmcs12_from_kvm(const uint8_t *page, size_t len, struct nc_vmcs12 *out,
		       struct nc_why *why)
{
	const struct nc_vmcs12_layout *l;
	uint8_t covered[NC_VMCS12_PAGE];
	uint32_t i, rev;

	if (len < NC_VMCS12_PAGE)
		return nc_why_set(why, "vmcs12: %zu bytes, KVM's page is %d",
				  len, NC_VMCS12_PAGE);
	rev = (uint32_t)nc_le_get(page, 4);
	l = nc_vmcs12_layout_find(rev);
	if (!l)
		return nc_why_set(why, "vmcs12: revision 0x%08x is unknown to this "
				  "library (it knows KVM's 0x%08x); refusing to "
				  "copy it blindly", rev & VMCS_HDR_REVISION_MASK,
				  nc_vmcs12_layout_11e57ed0.revision), -EPROTONOSUPPORT;
	memset(out, 0, sizeof(*out));
	memset(covered, 0, sizeof(covered));
	memset(covered, 1, VMCS12_HEADER_BYTES);
	out->revision = rev;
	out->abort = (uint32_t)nc_le_get(page + 4, 4);
	out->launch_state = (uint32_t)nc_le_get(page + 8, 4);
	for (i = 0; i < l->n && i < NC_VMCS12_MAX_FIELDS; i++) {
		const struct nc_vmcs12_field_loc *loc = &l->fields[i];

		out->f[i].encoding = loc->encoding;
		out->f[i].value = nc_le_get(page + loc->offset, loc->width);
		memset(covered + loc->offset, 1, loc->width);
	}
	out->n = i;
	for (i = 0; i < NC_VMCS12_PAGE; i++)
		if (page[i] && !covered[i])
			return nc_why_set(why, "vmcs12: byte at offset %u is 0x%02x "
					  "but belongs to no field of layout 0x%08x",
					  i, page[i], l->revision);
	return 0;
}

int nc_vmcs12_to_kvm(const struct nc_vmcs12 *in,
		     const struct nc_vmcs12_layout *l, uint8_t *page,
		     size_t len, struct nc_why *why)
{
	uint32_t i;

	if (len < NC_VMCS12_PAGE)
		return nc_why_set(why, "vmcs12: %zu bytes, KVM's page is %d",
				  len, NC_VMCS12_PAGE);
	memset(page, 0, NC_VMCS12_PAGE);
	nc_le_put(page, 4, l->revision | (in->revision & ~VMCS_HDR_REVISION_MASK));
	nc_le_put(page + 4, 4, in->abort);
	nc_le_put(page + 8, 4, in->launch_state);
	for (i = 0; i < in->n; i++) {
		const struct nc_vmcs_field *f = &in->f[i];
		const struct nc_vmcs12_field_loc *loc = field_loc(l, f->encoding);

		if (!loc)
			return nc_why_set(why, "vmcs12: field 0x%04x has no place "
					  "in KVM's vmcs12 layout 0x%08x",
					  f->encoding, l->revision), -ENOENT;
		if (loc->width < 8 && f->value >> (8 * loc->width))
			return nc_why_set(why, "vmcs12: field 0x%04x (%s) value "
					  "0x%llx does not fit its %u bytes",
					  f->encoding, loc->member,
					  (unsigned long long)f->value, loc->width);
		nc_le_put(page + loc->offset, loc->width, f->value);
	}
	return 0;
}

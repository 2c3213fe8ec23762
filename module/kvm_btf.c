// SPDX-License-Identifier: GPL-2.0
/*
 * Layouts of KVM's private ioeventfd and coalesced-MMIO structures, taken
 * from the kvm module's own BTF instead of a copy of their definitions
 * (layouts change between kernels; a copy would silently go wrong).
 *
 * Both files are read through the module's own sysfs mount (access.c),
 * never by a path in the caller's mount namespace, where anyone holding a
 * user namespace could mount a forged one.
 *
 * /sys/kernel/btf/kvm is split BTF: its type ids and string offsets
 * continue after vmlinux's, so a name offset below the length of vmlinux's
 * string section is a string of /sys/kernel/btf/vmlinux.  Only the module's
 * BTF (a few hundred KiB) is read whole; vmlinux's strings are read one at
 * a time where they are needed.  Everything read is bounds-checked: a
 * malformed or unexpected file gives "no layout", never a wrong one.
 *
 * The result is looked up at first use (kvm.ko may load after us; we keep
 * no symbol dependency on it) and kept once found; a failure is not kept
 * (the next request tries again).  Callers still check every entry they
 * read against KVM's public structures (see vm_state.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <uapi/linux/btf.h>

#include "nck.h"

/* Relative to the module's sysfs mount. */
#define NCK_BTF_KVM	"kernel/btf/kvm"
#define NCK_BTF_VMLINUX	"kernel/btf/vmlinux"
#define NCK_BTF_MAX	(16U << 20)	/* far above any module's BTF */
#define NCK_NAME_MAX	32		/* longest name we look for, and more */

/* One structure to find, and the members whose byte offsets we need. */
struct nck_btf_want {
	const char *name;
	const char *const *members;
	u32 nr_members;
	u32 *offs;		/* out, in @members' order */
	u32 *size;		/* out: sizeof the struct */
	bool found;
};

struct nck_btf {
	const u8 *data;		/* the module's BTF */
	u32 len;
	const struct btf_header *hdr;
	const u8 *types, *strs;
	u32 types_len, strs_len;
	struct file *base;	/* vmlinux BTF, for names below base_strs_len */
	u32 base_hdr_len, base_str_off, base_strs_len;
	const char *why;	/* what was missing or malformed */
};

static int nck_btf_read_all(const char *path, u8 **out, u32 *len)
{
	struct file *f;
	loff_t size, pos = 0;
	u8 *buf;
	int ret = 0;

	f = nck_sysfs_open(path);
	if (IS_ERR(f))
		return PTR_ERR(f);
	size = i_size_read(file_inode(f));
	if (size < (loff_t)sizeof(struct btf_header) || size > NCK_BTF_MAX) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	buf = kvmalloc(size, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < size) {
		ssize_t n = kernel_read(f, buf + pos, size - pos, &pos);

		if (n <= 0) {
			kvfree(buf);
			ret = n ? n : -EOPNOTSUPP;	/* shorter than said */
			goto out;
		}
	}
	*out = buf;
	*len = size;
out:
	fput(f);
	return ret;
}

/*
 * The header of a BTF blob of @len bytes: sane, and its sections inside.
 * Only the fields up to the string section are read; later kernels' struct
 * btf_header grew (7.x: a layout section) while their blobs may still carry
 * the shorter header.
 */
static bool nck_btf_hdr_ok(const struct btf_header *h, u64 len)
{
	if (h->magic != BTF_MAGIC || h->version != BTF_VERSION ||
	    h->hdr_len < offsetofend(struct btf_header, str_len) || h->hdr_len > len)
		return false;
	len -= h->hdr_len;
	return (u64)h->type_off + h->type_len <= len &&
	       (u64)h->str_off + h->str_len <= len && !(h->type_off & 3);
}

/* Does name offset @off (split numbering) name exactly @want? */
static bool nck_btf_name_is(struct nck_btf *b, u32 off, const char *want)
{
	size_t n = strlen(want) + 1;
	char buf[NCK_NAME_MAX + 1];
	loff_t pos;

	if (off >= b->base_strs_len) {
		off -= b->base_strs_len;
		return off < b->strs_len && n <= b->strs_len - off &&
		       !memcmp(b->strs + off, want, n);
	}
	/* In vmlinux's string section: read just this name. */
	if (n > sizeof(buf) || n > b->base_strs_len - off)
		return false;
	pos = (loff_t)b->base_hdr_len + b->base_str_off + off;
	if (kernel_read(b->base, buf, n, &pos) != n)
		return false;
	return !memcmp(buf, want, n);
}

/* Bytes that follow a struct btf_type of @info; -1 for an unknown kind. */
static long nck_btf_extra(u32 info)
{
	u32 vlen = BTF_INFO_VLEN(info);

	switch (BTF_INFO_KIND(info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return 12;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
	case BTF_KIND_ENUM64:
		return 12L * vlen;
	case BTF_KIND_ENUM:
	case BTF_KIND_FUNC_PROTO:
		return 8L * vlen;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

/* Member offsets of one STRUCT that is named as @w wants. */
static int nck_btf_take(struct nck_btf *b, const struct btf_type *t,
			struct nck_btf_want *w)
{
	const struct btf_member *m = (const struct btf_member *)(t + 1);
	u32 vlen = BTF_INFO_VLEN(t->info), i, j, offs[16];
	bool kflag = BTF_INFO_KFLAG(t->info);
	u32 seen = 0;

	if (w->nr_members > ARRAY_SIZE(offs))
		return -EINVAL;
	for (i = 0; i < vlen; i++, m++) {
		for (j = 0; j < w->nr_members; j++) {
			u32 bits = kflag ? m->offset & 0xffffff : m->offset;

			if (!nck_btf_name_is(b, m->name_off, w->members[j]))
				continue;
			/* A bitfield or unaligned member is not what we know. */
			if ((kflag && m->offset >> 24) || bits % 8 ||
			    bits / 8 >= t->size || (seen & BIT(j))) {
				b->why = "a member is a bitfield or repeated";
				return -EPROTO;
			}
			offs[j] = bits / 8;
			seen |= BIT(j);
			break;
		}
	}
	if (seen != BIT(w->nr_members) - 1) {
		b->why = "a member is missing";
		return -EPROTO;
	}
	/* The same name twice (it should be deduplicated): must agree. */
	if (w->found && (*w->size != t->size ||
			 memcmp(w->offs, offs, w->nr_members * sizeof(u32)))) {
		b->why = "two different definitions";
		return -EPROTO;
	}
	memcpy(w->offs, offs, w->nr_members * sizeof(u32));
	*w->size = t->size;
	w->found = true;
	return 0;
}

static int nck_btf_walk(struct nck_btf *b, struct nck_btf_want *want, u32 nr)
{
	const u8 *p = b->types, *end = b->types + b->types_len;
	u32 i;
	int ret;

	while (p < end) {
		const struct btf_type *t = (const struct btf_type *)p;
		long extra;

		if ((size_t)(end - p) < sizeof(*t)) {
			b->why = "truncated type section";
			return -EPROTO;
		}
		extra = nck_btf_extra(t->info);
		if (extra < 0 || (size_t)(end - p) - sizeof(*t) < (size_t)extra) {
			b->why = "unknown kind or truncated type";
			return -EPROTO;
		}
		if (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT && t->name_off) {
			for (i = 0; i < nr; i++) {
				if (!nck_btf_name_is(b, t->name_off, want[i].name))
					continue;
				ret = nck_btf_take(b, t, &want[i]);
				if (ret)
					return ret;
				break;
			}
		}
		p += sizeof(*t) + extra;
	}
	for (i = 0; i < nr; i++) {
		if (!want[i].found) {
			b->why = "a structure is missing";
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static const char *const nck_ioev_members[] = {
	"list", "addr", "length", "eventfd", "datamatch", "dev", "bus_idx",
	"wildcard",
};
static const char *const nck_cmmio_members[] = { "list", "dev", "zone" };

/* Each member ends inside the struct and is aligned as its type needs. */
static bool nck_layout_sane(const struct nck_kvm_layout *lo)
{
	const struct nck_ioev_layout *e = &lo->ioev;
	const struct nck_cmmio_layout *c = &lo->cmmio;

#define FITS(s, f, sz)	((s)->f % (sz) == 0 && (s)->f + (sz) <= (s)->size)
	return FITS(e, list, 8) && FITS(e, addr, 8) && FITS(e, length, 4) &&
	       FITS(e, eventfd, 8) && FITS(e, datamatch, 8) &&
	       FITS(e, dev, 8) && FITS(e, bus_idx, 1) && FITS(e, wildcard, 1) &&
	       FITS(c, list, 8) && FITS(c, dev, 8) &&
	       FITS(c, zone, 8) && c->zone + 16 <= c->size;
#undef FITS
}

static int nck_kvm_layout_load(struct nck_kvm_layout *lo, const char **why)
{
	struct nck_ioev_layout *e = &lo->ioev;
	struct nck_cmmio_layout *c = &lo->cmmio;
	u32 ioev_offs[ARRAY_SIZE(nck_ioev_members)];
	u32 cmmio_offs[ARRAY_SIZE(nck_cmmio_members)];
	struct nck_btf_want want[] = {
		{ "_ioeventfd", nck_ioev_members, ARRAY_SIZE(nck_ioev_members),
		  ioev_offs, &e->size },
		{ "kvm_coalesced_mmio_dev", nck_cmmio_members,
		  ARRAY_SIZE(nck_cmmio_members), cmmio_offs, &c->size },
	};
	struct btf_header bh;
	struct nck_btf b = {};
	u8 *data = NULL;
	loff_t pos = 0;
	int ret;

	*why = "cannot read " NCK_BTF_KVM;
	ret = nck_btf_read_all(NCK_BTF_KVM, &data, &b.len);
	if (ret)
		return ret == -ENOENT ? -EOPNOTSUPP : ret;
	b.data = data;
	b.hdr = (const struct btf_header *)data;
	*why = "malformed " NCK_BTF_KVM;
	if (!nck_btf_hdr_ok(b.hdr, b.len)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	b.types = data + b.hdr->hdr_len + b.hdr->type_off;
	b.types_len = b.hdr->type_len;
	b.strs = data + b.hdr->hdr_len + b.hdr->str_off;
	b.strs_len = b.hdr->str_len;

	*why = "cannot read " NCK_BTF_VMLINUX;
	b.base = nck_sysfs_open(NCK_BTF_VMLINUX);
	if (IS_ERR(b.base)) {
		ret = PTR_ERR(b.base) == -ENOENT ? -EOPNOTSUPP : PTR_ERR(b.base);
		b.base = NULL;
		goto out;
	}
	if (kernel_read(b.base, &bh, sizeof(bh), &pos) != sizeof(bh) ||
	    !nck_btf_hdr_ok(&bh, i_size_read(file_inode(b.base)))) {
		*why = "malformed " NCK_BTF_VMLINUX;
		ret = -EOPNOTSUPP;
		goto out;
	}
	b.base_hdr_len = bh.hdr_len;
	b.base_str_off = bh.str_off;
	b.base_strs_len = bh.str_len;

	ret = nck_btf_walk(&b, want, ARRAY_SIZE(want));
	*why = b.why;
	if (ret)
		goto out;
	e->list = ioev_offs[0];
	e->addr = ioev_offs[1];
	e->length = ioev_offs[2];
	e->eventfd = ioev_offs[3];
	e->datamatch = ioev_offs[4];
	e->dev = ioev_offs[5];
	e->bus_idx = ioev_offs[6];
	e->wildcard = ioev_offs[7];
	c->list = cmmio_offs[0];
	c->dev = cmmio_offs[1];
	c->zone = cmmio_offs[2];
	if (!nck_layout_sane(lo)) {
		*why = "member offsets do not fit their types";
		ret = -EPROTO;
	}
out:
	if (b.base)
		fput(b.base);
	kvfree(data);
	return ret;
}

static DEFINE_MUTEX(nck_layout_lock);
static struct nck_kvm_layout nck_layout;
static bool nck_layout_found;

/*
 * The layout, or EOPNOTSUPP when it cannot be had.  Only a layout found is
 * kept: a failure (no kvm BTF yet, no memory, a malformed file) is looked
 * up again by the next request, so one bad moment cannot disable the
 * components for everyone until the module is reloaded.
 */
int nck_kvm_layout(const struct nck_kvm_layout **out)
{
	struct nck_kvm_layout lo;
	const char *why = NULL;
	int ret = 0;

	mutex_lock(&nck_layout_lock);
	if (!nck_layout_found) {
		ret = nck_kvm_layout_load(&lo, &why);
		if (ret) {
			pr_warn_ratelimited("no layout of KVM's ioeventfd and coalesced-MMIO structures: %s (%d)\n",
					    why ?: "?", ret);
		} else {
			nck_layout = lo;
			nck_layout_found = true;
			pr_info("KVM layouts from BTF: _ioeventfd size %u, kvm_coalesced_mmio_dev size %u\n",
				nck_layout.ioev.size, nck_layout.cmmio.size);
		}
	}
	mutex_unlock(&nck_layout_lock);
	if (ret)
		return ret == -ENOMEM ? ret : -EOPNOTSUPP;
	*out = &nck_layout;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The image container. A file is
 *
 *   offset 0   "NCKPTIMG"             magic
 *          8   u32 format_major       little endian; checked before anything
 *         12   u32 format_minor       else is parsed, so a future major is
 *         16   u32 header_length      refused with a clear message
 *         20   u32 header_crc32c
 *         24   nc_image_header        protobuf: producer, vendor, and the
 *                                     component table
 *   components, each a protobuf message at the offset the table gives, with
 *   its own length, CRC32C and must-understand flag.
 *
 * A reader skips a component of a kind it does not know unless it is marked
 * must-understand, in which case it refuses the image and names it. Every
 * error names the component and the file offset it concerns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.pb-c.h"
#include "image_internal.h"
#include "libnestckpt.h"

#define MAGIC		"NCKPTIMG"
#define PREAMBLE_SIZE	24
#define MAX_IMAGE_SIZE	(1ull << 32)	/* far beyond any real VMM's KVM state */

static int set_err(struct nc_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct nc_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int nc_why_set(struct nc_why *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *nc_component_kind_name(uint32_t kind)
{
	switch (kind) {
	case NC_COMPONENT_KIND__NC_COMP_CAPS: return "capabilities";
	case NC_COMPONENT_KIND__NC_COMP_VM: return "vm";
	case NC_COMPONENT_KIND__NC_COMP_VCPU: return "vcpu";
	case NC_COMPONENT_KIND__NC_COMP_NOTE: return "note";
	case NC_COMPONENT_KIND__NC_COMP_MSR_FILTER: return "msr-filter";
	default: return NULL;
	}
}

int nc_errf(struct nc_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

void nc_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

uint32_t nc_get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- encode --------------------------------------------------------------- */

struct blob {
	uint32_t kind;
	char name[64];
	bool must_understand;
	uint8_t *data;
	size_t len;
	bool owned;
};

static int add_blob(struct blob **v, size_t *n, uint32_t kind, bool must,
		    uint8_t *data, size_t len, bool owned, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static int add_blob(struct blob **v, size_t *n, uint32_t kind, bool must,
		    uint8_t *data, size_t len, bool owned, const char *fmt, ...)
{
	struct blob *nv = realloc(*v, (*n + 1) * sizeof(**v));
	va_list ap;

	if (!nv) {
		if (owned)
			free(data);
		return -ENOMEM;
	}
	*v = nv;
	nv[*n].kind = kind;
	nv[*n].must_understand = must;
	nv[*n].data = data;
	nv[*n].len = len;
	nv[*n].owned = owned;
	va_start(ap, fmt);
	vsnprintf(nv[*n].name, sizeof(nv[*n].name), fmt, ap);
	va_end(ap);
	(*n)++;
	return 0;
}

static int collect_blobs(const struct nc_image *img,
			 const struct nc_extra_component *extra, size_t n_extra,
			 struct blob **blobs, size_t *n, struct nc_err *err)
{
	struct nc_why why = { "" };
	uint8_t *data;
	size_t len, i;
	uint32_t vi, ci;
	int rc;

	rc = nc_caps_pack(&img->caps, &data, &len);
	if (!rc)
		rc = add_blob(blobs, n, NC_COMPONENT_KIND__NC_COMP_CAPS, true,
			      data, len, true, "capabilities");
	if (rc)
		return set_err(err, rc, "capabilities: cannot encode");
	for (vi = 0; vi < img->n_vms; vi++) {
		const struct nc_vm_state *vm = &img->vms[vi];

		rc = nc_vm_pack(vm, vi, &data, &len, &why);
		if (!rc)
			rc = add_blob(blobs, n, NC_COMPONENT_KIND__NC_COMP_VM,
				      true, data, len, true, "vm%u", vi);
		if (rc)
			return set_err(err, rc, "vm%u: cannot encode: %s", vi, why.msg);
		if (vm->msr_filter) {
			rc = nc_msr_filter_pack(vm->msr_filter, vi, &data, &len);
			if (!rc)
				rc = add_blob(blobs, n, NC_COMPONENT_KIND__NC_COMP_MSR_FILTER,
					      true, data, len, true, "vm%u/msr-filter", vi);
			if (rc)
				return set_err(err, rc, "vm%u/msr-filter: cannot encode", vi);
		}
		for (ci = 0; ci < vm->n_vcpus; ci++) {
			rc = nc_vcpu_pack(&vm->vcpus[ci], vi, &data, &len, &why);
			if (!rc)
				rc = add_blob(blobs, n, NC_COMPONENT_KIND__NC_COMP_VCPU,
					      true, data, len, true, "vm%u/vcpu%u",
					      vi, vm->vcpus[ci].id);
			if (rc)
				return set_err(err, rc, "vm%u/vcpu%u: cannot encode: %s",
					       vi, vm->vcpus[ci].id, why.msg);
		}
	}
	if (img->note[0]) {
		rc = nc_note_pack(img->note, &data, &len);
		if (!rc)
			rc = add_blob(blobs, n, NC_COMPONENT_KIND__NC_COMP_NOTE,
				      false, data, len, true, "note");
		if (rc)
			return set_err(err, rc, "note: cannot encode");
	}
	for (i = 0; i < n_extra; i++) {
		rc = add_blob(blobs, n, extra[i].kind, extra[i].must_understand,
			      (uint8_t *)extra[i].data, extra[i].len, false, "%s",
			      extra[i].name);
		if (rc)
			return set_err(err, rc, "%s: cannot add", extra[i].name);
	}
	return 0;
}

int nc_image_encode(const struct nc_image *img,
		    const struct nc_extra_component *extra, size_t n_extra,
		    uint8_t **buf, size_t *len, struct nc_err *err)
{
	NcImageHeader hdr = NC_IMAGE_HEADER__INIT;
	NcComponentDesc *descs = NULL, **dptrs = NULL;
	struct blob *blobs = NULL;
	size_t n = 0, i, hlen, total, off;
	uint8_t *out = NULL;
	char producer[64];
	int rc;

	*buf = NULL;
	*len = 0;
	rc = collect_blobs(img, extra, n_extra, &blobs, &n, err);
	if (rc)
		goto out;
	descs = calloc(n ? n : 1, sizeof(*descs));
	dptrs = calloc(n ? n : 1, sizeof(*dptrs));
	if (!descs || !dptrs) {
		rc = set_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(producer, sizeof(producer), "nestckpt %s", nc_package_version());
	hdr.format_major = NC_IMAGE_FORMAT_MAJOR;
	hdr.format_minor = NC_IMAGE_FORMAT_MINOR;
	hdr.producer = producer;
	hdr.vendor = img->vendor;
	hdr.n_components = n;
	hdr.components = dptrs;
	/*
	 * Offsets depend on the header's size, which depends on the offsets'
	 * varint sizes: lay out twice, the second time with the final size.
	 */
	hlen = 0;
	for (int pass = 0; pass < 3; pass++) {
		off = PREAMBLE_SIZE + hlen;
		for (i = 0; i < n; i++) {
			nc_component_desc__init(&descs[i]);
			descs[i].kind = blobs[i].kind;
			descs[i].name = blobs[i].name;
			descs[i].must_understand = blobs[i].must_understand;
			descs[i].offset = off;
			descs[i].length = blobs[i].len;
			descs[i].crc32c = nc_crc32c(0, blobs[i].data, blobs[i].len);
			dptrs[i] = &descs[i];
			off += blobs[i].len;
		}
		size_t h = nc_image_header__get_packed_size(&hdr);

		if (h == hlen)
			break;
		hlen = h;
	}
	total = off;
	out = malloc(total);
	if (!out) {
		rc = set_err(err, -ENOMEM, "out of memory (%zu bytes)", total);
		goto out;
	}
	memcpy(out, MAGIC, 8);
	nc_put_le32(out + 8, NC_IMAGE_FORMAT_MAJOR);
	nc_put_le32(out + 12, NC_IMAGE_FORMAT_MINOR);
	nc_put_le32(out + 16, hlen);
	if (nc_image_header__pack(&hdr, out + PREAMBLE_SIZE) != hlen) {
		rc = set_err(err, -EIO, "header: encoded size changed");
		goto out;
	}
	nc_put_le32(out + 20, nc_crc32c(0, out + PREAMBLE_SIZE, hlen));
	for (i = 0; i < n; i++)
		memcpy(out + descs[i].offset, blobs[i].data, blobs[i].len);
	*buf = out;
	*len = total;
	out = NULL;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		if (blobs[i].owned)
			free(blobs[i].data);
	free(blobs);
	free(descs);
	free(dptrs);
	free(out);
	return rc;
}

/* ---- decode --------------------------------------------------------------- */

/* Check the preamble and unpack the header; *hdr_out to be freed by caller. */
static int decode_header(const uint8_t *buf, size_t len, NcImageHeader **hdr_out,
			 struct nc_err *err)
{
	uint32_t major, minor, hlen, crc;
	NcImageHeader *hdr;

	*hdr_out = NULL;
	if (len < PREAMBLE_SIZE)
		return set_err(err, -EINVAL, "preamble at offset 0: truncated: "
			       "the image is %zu bytes, the preamble alone needs %d",
			       len, PREAMBLE_SIZE);
	if (memcmp(buf, MAGIC, 8))
		return set_err(err, -EINVAL, "preamble at offset 0: not a nestckpt "
			       "image (bad magic)");
	major = nc_get_le32(buf + 8);
	minor = nc_get_le32(buf + 12);
	if (major != NC_IMAGE_FORMAT_MAJOR)
		return set_err(err, -EPROTONOSUPPORT, "preamble at offset 8: image "
			       "format version %u.%u is not supported by this reader "
			       "(format %u.x)", major, minor, NC_IMAGE_FORMAT_MAJOR);
	hlen = nc_get_le32(buf + 16);
	crc = nc_get_le32(buf + 20);
	if (hlen > len - PREAMBLE_SIZE)
		return set_err(err, -EINVAL, "header at offset %d: truncated: needs "
			       "%u bytes, the image has %zu after the preamble",
			       PREAMBLE_SIZE, hlen, len - PREAMBLE_SIZE);
	if (nc_crc32c(0, buf + PREAMBLE_SIZE, hlen) != crc)
		return set_err(err, -EBADMSG, "header at offset %d: checksum "
			       "mismatch (%u bytes)", PREAMBLE_SIZE, hlen);
	hdr = nc_image_header__unpack(NULL, hlen, buf + PREAMBLE_SIZE);
	if (!hdr)
		return set_err(err, -EBADMSG, "header at offset %d: cannot decode "
			       "(%u bytes)", PREAMBLE_SIZE, hlen);
	if (hdr->format_major != major || hdr->format_minor != minor) {
		set_err(err, -EBADMSG, "header at offset %d: version %u.%u "
			"disagrees with the preamble's %u.%u", PREAMBLE_SIZE,
			hdr->format_major, hdr->format_minor, major, minor);
		nc_image_header__free_unpacked(hdr, NULL);
		return -EBADMSG;
	}
	*hdr_out = hdr;
	return 0;
}

/* Decoding state beyond the image itself. */
struct decode_ctx {
	struct nc_image *img;
	uint32_t *announced;	/* per VM: vCPUs its VM component announced */
	bool seen_caps;
};

static int add_vm(struct decode_ctx *ctx, const uint8_t *p, size_t len,
		  struct nc_why *why)
{
	struct nc_image *img = ctx->img;
	struct nc_vm_state vm, *nv;
	uint32_t index, nr_vcpus, *na;
	int rc;

	memset(&vm, 0, sizeof(vm));
	rc = nc_vm_unpack(p, len, &vm, &index, &nr_vcpus, why);
	if (rc)
		return rc;
	if (index != img->n_vms) {
		nc_vm_state_free(&vm);
		return nc_why_set(why, "vm index %u out of order (expected %u)",
				  index, img->n_vms);
	}
	nv = realloc(img->vms, (img->n_vms + 1) * sizeof(*nv));
	if (nv)
		img->vms = nv;
	na = realloc(ctx->announced, (img->n_vms + 1) * sizeof(*na));
	if (na)
		ctx->announced = na;
	vm.vcpus = calloc(nr_vcpus ? nr_vcpus : 1, sizeof(*vm.vcpus));
	if (!nv || !na || !vm.vcpus) {
		nc_vm_state_free(&vm);
		return -ENOMEM;
	}
	vm.n_vcpus = 0;		/* counts vCPU components as they arrive */
	ctx->announced[img->n_vms] = nr_vcpus;
	img->vms[img->n_vms++] = vm;
	return 0;
}

static int add_vcpu(struct decode_ctx *ctx, const uint8_t *p, size_t len,
		    struct nc_why *why)
{
	struct nc_vcpu_state v;
	struct nc_vm_state *owner;
	uint32_t index, i;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = nc_vcpu_unpack(p, len, &v, &index, why);
	if (rc)
		return rc;
	if (index >= ctx->img->n_vms) {
		nc_vcpu_state_free(&v);
		return nc_why_set(why, "belongs to vm%u, which the image does not "
				  "hold before it", index);
	}
	owner = &ctx->img->vms[index];
	if (owner->n_vcpus >= ctx->announced[index]) {
		nc_vcpu_state_free(&v);
		return nc_why_set(why, "vm%u announced %u vCPU(s); this is one more",
				  index, ctx->announced[index]);
	}
	for (i = 0; i < owner->n_vcpus; i++) {
		if (owner->vcpus[i].id == v.id) {
			nc_vcpu_state_free(&v);
			return nc_why_set(why, "vm%u holds vcpu%u twice", index, v.id);
		}
	}
	owner->vcpus[owner->n_vcpus++] = v;
	return 0;
}

static int add_msr_filter(struct decode_ctx *ctx, const uint8_t *p, size_t len,
			  struct nc_why *why)
{
	struct nc_msr_filter *f;
	uint32_t index;
	int rc;

	rc = nc_msr_filter_unpack(p, len, &f, &index, why);
	if (rc)
		return rc;
	if (index >= ctx->img->n_vms || ctx->img->vms[index].msr_filter) {
		free(f);
		return nc_why_set(why, "for vm%u, which %s", index,
				  index >= ctx->img->n_vms ? "the image does not hold "
				  "before it" : "already has one");
	}
	ctx->img->vms[index].msr_filter = f;
	return 0;
}

static int decode_component(const NcComponentDesc *d, const uint8_t *p,
			    struct decode_ctx *ctx, struct nc_why *why)
{
	switch (d->kind) {
	case NC_COMPONENT_KIND__NC_COMP_CAPS:
		if (ctx->seen_caps)
			return nc_why_set(why, "a second capabilities component");
		ctx->seen_caps = true;
		return nc_caps_unpack(p, d->length, &ctx->img->caps, why);
	case NC_COMPONENT_KIND__NC_COMP_VM:
		return add_vm(ctx, p, d->length, why);
	case NC_COMPONENT_KIND__NC_COMP_VCPU:
		return add_vcpu(ctx, p, d->length, why);
	case NC_COMPONENT_KIND__NC_COMP_NOTE:
		return nc_note_unpack(p, d->length, ctx->img->note,
				      sizeof(ctx->img->note), why);
	case NC_COMPONENT_KIND__NC_COMP_MSR_FILTER:
		return add_msr_filter(ctx, p, d->length, why);
	}
	return nc_why_set(why, "kind %u has no decoder", d->kind);
}

int nc_image_decode(const uint8_t *buf, size_t len, struct nc_image *img,
		    struct nc_err *err)
{
	struct decode_ctx ctx = { .img = img };
	NcImageHeader *hdr;
	size_t i;
	int rc;

	memset(img, 0, sizeof(*img));
	if (len > MAX_IMAGE_SIZE)
		return set_err(err, -EFBIG, "image of %zu bytes is larger than "
			       "any this reader accepts", len);
	rc = decode_header(buf, len, &hdr, err);
	if (rc)
		return rc;
	img->format_major = hdr->format_major;
	img->format_minor = hdr->format_minor;
	img->vendor = hdr->vendor;
	snprintf(img->producer, sizeof(img->producer), "%s", hdr->producer);
	img->file_size = len;
	img->components = calloc(hdr->n_components ? hdr->n_components : 1,
				 sizeof(*img->components));
	if (!img->components) {
		rc = set_err(err, -ENOMEM, "out of memory");
		goto fail;
	}

	for (i = 0; i < hdr->n_components; i++) {
		const NcComponentDesc *d = hdr->components[i];
		const char *kname = nc_component_kind_name(d->kind);
		struct nc_component_info *ci = &img->components[img->n_components++];
		struct nc_why why = { "" };

		snprintf(ci->name, sizeof(ci->name), "%s", d->name);
		ci->kind = d->kind;
		ci->must_understand = d->must_understand;
		ci->offset = d->offset;
		ci->length = d->length;
		ci->skipped = !kname && !d->must_understand;
		if (d->offset < PREAMBLE_SIZE || d->offset > len ||
		    d->length > len - d->offset) {
			rc = set_err(err, -EINVAL, "component '%s' (%s) at offset "
				     "%llu: truncated: needs %llu bytes, the image "
				     "ends at %zu", d->name, kname ? kname : "unknown",
				     (unsigned long long)d->offset,
				     (unsigned long long)d->length, len);
			goto fail;
		}
		if (nc_crc32c(0, buf + d->offset, d->length) != d->crc32c) {
			rc = set_err(err, -EBADMSG, "component '%s' (%s) at offset "
				     "%llu: checksum mismatch (%llu bytes)", d->name,
				     kname ? kname : "unknown",
				     (unsigned long long)d->offset,
				     (unsigned long long)d->length);
			goto fail;
		}
		if (!kname) {
			if (d->must_understand) {
				rc = set_err(err, -ENOTSUP, "component '%s' (kind %u) "
					     "at offset %llu: unknown must-understand "
					     "component: this reader cannot restore "
					     "the image", d->name, d->kind,
					     (unsigned long long)d->offset);
				goto fail;
			}
			if (img->n_skipped < NC_IMAGE_MAX_SKIPPED)
				snprintf(img->skipped[img->n_skipped++],
					 sizeof(img->skipped[0]), "%s (kind %u)",
					 d->name, d->kind);
			continue;
		}
		rc = decode_component(d, buf + d->offset, &ctx, &why);
		if (rc) {
			set_err(err, rc, "component '%s' (%s) at offset %llu: %s",
				d->name, kname, (unsigned long long)d->offset,
				rc == -ENOMEM ? "out of memory" : why.msg);
			goto fail;
		}
	}
	for (i = 0; i < img->n_vms; i++) {
		if (img->vms[i].n_vcpus != ctx.announced[i]) {
			rc = set_err(err, -EINVAL, "component 'vm%zu' (vm): announced "
				     "%u vCPU(s), the image holds %u", i,
				     ctx.announced[i], img->vms[i].n_vcpus);
			goto fail;
		}
	}
	if (!ctx.seen_caps) {
		rc = set_err(err, -EINVAL, "header at offset %d: the image has no "
			     "capabilities component", PREAMBLE_SIZE);
		goto fail;
	}
	nc_image_header__free_unpacked(hdr, NULL);
	free(ctx.announced);
	return 0;
fail:
	nc_image_header__free_unpacked(hdr, NULL);
	free(ctx.announced);
	nc_image_free(img);
	return rc;
}

int nc_image_reseal(uint8_t *buf, size_t len)
{
	NcImageHeader *hdr;
	uint32_t hlen;
	uint8_t *packed;
	size_t i;

	if (len < PREAMBLE_SIZE)
		return -EINVAL;
	hlen = nc_get_le32(buf + 16);
	if (hlen > len - PREAMBLE_SIZE)
		return -EINVAL;
	hdr = nc_image_header__unpack(NULL, hlen, buf + PREAMBLE_SIZE);
	if (!hdr)
		return -EBADMSG;
	for (i = 0; i < hdr->n_components; i++) {
		NcComponentDesc *d = hdr->components[i];

		if (d->offset <= len && d->length <= len - d->offset)
			d->crc32c = nc_crc32c(0, buf + d->offset, d->length);
	}
	/* Same field sizes, so the header keeps its length. */
	packed = malloc(hlen ? hlen : 1);
	if (packed && nc_image_header__get_packed_size(hdr) == hlen) {
		nc_image_header__pack(hdr, packed);
		memcpy(buf + PREAMBLE_SIZE, packed, hlen);
	}
	free(packed);
	nc_image_header__free_unpacked(hdr, NULL);
	nc_put_le32(buf + 20, nc_crc32c(0, buf + PREAMBLE_SIZE, hlen));
	return 0;
}

void nc_vcpu_state_free(struct nc_vcpu_state *v)
{
	free(v->xsave);
	free(v->msrs);
	free(v->cpuid);
	free(v->nested);
	memset(v, 0, sizeof(*v));
}

void nc_vm_state_free(struct nc_vm_state *vm)
{
	uint32_t i;

	for (i = 0; vm->vcpus && i < vm->n_vcpus; i++)
		nc_vcpu_state_free(&vm->vcpus[i]);
	free(vm->vcpus);
	free(vm->memslots);
	free(vm->irqfds);
	free(vm->ioeventfds);
	free(vm->routes);
	free(vm->coalesced);
	free(vm->enabled_caps);
	free(vm->msr_filter);
	memset(vm, 0, sizeof(*vm));
}

void nc_image_free(struct nc_image *img)
{
	uint32_t i;

	for (i = 0; img->vms && i < img->n_vms; i++)
		nc_vm_state_free(&img->vms[i]);
	free(img->vms);
	img->vms = NULL;
	img->n_vms = 0;
	free(img->components);
	img->components = NULL;
	img->n_components = 0;
}

/* ---- files ---------------------------------------------------------------- */

/* The directory of @path, opened, and its last component in *@base. */
static int open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash) {
		*base = path;
		return AT_FDCWD;
	}
	*base = slash + 1;
	dir = slash == path ? strdup("/") : strndup(path, slash - path);
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd < 0 ? -errno : fd;
}

int nc_image_write_file(const char *path, const struct nc_image *img,
			struct nc_err *err)
{
	char tmp[256];
	const char *base;
	uint8_t *buf;
	size_t len, done = 0;
	int dirfd, fd, rc;

	rc = nc_image_encode(img, NULL, 0, &buf, &len, err);
	if (rc)
		return rc;
	dirfd = open_parent(path, &base);
	fd = dirfd == AT_FDCWD || dirfd >= 0 ?
	     nc_file_create_tmp(dirfd, base, tmp, sizeof(tmp)) : dirfd;
	rc = fd < 0 ? fd : 0;
	while (!rc && done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		rc = n < 0 ? -errno : n == 0 ? -EIO : 0;
		done += n > 0 ? (size_t)n : 0;
	}
	if (fd >= 0) {
		if (!rc && fsync(fd))
			rc = -errno;
		if (close(fd) && !rc)
			rc = -errno;
		if (!rc && renameat(dirfd, tmp, dirfd, base))
			rc = -errno;
		if (rc)
			unlinkat(dirfd, tmp, 0);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(buf);
	if (rc)
		return set_err(err, rc, "%s: %s", path, nc_file_strerror(rc));
	return 0;
}

int nc_image_read_file(const char *path, struct nc_image *img,
		       struct nc_err *err)
{
	const char *base;
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int dirfd, fd, rc;

	memset(img, 0, sizeof(*img));
	dirfd = open_parent(path, &base);
	fd = dirfd == AT_FDCWD || dirfd >= 0 ?
	     nc_file_open_regular(dirfd, base, &st) : dirfd;
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0)
		return set_err(err, fd, "%s: %s", path, nc_file_strerror(fd));
	if ((unsigned long long)st.st_size > MAX_IMAGE_SIZE) {
		close(fd);
		return set_err(err, -EFBIG, "%s: too large", path);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (!buf)
		return set_err(err, -ENOMEM, "%s: out of memory", path);
	rc = nc_image_decode(buf, got, img, err);
	free(buf);
	if (rc) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		set_err(err, rc, "%s: %s", path, m);
	}
	return rc;
}

int nc_image_find(const char *dir, char *path, size_t size, struct nc_err *err)
{
	struct dirent **names;
	int n, i, rc = -ENOENT;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return set_err(err, -errno, "%s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		size_t l = strlen(d);

		if (rc && !strncmp(d, NC_IMAGE_FILE_PREFIX,
				   strlen(NC_IMAGE_FILE_PREFIX)) &&
		    l > 4 && !strcmp(d + l - 4, ".img")) {
			snprintf(path, size, "%s/%s", dir, d);
			rc = 0;
		}
		free(names[i]);
	}
	free(names);
	if (rc)
		set_err(err, rc, "%s: no %s*.img image in this directory", dir,
			NC_IMAGE_FILE_PREFIX);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The CRIU plugin's per-file records.  Layout: "NCKF", a little-endian u32
 * format version, the payload length and its CRC32C, then an nc_file_ref
 * protobuf message (image.proto).  Everything is checked before use: the
 * record comes from an image directory anyone may have edited.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"
#include "image.pb-c.h"

#define REF_MAGIC	"NCKF"
#define REF_VERSION	1
#define REF_HDR		16
#define REF_MAX		(64u << 10)

int nc_file_ref_encode(const struct nc_file_ref *r, uint8_t **buf, size_t *len,
		       struct nc_err *err)
{
	NcFileRef m = NC_FILE_REF__INIT;
	size_t n;

	m.kind = r->kind;
	m.vmm_pid = r->vmm_pid;
	m.vm = r->vm;
	m.vcpu_id = r->vcpu_id;
	m.open_flags = r->open_flags;
	m.max_fd = r->max_fd;
#define PAGE(bit, field, i)						\
	if (r->have_pages & (bit)) {					\
		m.has_##field = 1;					\
		m.field.data = (uint8_t *)r->pages[i];			\
		m.field.len = NC_PAGE_SIZE;				\
	}
	PAGE(NC_PAGE_RUN, run_page, 0);
	PAGE(NC_PAGE_PIO, pio_page, 1);
	PAGE(NC_PAGE_RING, ring_page, 2);
#undef PAGE
	n = nc_file_ref__get_packed_size(&m);
	*buf = malloc(REF_HDR + n);
	if (!*buf)
		return nc_errf(err, -ENOMEM, "out of memory");
	nc_file_ref__pack(&m, *buf + REF_HDR);
	memcpy(*buf, REF_MAGIC, 4);
	nc_put_le32(*buf + 4, REF_VERSION);
	nc_put_le32(*buf + 8, n);
	nc_put_le32(*buf + 12, nc_crc32c(0, *buf + REF_HDR, n));
	*len = REF_HDR + n;
	return 0;
}

int nc_file_ref_decode(const uint8_t *buf, size_t len, struct nc_file_ref *r,
		       struct nc_err *err)
{
	NcFileRef *m;
	uint32_t n;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (len < REF_HDR || memcmp(buf, REF_MAGIC, 4))
		return nc_errf(err, -EINVAL, "not a nestckpt file record (bad magic)");
	if (nc_get_le32(buf + 4) != REF_VERSION)
		return nc_errf(err, -EPROTONOSUPPORT, "file record version %u, this "
			       "reader knows %u", nc_get_le32(buf + 4), REF_VERSION);
	n = nc_get_le32(buf + 8);
	if (n != len - REF_HDR)
		return nc_errf(err, -EINVAL, "file record: %zu payload bytes, header "
			       "says %u (truncated?)", len - REF_HDR, n);
	if (nc_crc32c(0, buf + REF_HDR, n) != nc_get_le32(buf + 12))
		return nc_errf(err, -EBADMSG, "file record: checksum mismatch");
	m = nc_file_ref__unpack(NULL, n, buf + REF_HDR);
	if (!m)
		return nc_errf(err, -EBADMSG, "file record: undecodable payload");
	if (m->kind < NC_FILE_KVM_DEV || m->kind > NC_FILE_VCPU)
		rc = nc_errf(err, -EINVAL, "file record: unknown kind %u", m->kind);
	else if (m->kind != NC_FILE_KVM_DEV && m->vmm_pid <= 0)
		rc = nc_errf(err, -EINVAL, "file record: VMM pid %d", m->vmm_pid);
	else if (m->max_fd < 0 || m->max_fd > (1 << 20))
		rc = nc_errf(err, -EINVAL, "file record: highest fd %d", m->max_fd);
#define PAGE(field)							\
	else if (m->has_##field && m->field.len != NC_PAGE_SIZE)		\
		rc = nc_errf(err, -EINVAL, "file record: " #field " of %zu bytes",	\
			     m->field.len);
	PAGE(run_page)
	PAGE(pio_page)
	PAGE(ring_page)
#undef PAGE
	if (!rc) {
#define PAGE(bit, field, i)						\
		if (m->has_##field) {					\
			r->have_pages |= (bit);				\
			memcpy(r->pages[i], m->field.data, NC_PAGE_SIZE);	\
		}
		PAGE(NC_PAGE_RUN, run_page, 0)
		PAGE(NC_PAGE_PIO, pio_page, 1)
		PAGE(NC_PAGE_RING, ring_page, 2)
#undef PAGE
		r->kind = m->kind;
		r->vmm_pid = m->vmm_pid;
		r->vm = m->vm;
		r->vcpu_id = m->vcpu_id;
		r->open_flags = m->open_flags;
		r->max_fd = m->max_fd;
	}
	nc_file_ref__free_unpacked(m, NULL);
	return rc;
}

static void ref_name(char *name, size_t size, uint32_t id)
{
	snprintf(name, size, NC_FILE_REF_PREFIX "%u.img", id);
}

int nc_file_ref_write(int dirfd, uint32_t id, const struct nc_file_ref *r,
		      struct nc_err *err)
{
	char name[64];
	uint8_t *buf;
	size_t len;
	int rc;

	rc = nc_file_ref_encode(r, &buf, &len, err);
	if (rc)
		return rc;
	ref_name(name, sizeof(name), id);
	rc = nc_file_write_all(dirfd, name, buf, len);
	free(buf);
	if (rc)
		return nc_errf(err, rc, "%s: %s", name, strerror(-rc));
	return 0;
}

int nc_file_ref_read(int dirfd, uint32_t id, struct nc_file_ref *r,
		     struct nc_err *err)
{
	char name[64];
	uint8_t *buf;
	size_t len;
	int rc;

	ref_name(name, sizeof(name), id);
	rc = nc_file_read_all(dirfd, name, REF_MAX, &buf, &len);
	if (rc == -ENOENT)
		return rc;
	if (rc)
		return nc_errf(err, rc, "%s: %s", name, nc_file_strerror(rc));
	rc = nc_file_ref_decode(buf, len, r, err);
	free(buf);
	if (rc) {
		char msg[sizeof(err->msg)];
		size_t n = strlen(name);

		/* Prefix the record's name, cutting the reason if need be. */
		memcpy(msg, err->msg, sizeof(msg));
		snprintf(err->msg, sizeof(err->msg), "%s: %.*s", name,
			 (int)(sizeof(msg) - n - 3), msg);
	}
	return rc;
}

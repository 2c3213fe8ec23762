// SPDX-License-Identifier: GPL-2.0
/*
 * The CRIU plugin's per-file records (lib/file_ref.c): what is written reads
 * back the same, through a real directory and io_uring file I/O; a damaged
 * record is refused with a reason, never half-read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

static void fill(struct nc_file_ref *r)
{
	int p, i;

	memset(r, 0, sizeof(*r));
	r->kind = NC_FILE_VCPU;
	r->vmm_pid = 4242;
	r->vm = 1;
	r->vcpu_id = 7;
	r->open_flags = O_RDWR | O_NONBLOCK;
	r->max_fd = 33;
	r->have_pages = NC_PAGE_RUN | NC_PAGE_RING;
	for (p = 0; p < 3; p++)
		for (i = 0; i < NC_PAGE_SIZE; i++)
			r->pages[p][i] = (uint8_t)(i * 7 + p);
}

int main(void)
{
	struct nc_file_ref in, out;
	struct nc_err err = { "" };
	char dir[] = "/tmp/nc-file-ref-XXXXXX";
	uint8_t *buf;
	size_t len;
	int dfd, rc;

	fill(&in);
	is_int(nc_file_ref_encode(&in, &buf, &len, &err), 0, "encode");
	is_int(nc_file_ref_decode(buf, len, &out, &err), 0, "decode what was encoded");
	ok(out.kind == in.kind && out.vmm_pid == in.vmm_pid && out.vm == in.vm &&
	   out.vcpu_id == in.vcpu_id && out.open_flags == in.open_flags &&
	   out.max_fd == in.max_fd, "fields come back");
	is_int(out.have_pages, NC_PAGE_RUN | NC_PAGE_RING, "only the pages that were there");
	ok(!memcmp(out.pages[0], in.pages[0], NC_PAGE_SIZE) &&
	   !memcmp(out.pages[2], in.pages[2], NC_PAGE_SIZE), "page bytes come back");

	buf[20] ^= 1;
	rc = nc_file_ref_decode(buf, len, &out, &err);
	is_int(rc, -EBADMSG, "a flipped payload bit: checksum refusal");
	has_str(err.msg, "checksum", "... the checksum named");
	buf[20] ^= 1;
	is_int(nc_file_ref_decode(buf, len - 1, &out, &err), -EINVAL, "truncated: refused");
	has_str(err.msg, "truncated", "... truncation named");
	buf[0] = 'X';
	is_int(nc_file_ref_decode(buf, len, &out, &err), -EINVAL, "bad magic: refused");
	free(buf);

	in.kind = 9;
	nc_file_ref_encode(&in, &buf, &len, &err);
	is_int(nc_file_ref_decode(buf, len, &out, &err), -EINVAL, "unknown kind: refused");
	free(buf);

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return tap_done();
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	fill(&in);
	is_int(nc_file_ref_write(dfd, 17, &in, &err), 0, "write nestckpt-file-17.img");
	is_int(nc_file_ref_read(dfd, 17, &out, &err), 0, "read it back");
	ok(!memcmp(out.pages[0], in.pages[0], NC_PAGE_SIZE) && out.vcpu_id == 7,
	   "... the same record");
	is_int(nc_file_ref_read(dfd, 18, &out, &err), -ENOENT, "no record: ENOENT (not our file)");
	ok(faccessat(dfd, ".nestckpt-file-17.img.tmp", F_OK, 0) != 0,
	   "no temporary file left behind");
	unlinkat(dfd, "nestckpt-file-17.img", 0);
	close(dfd);
	rmdir(dir);
	return tap_done();
}

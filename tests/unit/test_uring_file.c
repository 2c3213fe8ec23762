// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-file image I/O (lib/uring_file.c): files of every size class (one
 * write, one io_uring chunk, many chunks in flight with a ragged tail) are
 * written and read back byte for byte, by the io_uring and the plain
 * writer; a file larger than the reader's limit is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_fixtures.h"
#include "tap.h"

static int dirfd_;

static uint8_t *pattern(size_t len, unsigned int seed)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t i;

	if (!p) {
		printf("Bail out! malloc\n");
		exit(1);
	}
	/* Position-dependent bytes: a chunk written at the wrong offset shows. */
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i >> 12) * 131 + i * 7 + seed);
	return p;
}

static void round_trip(size_t len, int plain)
{
	char name[64], msg[160];
	uint8_t *data = pattern(len, (unsigned int)len), *back = NULL;
	size_t got = 0;
	int rc;

	snprintf(name, sizeof(name), "f-%zu-%d.img", len, plain);
	rc = plain ? nc_file_write_all_plain(dirfd_, name, data, len) :
		     nc_file_write_all(dirfd_, name, data, len);
	snprintf(msg, sizeof(msg), "%s writer, %zu bytes: written", plain ? "plain" : "io_uring", len);
	is_int(rc, 0, msg);
	rc = nc_file_read_all(dirfd_, name, 64u << 20, &back, &got);
	snprintf(msg, sizeof(msg), "... %zu bytes read back, the same bytes", len);
	ok(!rc && got == len && (!len || !memcmp(back, data, len)), msg);
	free(back);
	free(data);
}

int main(void)
{
	static const size_t sizes[] = {
		0, 1, 4095, (64u << 10) - 1, 64u << 10, (1u << 20) + 1,
		(9u << 20) + 12345,	/* more chunks than the ring holds at once */
	};
	char dir[64] = "/tmp/nc-uring-XXXXXX", cmd[128];
	uint8_t *buf = NULL;
	size_t i, len;
	int rc;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		round_trip(sizes[i], 0);
		round_trip(sizes[i], 1);
	}
	rc = nc_file_read_all(dirfd_, "f-1048577-0.img", 1u << 20, &buf, &len);
	is_int(rc, -EFBIG, "a file over the reader's limit: refused");
	ok(!buf, "... with no buffer handed out");
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# cleanup failed\n");
	return tap_done();
}

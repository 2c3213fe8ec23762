// SPDX-License-Identifier: GPL-2.0
/*
 * Opening image files in a directory others may write to (the VMM's owner
 * can write the image directory while root dumps into it).
 *
 * A temporary file gets a name nobody can predict and is created with
 * O_EXCL|O_NOFOLLOW, so a planted file or symlink is never opened; the
 * caller then renames it to the final name, and rename() replaces a symlink
 * there instead of following it.  Reads take regular files only, opened
 * without following a symlink and without blocking (a FIFO would otherwise
 * hang the reader until someone writes to it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libnestckpt.h"

int nc_file_create_tmp(int dirfd, const char *name, char *tmp, size_t size)
{
	unsigned int i;

	for (i = 0; i < 64; i++) {
		uint64_t r;
		struct timespec ts;
		int fd, n;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() << 8 ^ i;
		}
		n = snprintf(tmp, size, ".%s.%016llx.tmp", name, (unsigned long long)r);
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int nc_file_open_regular(int dirfd, const char *name, struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	int rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st))
		rc = -errno;
	else if (!S_ISREG(st->st_mode))
		rc = -NC_ENOTREG;
	else
		return fd;
	close(fd);
	return rc;
}

const char *nc_file_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ELOOP:
		return "a symbolic link (refused: image files are never followed)";
	case NC_ENOTREG:
		return "not a regular file (refused: FIFO, device, socket or directory)";
	case EFBIG:
		return "larger than an image may be";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

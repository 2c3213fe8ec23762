// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-file image I/O through io_uring (the plugin's image writes and
 * reads), with plain read()/write() where io_uring is not available.
 * Files are written under a temporary name and renamed, so a reader never
 * sees half an image; a full disk is an error, never a short image.
 * Files are created and opened as safe_file.c says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <liburing.h>

#include "libnestckpt.h"

#define NC_IO_CHUNK	(1u << 20)

#define NC_IO_DEPTH	8
/* Below this, one read()/write() beats setting up a ring. */
#define NC_IO_URING_MIN	(64u << 10)

struct io_chunk {
	size_t off;		/* next byte of this chunk to move */
	size_t end;
};

static void queue_chunk(struct io_uring *ring, int fd, uint8_t *buf,
			struct io_chunk *c, bool write)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (write)
		io_uring_prep_write(sqe, fd, buf + c->off, c->end - c->off, c->off);
	else
		io_uring_prep_read(sqe, fd, buf + c->off, c->end - c->off, c->off);
	io_uring_sqe_set_data(sqe, c);
}

/*
 * Read or write all @len bytes at offset 0 of @fd, up to NC_IO_DEPTH chunks
 * in flight in one submission; a short transfer resubmits the rest of its
 * chunk.  -errno, -EIO on EOF.
 */
static int uring_rw(int fd, uint8_t *buf, size_t len, bool write)
{
	struct io_chunk chunks[NC_IO_DEPTH];
	struct io_uring ring;
	size_t next = 0;
	unsigned int inflight = 0, i;
	int ret, res;

	ret = io_uring_queue_init(NC_IO_DEPTH, &ring, 0);
	if (ret < 0)
		return ret;
	for (i = 0; i < NC_IO_DEPTH && next < len; i++) {
		chunks[i].off = next;
		next = len - next > NC_IO_CHUNK ? next + NC_IO_CHUNK : len;
		chunks[i].end = next;
		queue_chunk(&ring, fd, buf, &chunks[i], write);
		inflight++;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;
		struct io_chunk *c;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = io_uring_peek_cqe(&ring, &cqe);
		if (ret < 0)
			break;
		c = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
		ret = res < 0 ? res : res == 0 ? -EIO : 0;
		if (ret)
			break;
		c->off += (size_t)res;
		if (c->off > c->end) {
			ret = -EIO;	/* more than asked: never trust it */
			break;
		}
		if (c->off < c->end) {
			queue_chunk(&ring, fd, buf, c, write);
			inflight++;
		} else if (next < len) {
			c->off = next;
			next = len - next > NC_IO_CHUNK ? next + NC_IO_CHUNK : len;
			c->end = next;
			queue_chunk(&ring, fd, buf, c, write);
			inflight++;
		}
	}
	/* On error, wait out what is in flight: it still uses @buf. */
	while (inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			break;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
	}
	io_uring_queue_exit(&ring);
	return ret;
}

static int plain_rw(int fd, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, buf + done, len - done, done) :
				    pread(fd, buf + done, len - done, done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		done += n;
	}
	return 0;
}

static int file_rw(int fd, uint8_t *buf, size_t len, bool write)
{
	int ret = len < NC_IO_URING_MIN ? -ENOSYS : uring_rw(fd, buf, len, write);

	if (ret == -ENOSYS || ret == -EPERM || ret == -ENOMEM)
		ret = plain_rw(fd, buf, len, write);
	return ret;
}

static int write_all(int dirfd, const char *name, const void *buf, size_t len,
		     bool uring)
{
	char tmp[256];
	int fd, ret;

	fd = nc_file_create_tmp(dirfd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	if (uring)
		ret = file_rw(fd, (uint8_t *)buf, len, true);
	else
		ret = plain_rw(fd, (uint8_t *)buf, len, true);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(dirfd, tmp, dirfd, name))
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	return ret;
}

int nc_file_write_all(int dirfd, const char *name, const void *buf, size_t len)
{
	return write_all(dirfd, name, buf, len, true);
}

int nc_file_write_all_plain(int dirfd, const char *name, const void *buf, size_t len)
{
	return write_all(dirfd, name, buf, len, false);
}

int nc_file_read_all(int dirfd, const char *name, size_t max, uint8_t **buf,
		     size_t *len)
{
	struct stat st;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = nc_file_open_regular(dirfd, name, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		ret = -EFBIG;
		goto out;
	}
	*buf = malloc(st.st_size ? st.st_size : 1);
	if (!*buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = file_rw(fd, *buf, st.st_size, false);
	if (ret) {
		free(*buf);
		*buf = NULL;
	} else {
		*len = st.st_size;
	}
out:
	close(fd);
	return ret;
}

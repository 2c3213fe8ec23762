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

/* Read or write all @len bytes at offset 0 of @fd; -errno, -EIO on EOF. */
static int uring_rw(int fd, uint8_t *buf, size_t len, bool write)
{
	struct io_uring ring;
	size_t done = 0;
	int ret;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret < 0)
		return ret;
	while (done < len && !ret) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		unsigned int n = len - done > NC_IO_CHUNK ? NC_IO_CHUNK : len - done;

		if (write)
			io_uring_prep_write(sqe, fd, buf + done, n, done);
		else
			io_uring_prep_read(sqe, fd, buf + done, n, done);
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = io_uring_peek_cqe(&ring, &cqe);
		if (ret < 0)
			break;
		ret = cqe->res < 0 ? cqe->res : cqe->res == 0 ? -EIO : 0;
		if (!ret)
			done += cqe->res;
		io_uring_cqe_seen(&ring, cqe);
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
	int ret = uring_rw(fd, buf, len, write);

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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CRIU plugin's per-file record (file_ref.c): which KVM object a dumped
 * fd was and the pages its VMM shared with KVM.  A small file of its own
 * per CRIU file id, with a magic, a version and a CRC32C over the payload.
 * Included by libnestckpt.h.
 */
#ifndef NC_FILE_REF_H
#define NC_FILE_REF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "image.h"

#define NC_FILE_REF_PREFIX	"nestckpt-file-"	/* DIR/nestckpt-file-ID.img */
#define NC_PAGE_SIZE		4096

enum nc_file_kind {
	NC_FILE_KVM_DEV = 1,
	NC_FILE_VM = 2,
	NC_FILE_VCPU = 3,
};

/* Which of the VMM's shared pages a vCPU record holds (nc_file_ref.have_pages). */
#define NC_PAGE_RUN	(1u << 0)
#define NC_PAGE_PIO	(1u << 1)
#define NC_PAGE_RING	(1u << 2)

struct nc_file_ref {
	uint32_t kind;
	int32_t vmm_pid;
	uint32_t vm;
	uint32_t vcpu_id;
	uint32_t open_flags;
	int32_t max_fd;
	uint32_t have_pages;
	uint8_t pages[3][NC_PAGE_SIZE];	/* run, pio, ring */
};

int nc_file_ref_encode(const struct nc_file_ref *r, uint8_t **buf, size_t *len,
		       struct nc_err *err);
/* Validates magic, version, length, checksum and every field. */
int nc_file_ref_decode(const uint8_t *buf, size_t len, struct nc_file_ref *r,
		       struct nc_err *err);
/* DIRFD/nestckpt-file-ID.img; write goes through a temporary name. */
int nc_file_ref_write(int dirfd, uint32_t id, const struct nc_file_ref *r,
		      struct nc_err *err);
/* -ENOENT (no error text) when there is no record for @id: not our file. */
int nc_file_ref_read(int dirfd, uint32_t id, struct nc_file_ref *r,
		     struct nc_err *err);

/*
 * Whole files through io_uring (uring_file.c), plain I/O where io_uring is
 * not available.  Writes go to a fresh temporary file (O_EXCL|O_NOFOLLOW,
 * unpredictable name) in the same directory, then fsync and rename.
 */
int nc_file_write_all(int dirfd, const char *name, const void *buf, size_t len);
/*
 * The same with plain write(): for a process criu is restoring, where an
 * io_uring worker thread would be a thread criu did not create.
 */
int nc_file_write_all_plain(int dirfd, const char *name, const void *buf, size_t len);
/* What nc_file_read_all() returns for anything but a regular file. */
#define NC_ENOTREG	EMEDIUMTYPE
/*
 * A regular file of at most @max bytes (-EFBIG beyond), never through a
 * symlink (-ELOOP) and never a FIFO or device (-NC_ENOTREG, without
 * blocking). *@buf is malloc'd.
 */
int nc_file_read_all(int dirfd, const char *name, size_t max, uint8_t **buf,
		     size_t *len);

/* safe_file.c: opening image files in a directory others may write to. */
/*
 * Create and open for writing a new file ".@name.<random>.tmp" in @dirfd
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), its name in @tmp; fd or -errno.
 */
int nc_file_create_tmp(int dirfd, const char *name, char *tmp, size_t size);
/* Open @name for reading if it is a regular file (fstat'd into @st); fd or -errno. */
int nc_file_open_regular(int dirfd, const char *name, struct stat *st);
/* strerror() with words for the refusals above. */
const char *nc_file_strerror(int err);

#endif

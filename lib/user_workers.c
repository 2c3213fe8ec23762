// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel workers living inside a process (PF_USER_WORKER threads: KVM's
 * NX-huge-page recovery worker on 6.12+, vhost-PID of in-kernel vhost
 * backends), which criu cannot dump, and what the module reports about
 * KVM's worker on this kernel.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"

/* PF_USER_WORKER of include/linux/sched.h (6.4+; unused bit before). */
#define NC_PF_USER_WORKER	0x00004000u
#define NC_NX_COMM		"kvm-nx-lpage-re"

int nc_parse_task_stat(const char *stat, char *comm, size_t comm_len,
		       unsigned int *flags)
{
	const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	size_t n;

	if (!open || !close || close < open)
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (comm_len) {
		if (n >= comm_len)
			n = comm_len - 1;
		memcpy(comm, open + 1, n);
		comm[n] = 0;
	}
	/* After the comm: state ppid pgrp session tty_nr tpgid flags. */
	if (sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %u", flags) != 1)
		return -EINVAL;
	return 0;
}

bool nc_is_nx_worker_comm(const char *comm)
{
	return !strncmp(comm, NC_NX_COMM, sizeof(NC_NX_COMM) - 1);
}

int nc_user_workers(pid_t pid, struct nc_user_worker *out, unsigned int max)
{
	char path[64], buf[1024];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char spath[sizeof(path) + sizeof(de->d_name) + 8];
		struct nc_user_worker w;
		unsigned int flags;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(spath, sizeof(spath), "%s/%s/stat", path, de->d_name);
		if (nc_read_file(spath, buf, sizeof(buf)) <= 0)
			continue;	/* gone meanwhile */
		if (nc_parse_task_stat(buf, w.comm, sizeof(w.comm), &flags) ||
		    !(flags & NC_PF_USER_WORKER))
			continue;
		w.tid = atoi(de->d_name);
		w.nx = nc_is_nx_worker_comm(w.comm);
		if ((unsigned int)n < max)
			out[n] = w;
		n++;
	}
	closedir(d);
	return n;
}

enum nc_nx_situation nc_nx_situation(const struct nc_info *info)
{
	if (info->raw.abi_minor < 4 && info->raw.abi_major == 1)
		return NC_NX_UNREPORTED;
	if (info->raw.caps & NESTCKPT_CAP_NX_WORKER)
		return NC_NX_HANDLED;
	if (info->raw.caps & NESTCKPT_CAP_NX_KTHREAD)
		return NC_NX_KTHREAD;
	return NC_NX_UNHANDLED;
}

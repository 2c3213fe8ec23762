// SPDX-License-Identifier: GPL-2.0
/* Kernel workers inside a process: /proc stat parsing, NX worker situation. */
#include <errno.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

int main(void)
{
	struct nc_user_worker w[4];
	struct nc_info info = { .raw = { .abi_major = 1, .abi_minor = 4 } };
	unsigned int flags = 0;
	char comm[16];

	/* A vhost task as 6.12 shows it (flags 0x404040: PF_USER_WORKER set). */
	is_int(nc_parse_task_stat("812 (kvm-nx-lpage-re) S 1 800 800 0 -1 4210752 0 0",
				  comm, sizeof(comm), &flags), 0, "worker stat parsed");
	is_str(comm, "kvm-nx-lpage-re", "worker comm");
	ok(flags & 0x4000, "PF_USER_WORKER seen");
	ok(nc_is_nx_worker_comm(comm), "the NX worker is recognised");
	ok(!nc_is_nx_worker_comm("vhost-800"), "vhost-PID is not the NX worker");
	/* A comm with spaces and parentheses: only the last ')' ends it. */
	is_int(nc_parse_task_stat("9 (a) b (c)) R 1 9 9 0 -1 4194560 0", comm,
				  sizeof(comm), &flags), 0, "odd comm parsed");
	is_str(comm, "a) b (c)", "odd comm");
	is_int(flags, 4194560, "flags after an odd comm");
	ok(!(flags & 0x4000), "a plain thread is no user worker");
	ok(nc_parse_task_stat("garbage", comm, sizeof(comm), &flags) < 0, "garbage refused");
	ok(nc_parse_task_stat("1 (x) R", comm, sizeof(comm), &flags) < 0, "short line refused");

	/* This test process has no kernel workers. */
	is_int(nc_user_workers(getpid(), w, 4), 0, "no user workers in this process");
	ok(nc_user_workers(-1, w, 4) < 0, "no such process: an error");

	info.raw.caps = NESTCKPT_CAP_INFO | NESTCKPT_CAP_NX_WORKER;
	is_int(nc_nx_situation(&info), NC_NX_HANDLED, "CAP_NX_WORKER: handled");
	info.raw.caps = NESTCKPT_CAP_INFO | NESTCKPT_CAP_NX_KTHREAD;
	is_int(nc_nx_situation(&info), NC_NX_KTHREAD, "CAP_NX_KTHREAD: kernel thread");
	info.raw.caps = NESTCKPT_CAP_INFO;
	is_int(nc_nx_situation(&info), NC_NX_UNHANDLED, "neither at ABI 1.4: not handled");
	info.raw.abi_minor = 3;
	is_int(nc_nx_situation(&info), NC_NX_UNREPORTED, "ABI 1.3: not reported");
	return tap_done();
}

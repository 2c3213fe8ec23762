// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time probe (see ../Kbuild): io_uring_sqe_cmd() takes the type of the
 * command area and checks its size (7.x); before, it took the SQE alone.
 */
#include <linux/io_uring/cmd.h>
#include <linux/types.h>

const u64 *nck_conftest(const struct io_uring_sqe *sqe);
const u64 *nck_conftest(const struct io_uring_sqe *sqe)
{
	return io_uring_sqe_cmd(sqe, u64);
}

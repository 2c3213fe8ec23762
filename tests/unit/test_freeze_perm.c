// SPDX-License-Identifier: GPL-2.0
/*
 * test_freeze_perm VMM_PID OWN_PID: run as root inside the test bed by
 * 30-freeze. VMM_PID is a root-owned VMM; OWN_PID a process of uid 65534.
 * Children drop to uid/gid 65534 and keep chosen capabilities:
 *
 *  - no capability (CAP_DAC_OVERRIDE only, to get past the node's mode):
 *    opening /dev/nestckpt is refused (EPERM), the module's own check;
 *  - CAP_CHECKPOINT_RESTORE but no ptrace rights over the root VMM: freeze,
 *    status and KVM ops on it are refused with EPERM;
 *  - the same caller on its own uid's process passes the ptrace check and
 *    gets the next answer, ENOENT (that process has no KVM VM).
 *
 * Without arguments (the host's unit-test run) it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/kvm.h>

#include "tap.h"
#include "nestckpt.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* Become uid/gid 65534 holding exactly @caps (bit mask, caps < 64). */
static int drop_to_nobody(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (prctl(PR_SET_KEEPCAPS, 1) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int freeze_errno(int dev, pid_t pid)
{
	struct nestckpt_freeze f = { .size = sizeof(f), .pid = pid };

	return ioctl(dev, NESTCKPT_IOC_FREEZE, &f) ? errno : 0;
}

static int status_errno(int dev, pid_t pid)
{
	struct nestckpt_status s = { .size = sizeof(s), .pid = pid };

	return ioctl(dev, NESTCKPT_IOC_STATUS, &s) ? errno : 0;
}

static int op_errno(int dev, pid_t pid)
{
	struct kvm_regs regs;
	struct nestckpt_kvm_op op = {
		.size = sizeof(op), .pid = pid, .vcpu_id = 0,
		.kvm_ioctl = KVM_GET_REGS, .len = sizeof(regs),
		.buf = (uintptr_t)&regs,
	};

	return ioctl(dev, NESTCKPT_IOC_KVM_OP, &op) ? errno : 0;
}

/*
 * In a child with @caps: encode open's errno, then freeze/status/op errnos
 * on @pid, as four bytes of the exit status's worth (one per pipe write).
 */
static void child_probe(uint64_t caps, pid_t pid, int out[4])
{
	int fds[2], r[4] = { 0 }, st;
	pid_t c;

	if (pipe(fds))
		exit(2);
	c = fork();
	if (c == 0) {
		int dev;

		close(fds[0]);
		if (drop_to_nobody(caps))
			r[0] = 1000 + errno;
		else if ((dev = open(NESTCKPT_DEVICE_PATH, O_RDWR)) < 0)
			r[0] = errno;
		else {
			r[1] = freeze_errno(dev, pid);
			r[2] = status_errno(dev, pid);
			r[3] = op_errno(dev, pid);
		}
		if (write(fds[1], r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], out, 4 * sizeof(int)) != 4 * sizeof(int))
		memset(out, 0xff, 4 * sizeof(int));
	close(fds[0]);
	waitpid(c, &st, 0);
}

int main(int argc, char **argv)
{
	uint64_t cr = 1ull << CAP_CHECKPOINT_RESTORE, dac = 1ull << CAP_DAC_OVERRIDE;
	pid_t vmm, own;
	int r[4];

	if (argc != 3) {
		printf("1..0 # SKIP needs VMM_PID OWN_PID, as root in the test bed (30-freeze)\n");
		return 0;
	}
	vmm = atoi(argv[1]);
	own = atoi(argv[2]);

	child_probe(dac, vmm, r);
	is_int(r[0], EPERM, "no CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE: open refused with EPERM");

	child_probe(cr | dac, vmm, r);
	is_int(r[0], 0, "CAP_CHECKPOINT_RESTORE: open allowed");
	is_int(r[1], EPERM, "no ptrace rights over the VMM: freeze refused with EPERM");
	is_int(r[2], EPERM, "no ptrace rights over the VMM: status refused with EPERM");
	is_int(r[3], EPERM, "no ptrace rights over the VMM: KVM op refused with EPERM");

	child_probe(cr | dac, own, r);
	is_int(r[1], ENOENT, "own process: past the ptrace check, refused for having no VM");
	is_int(r[2], 0, "own process: status allowed");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_privilege: run as root inside the test bed by 39-privilege against a
 * nestvmm that runs as VMM_UID (not root).
 *
 * test_privilege fds VMM_PID VMM_UID
 *  - fake /proc: a child keeps a read-write fd, drops to another uid with
 *    no capability, unshares a user and a mount namespace and mounts a
 *    tmpfs on /proc holding a regular file VMM_PID/mem.  Freeze (running),
 *    then status, VM_STATE, a KVM_GET_REGS op and thaw (frozen by the
 *    parent) are all refused with EPERM: the module checks ptrace rights
 *    on its own proc, not on the caller's;
 *  - fd passed to a process without the capabilities: a child that drops
 *    to VMM_UID (ptrace rights over the VMM, no capability) may read
 *    (status, KVM_GET_REGS) but freeze, thaw and KVM_SET_REGS get EPERM;
 *  - read-only fd: info, status, VM_STATE and GET ops work; freeze, thaw,
 *    KVM_SET_REGS and KVM_SET_TSC_KHZ get EBADF.
 *  After each part the VMM is frozen or running as the parent left it.
 *
 * test_privilege btf VMM_PID: right after the module is loaded (its BTF
 * layout not looked up yet), a child in a private mount namespace binds a
 * forged kvm BTF (a bare header, no types) over /sys/kernel/btf/kvm and
 * asks for the ioeventfds: it must get the real list, and so must the
 * parent afterwards.  A module reading the caller's /sys answers
 * EOPNOTSUPP to both (and kept that answer for everyone).
 *
 * Without arguments (the host's unit-test run) it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/btf.h>
#include <linux/capability.h>
#include <linux/kvm.h>

#include "tap.h"
#include "nestckpt.h"

#define ATTACKER_UID	4242	/* no process of the test bed runs as it */
#define NR_RES		8
#define SETUP_FAILED	(-1000)	/* minus errno: the child could not set up */

static pid_t vmm;
static uid_t vmm_uid;

static int freeze_err(int dev)
{
	struct nestckpt_freeze f = { .size = sizeof(f), .pid = vmm };

	return ioctl(dev, NESTCKPT_IOC_FREEZE, &f) ? errno : 0;
}

static int thaw_err(int dev)
{
	struct nestckpt_thaw t = { .size = sizeof(t), .pid = vmm };

	return ioctl(dev, NESTCKPT_IOC_THAW, &t) ? errno : 0;
}

/* 0 and *@state, or the errno. */
static int status_err(int dev, uint32_t *state)
{
	struct nestckpt_status s = { .size = sizeof(s), .pid = vmm };

	if (ioctl(dev, NESTCKPT_IOC_STATUS, &s))
		return errno;
	if (state)
		*state = s.state;
	return 0;
}

static int info_err(int dev)
{
	struct nestckpt_info i = { .size = sizeof(i) };

	return ioctl(dev, NESTCKPT_IOC_GET_INFO, &i) ? errno : 0;
}

static int vm_state_err(int dev, uint32_t flags, void *buf, uint32_t len,
			uint32_t *used)
{
	struct nestckpt_vm_state st = {
		.size = sizeof(st), .flags = flags, .pid = vmm,
		.buf = (uintptr_t)buf, .buf_len = len,
	};

	if (ioctl(dev, NESTCKPT_IOC_VM_STATE, &st))
		return errno;
	if (used)
		*used = st.buf_len;
	return 0;
}

static int memslots_err(int dev)
{
	static char buf[4096];

	return vm_state_err(dev, NESTCKPT_VMS_MEMSLOTS, buf, sizeof(buf), NULL);
}

/* KVM request @req on vCPU 0: 0 and *@result if given, or the errno. */
static int op_result(int dev, uint32_t req, void *arg, uint32_t len,
		     uint64_t value, int64_t *result)
{
	struct nestckpt_kvm_op op = {
		.size = sizeof(op), .pid = vmm, .vcpu_id = 0,
		.kvm_ioctl = req, .len = len,
		.buf = arg ? (uintptr_t)arg : value,
	};

	if (ioctl(dev, NESTCKPT_IOC_KVM_OP, &op))
		return errno;
	if (result)
		*result = op.result;
	return 0;
}

static int op_err(int dev, uint32_t req, void *arg, uint32_t len, uint64_t value)
{
	return op_result(dev, req, arg, len, value, NULL);
}

/* KVM_SET_REGS with what KVM_GET_REGS returned: harmless if let through. */
static int set_regs_err(int dev, const struct kvm_regs *regs)
{
	struct kvm_regs r = *regs;

	return op_err(dev, KVM_SET_REGS, &r, sizeof(r), 0);
}

static int write_file(const char *path, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int fd, n, ok;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* Become @uid/@uid with no capability at all (root's setresuid clears them). */
static int drop_to(uid_t uid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	if (data[0].effective || data[1].effective || data[0].permitted || data[1].permitted) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * The attack: own user and mount namespaces, a tmpfs on /proc, and in it a
 * regular file VMM_PID/mem that anyone may open.
 */
static int fake_proc(void)
{
	char path[64];
	struct stat st;
	int fd;

	/* The uid change left us undumpable: /proc/self/uid_map root's. */
	if (drop_to(ATTACKER_UID) || prctl(PR_SET_DUMPABLE, 1) ||
	    unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", "0 %d 1", ATTACKER_UID) ||
	    write_file("/proc/self/gid_map", "0 %d 1", ATTACKER_UID))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("fakeproc", "/proc", "tmpfs", 0, "mode=0755"))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d", vmm);
	if (mkdir(path, 0755))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", vmm);
	fd = open(path, O_CREAT | O_RDWR, 0666);
	if (fd < 0)
		return -1;
	close(fd);
	/* The path the old check opened now leads here. */
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		errno = ENOTTY;
		return -1;
	}
	close(fd);
	return 0;
}

static int same_uid_no_caps(void)
{
	return drop_to(vmm_uid);
}

/*
 * Fork a child that sets itself up with @setup, keeps @dev, runs phase 1
 * (VMM running) and, after the parent froze the VMM, phase 2.  Each phase
 * fills NR_RES errnos.  Returns 0 with the results, -1 if the pipes broke.
 */
struct probe {
	int (*setup)(void);
	void (*running)(int dev, int *res);
	void (*frozen)(int dev, int *res);
};

static void put_res(int fd, const int *res)
{
	if (write(fd, res, NR_RES * sizeof(int)) != (ssize_t)(NR_RES * sizeof(int)))
		_exit(3);
}

static int get_res(int fd, int *res)
{
	return read(fd, res, NR_RES * sizeof(int)) == (ssize_t)(NR_RES * sizeof(int)) ? 0 : -1;
}

/* Freeze the VMM with the parent's fd; already frozen (by a child) is fine. */
static void parent_freeze(int dev)
{
	uint32_t state = 0;
	int r = freeze_err(dev);

	if (r && r != EBUSY)
		printf("# parent freeze: %s\n", strerror(r));
	if (status_err(dev, &state) || state != NESTCKPT_STATE_FROZEN)
		printf("# parent: the VMM is not frozen\n");
}

static struct kvm_regs parent_regs;

/*
 * The parent freezes the VMM between the phases and hands the child the
 * registers it read then: a SET that a broken module let through writes
 * back what is there.
 */
static int run_probe(const struct probe *p, int dev, int *r1, int *r2)
{
	int up[2], down[2], st, ret = 0;
	pid_t c;

	if (pipe(up) || pipe(down))
		return -1;
	c = fork();
	if (c == 0) {
		int res[NR_RES] = { 0 };

		close(up[0]);
		close(down[1]);
		if (p->setup()) {
			res[0] = SETUP_FAILED - errno;
			put_res(up[1], res);
			put_res(up[1], res);
			_exit(0);
		}
		p->running(dev, res);
		put_res(up[1], res);
		if (read(down[0], &parent_regs, sizeof(parent_regs)) != sizeof(parent_regs))
			_exit(3);
		memset(res, 0, sizeof(res));
		p->frozen(dev, res);
		put_res(up[1], res);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	if (get_res(up[0], r1) || r1[0] <= SETUP_FAILED) {
		ret = r1[0] <= SETUP_FAILED ? 0 : -1;
		goto out;
	}
	parent_freeze(dev);
	if (op_err(dev, KVM_GET_REGS, &parent_regs, sizeof(parent_regs), 0))
		ret = -1;
	if (write(down[1], &parent_regs, sizeof(parent_regs)) != sizeof(parent_regs) ||
	    get_res(up[0], r2))
		ret = -1;
out:
	close(up[0]);
	close(down[1]);
	waitpid(c, &st, 0);
	return ret;
}

static void fake_running(int dev, int *res)
{
	res[0] = freeze_err(dev);
	/* Had it worked, leave the VMM as it was for the parent. */
	if (!res[0])
		thaw_err(dev);
}

static void fake_frozen(int dev, int *res)
{
	struct kvm_regs regs;

	res[0] = status_err(dev, NULL);
	res[1] = memslots_err(dev);
	res[2] = op_err(dev, KVM_GET_REGS, &regs, sizeof(regs), 0);
	res[3] = set_regs_err(dev, &parent_regs);
	res[4] = thaw_err(dev);
}

static void nocap_running(int dev, int *res)
{
	res[0] = freeze_err(dev);
	if (!res[0])
		thaw_err(dev);
	res[1] = status_err(dev, NULL);
}

static void nocap_frozen(int dev, int *res)
{
	struct kvm_regs regs;

	res[0] = op_err(dev, KVM_GET_REGS, &regs, sizeof(regs), 0);
	res[1] = set_regs_err(dev, &parent_regs);
	res[2] = thaw_err(dev);
	res[3] = status_err(dev, NULL);
}

static void check_still_frozen(int dev, const char *who)
{
	uint32_t state = 0;
	char name[160];

	snprintf(name, sizeof(name), "%s: the VMM is still frozen (its thaw did nothing)", who);
	ok(!status_err(dev, &state) && state == NESTCKPT_STATE_FROZEN, name);
}

static void parent_thaw(int dev)
{
	int r = thaw_err(dev);

	if (r && r != ENOENT)
		printf("# parent thaw: %s\n", strerror(r));
}

/* A child that could not set up its attack: the part proves nothing. */
static void setup_failed(int r, const char *what)
{
	char name[160];

	snprintf(name, sizeof(name), "%s: child set up", what);
	ok(0, name);
	printf("#   %s\n", strerror(SETUP_FAILED - r));
}

static int test_fds(void)
{
	struct probe fake = { fake_proc, fake_running, fake_frozen };
	struct probe nocap = { same_uid_no_caps, nocap_running, nocap_frozen };
	int rw, ro, r1[NR_RES], r2[NR_RES];
	struct kvm_regs regs, rw_regs;
	int64_t tsc_khz = 0;
	int r;

	rw = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	ro = open(NESTCKPT_DEVICE_PATH, O_RDONLY);
	if (rw < 0 || ro < 0) {
		printf("not ok 1 - open %s: %s\n1..1\n", NESTCKPT_DEVICE_PATH, strerror(errno));
		return 1;
	}
	is_int(freeze_err(rw), 0, "root, read-write fd: freeze");
	is_int(op_err(rw, KVM_GET_REGS, &regs, sizeof(regs), 0), 0,
	       "root, read-write fd: KVM_GET_REGS");
	is_int(thaw_err(rw), 0, "root, read-write fd: thaw");

	/* The fake-/proc attack. */
	if (run_probe(&fake, rw, r1, r2)) {
		ok(0, "fake /proc: child reported back, parent read the registers");
	} else if (r1[0] <= SETUP_FAILED) {
		setup_failed(r1[0], "fake /proc");
	} else {
		is_int(r1[0], EPERM, "fake /proc, running: freeze refused with EPERM");
		is_int(r2[0], EPERM, "fake /proc, frozen: status refused with EPERM");
		is_int(r2[1], EPERM, "fake /proc, frozen: VM_STATE refused with EPERM");
		is_int(r2[2], EPERM, "fake /proc, frozen: KVM_GET_REGS refused with EPERM");
		is_int(r2[3], EPERM, "fake /proc, frozen: KVM_SET_REGS refused with EPERM");
		is_int(r2[4], EPERM, "fake /proc, frozen: thaw refused with EPERM");
		check_still_frozen(rw, "fake /proc");
	}
	parent_thaw(rw);

	/* The fd in a process with ptrace rights but no capability. */
	if (run_probe(&nocap, rw, r1, r2)) {
		ok(0, "no capability: child reported back, parent read the registers");
	} else if (r1[0] <= SETUP_FAILED) {
		setup_failed(r1[0], "no capability");
	} else {
		is_int(r1[0], EPERM, "no capability, running: freeze refused with EPERM");
		is_int(r1[1], 0, "no capability, running: status allowed (ptrace rights)");
		is_int(r2[0], 0, "no capability, frozen: KVM_GET_REGS allowed (ptrace rights)");
		is_int(r2[1], EPERM, "no capability, frozen: KVM_SET_REGS refused with EPERM");
		is_int(r2[2], EPERM, "no capability, frozen: thaw refused with EPERM");
		is_int(r2[3], 0, "no capability, frozen: status allowed");
		check_still_frozen(rw, "no capability");
	}
	parent_thaw(rw);

	/* A read-only fd reads and changes nothing. */
	is_int(info_err(ro), 0, "read-only fd: info");
	is_int(status_err(ro, NULL), 0, "read-only fd, running: status");
	is_int(memslots_err(ro), 0, "read-only fd, running: VM_STATE");
	r = freeze_err(ro);
	is_int(r, EBADF, "read-only fd: freeze refused with EBADF");
	if (!r)
		parent_thaw(rw);
	parent_freeze(rw);
	memset(&regs, 0xa5, sizeof(regs));
	is_int(op_err(ro, KVM_GET_REGS, &regs, sizeof(regs), 0), 0,
	       "read-only fd, frozen: KVM_GET_REGS");
	is_int(op_err(rw, KVM_GET_REGS, &rw_regs, sizeof(rw_regs), 0), 0,
	       "read-write fd, frozen: KVM_GET_REGS");
	ok(!memcmp(&regs, &rw_regs, sizeof(regs)),
	   "read-only fd, frozen: the same registers as through the read-write fd");
	is_int(op_result(ro, KVM_GET_TSC_KHZ, NULL, 0, 0, &tsc_khz), 0,
	       "read-only fd, frozen: KVM_GET_TSC_KHZ (a read by value)");
	ok(tsc_khz > 0, "read-only fd, frozen: KVM_GET_TSC_KHZ returned a frequency");
	/* The values read: harmless to the VMM if a broken module let them in. */
	is_int(set_regs_err(ro, &rw_regs), EBADF,
	       "read-only fd, frozen: KVM_SET_REGS refused with EBADF");
	is_int(op_err(ro, KVM_SET_TSC_KHZ, NULL, 0, (uint64_t)tsc_khz), EBADF,
	       "read-only fd, frozen: KVM_SET_TSC_KHZ refused with EBADF");
	is_int(thaw_err(ro), EBADF, "read-only fd: thaw refused with EBADF");
	check_still_frozen(rw, "read-only fd");
	is_int(thaw_err(rw), 0, "read-write fd: thaw");
	return tap_done();
}

/* A BTF blob that parses but describes nothing. */
static int write_forged_btf(const char *path)
{
	struct btf_header h = {
		.magic = BTF_MAGIC, .version = BTF_VERSION,
		.hdr_len = sizeof(h), .str_len = 1,
	};
	char nul = 0;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, &h, sizeof(h)) == sizeof(h) && write(fd, &nul, 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static int test_btf(void)
{
	static char kid_buf[8192], buf[8192];
	const char *forged = "/tmp/forged-kvm.btf", *real = "/sys/kernel/btf/kvm";
	int dev, st, fds[2], res[2] = { -1, 0 };
	uint32_t used = 0;
	pid_t c;

	if (access(real, R_OK)) {
		printf("1..0 # SKIP %s: %s\n", real, strerror(errno));
		return 0;
	}
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	if (dev < 0 || write_forged_btf(forged) || pipe(fds)) {
		printf("not ok 1 - set up: %s\n1..1\n", strerror(errno));
		return 1;
	}
	c = fork();
	if (c == 0) {
		struct stat st;

		close(fds[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(forged, real, NULL, MS_BIND, NULL) || stat(real, &st) ||
		    st.st_size != sizeof(struct btf_header) + 1) {
			res[0] = SETUP_FAILED - errno;
		} else {
			res[0] = vm_state_err(dev, NESTCKPT_VMS_IOEVENTFDS, kid_buf,
					      sizeof(kid_buf), &used);
			res[1] = used;
		}
		if (write(fds[1], res, sizeof(res)) != sizeof(res) ||
		    write(fds[1], kid_buf, sizeof(kid_buf)) != sizeof(kid_buf))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != sizeof(res) ||
	    read(fds[0], kid_buf, sizeof(kid_buf)) != sizeof(kid_buf))
		res[0] = -1;
	waitpid(c, &st, 0);
	if (res[0] <= SETUP_FAILED) {
		setup_failed(res[0], "forged BTF bound over /sys/kernel/btf/kvm");
		return tap_done();
	}
	is_int(res[0], 0, "forged kvm BTF in the caller's /sys: ioeventfds still read");
	is_int(vm_state_err(dev, NESTCKPT_VMS_IOEVENTFDS, buf, sizeof(buf), &used), 0,
	       "then, from the initial mount namespace: ioeventfds read");
	ok(used > sizeof(struct nestckpt_vm_record), "the record has entries");
	ok(res[0] == 0 && used == (uint32_t)res[1] && !memcmp(buf, kid_buf, used),
	   "both got the same ioeventfds (the real BTF's layout)");
	unlink(forged);
	return tap_done();
}

int main(int argc, char **argv)
{
	/* A child gone early must not kill the parent with the VMM frozen. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "btf")) {
		vmm = atoi(argv[2]);
		return test_btf();
	}
	if (argc == 4 && !strcmp(argv[1], "fds")) {
		vmm = atoi(argv[2]);
		vmm_uid = atoi(argv[3]);
		return test_fds();
	}
	printf("1..0 # SKIP needs fds VMM_PID VMM_UID or btf VMM_PID, as root in the test bed (39-privilege)\n");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_vcpu_maps: vCPU mappings served through /dev/nestckpt (ABI minor 3).
 * Runs as root in the test bed ("test_vcpu_maps self", from 37-vcpu-maps);
 * without arguments (the host's unit-test run) it skips.
 *
 *  - A mapping of /dev/nestckpt at NESTCKPT_MAP_PGOFF(vCPU fd, page) is the
 *    vCPU's own mapping: a byte written through it is read through KVM's,
 *    and the other way round, and /proc/self/maps names the vCPU file.
 *  - CRIU's restorer may map it from a read-only fd: MAP_SHARED with
 *    PROT_READ is accepted there (such a VMA has VM_MAYSHARE only).
 *  - Each refusal has its errno: private, past the last page, no such fd,
 *    not a vCPU, a vCPU of another process's VM.
 *  - A FREEZE_MAPS freeze of a child VMM turns its vCPU mapping into a
 *    /dev/nestckpt one with the same bytes, and thaw gives KVM's back;
 *    a private vCPU mapping makes that freeze fail with EOPNOTSUPP and
 *    leaves the child unfrozen and its mapping as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "tap.h"
#include "nestckpt.h"

#define PG 4096L

/* The /proc/PID/maps line of the mapping at @addr: offset and path. */
static int maps_line(pid_t pid, unsigned long addr, unsigned long *off,
		     char *path, size_t size)
{
	char name[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(name, sizeof(name), "/proc/%d/maps", (int)pid);
	f = fopen(name, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long start;
		int pos = 0;

		if (sscanf(line, "%lx-%*x %*s %lx %*s %*s %n", &start, off, &pos) < 2 ||
		    start != addr)
			continue;
		snprintf(path, size, "%s", pos ? line + pos : "");
		path[strcspn(path, "\n")] = '\0';
		found = 1;
	}
	fclose(f);
	return found;
}

static int map_errno(int dev, int fd, long page, long pages, int prot, int flags)
{
	void *p = mmap(NULL, pages * PG, prot, flags, dev,
		       (off_t)NESTCKPT_MAP_PGOFF(fd, page) * PG);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, pages * PG);
	return 0;
}

static void self_checks(int kvm)
{
	int vm, vcpu, dev, rodev, st;
	long size, pages;
	unsigned char *kv, *nc;
	const void *ro;
	unsigned long off = ~0UL;
	char path[256] = "";
	pid_t c;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	vcpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!ok(vcpu >= 0 && size >= PG, "a VM with one vCPU"))
		return;
	pages = size / PG;
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	rodev = open(NESTCKPT_DEVICE_PATH, O_RDONLY);
	kv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	nc = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		  (off_t)NESTCKPT_MAP_PGOFF(vcpu, 0) * PG);
	if (!ok(kv != MAP_FAILED && nc != MAP_FAILED,
		"mmap of /dev/nestckpt at NESTCKPT_MAP_PGOFF(vcpu fd, 0)")) {
		printf("#   errno %d\n", errno);
		return;
	}

	((struct kvm_run *)nc)->immediate_exit = 1;
	is_int(((struct kvm_run *)kv)->immediate_exit, 1,
	       "kvm_run written through /dev/nestckpt is read through KVM's mapping");
	kv[PG + 17] = 0xa5;	/* the PIO page */
	is_int(nc[PG + 17], 0xa5, "PIO page written through KVM's mapping is read through ours");
	ok(maps_line(getpid(), (unsigned long)nc, &off, path, sizeof(path)), "our mapping is in maps");
	is_str(path, "anon_inode:kvm-vcpu:0", "maps names the vCPU file, not /dev/nestckpt");
	is_int(off, 0, "with KVM's page offset");

	ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, rodev,
		  (off_t)NESTCKPT_MAP_PGOFF(vcpu, 0) * PG);
	if (ok(ro != MAP_FAILED, "read-only fd: MAP_SHARED, PROT_READ mapping accepted"))
		is_int(((const struct kvm_run *)ro)->immediate_exit, 1,
		       "and it shows the same kvm_run");
	else
		printf("#   errno %d\n", errno);

	is_int(map_errno(dev, vcpu, 0, 1, PROT_READ, MAP_PRIVATE), EINVAL, "MAP_PRIVATE: EINVAL");
	is_int(map_errno(dev, vcpu, NESTCKPT_MAP_PAGE_MAX, 1, PROT_READ, MAP_SHARED), EINVAL,
	       "page NESTCKPT_MAP_PAGE_MAX: EINVAL");
	is_int(map_errno(dev, vcpu, NESTCKPT_MAP_PAGE_MAX - 1, 2, PROT_READ, MAP_SHARED), EINVAL,
	       "a range past the last page: EINVAL");
	is_int(map_errno(dev, 999, 0, 1, PROT_READ, MAP_SHARED), EBADF, "fd not open: EBADF");
	is_int(map_errno(dev, vm, 0, 1, PROT_READ, MAP_SHARED), ENODEV, "VM fd: ENODEV");
	is_int(map_errno(dev, kvm, 0, 1, PROT_READ, MAP_SHARED), ENODEV, "/dev/kvm fd: ENODEV");
	is_int(map_errno(dev, dev, 0, 1, PROT_READ, MAP_SHARED), ENODEV, "/dev/nestckpt fd: ENODEV");

	/* The child inherits the vCPU fd, but the VM belongs to our mm. */
	c = fork();
	if (c == 0)
		_exit(map_errno(dev, vcpu, 0, pages, PROT_READ, MAP_SHARED));
	waitpid(c, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, EACCES,
	       "another process mapping our vCPU: EACCES");

	munmap(nc, size);
	munmap(kv, size);
	if (ro != MAP_FAILED)
		munmap((void *)ro, PG);
	close(rodev);
	close(dev);
	close(vcpu);
	close(vm);
}

/*
 * A child VMM: one vCPU mapped (@flags), a marker in its PIO page; it
 * reports the address and its vCPU fd through a pipe and waits for SIGKILL.
 */
static pid_t start_vmm(int kvm, int flags, unsigned long *addr, int *fd)
{
	int p[2];
	long msg[2] = { 0, -1 };
	pid_t c;

	if (pipe(p))
		return -1;
	c = fork();
	if (c == 0) {
		int vm = ioctl(kvm, KVM_CREATE_VM, 0);
		int vcpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
		long size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		unsigned char *m = vcpu < 0 ? MAP_FAILED :
			mmap(NULL, size, PROT_READ | PROT_WRITE, flags, vcpu, 0);

		if (m != MAP_FAILED) {
			m[PG + 5] = 0x5c;
			msg[0] = (long)m;
			msg[1] = vcpu;
		}
		if (write(p[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (c < 0 || read(p[0], msg, sizeof(msg)) != sizeof(msg) || msg[1] < 0) {
		if (c > 0) {
			kill(c, SIGKILL);
			waitpid(c, NULL, 0);
		}
		close(p[0]);
		return -1;
	}
	close(p[0]);
	*addr = (unsigned long)msg[0];
	*fd = (int)msg[1];
	return c;
}

static int freeze_maps(int dev, pid_t pid)
{
	struct nestckpt_freeze f = {
		.size = sizeof(f), .flags = NESTCKPT_FREEZE_MAPS, .pid = pid,
		.timeout_ms = 5000,
	};

	return ioctl(dev, NESTCKPT_IOC_FREEZE, &f) ? errno : 0;
}

static int thaw(int dev, pid_t pid)
{
	struct nestckpt_thaw t = { .size = sizeof(t), .pid = pid };

	return ioctl(dev, NESTCKPT_IOC_THAW, &t) ? errno : 0;
}

static int is_frozen(int dev, pid_t pid)
{
	struct nestckpt_status s = { .size = sizeof(s), .pid = pid };

	return ioctl(dev, NESTCKPT_IOC_STATUS, &s) ? -errno : (int)s.state;
}

static int peek(pid_t pid, unsigned long addr)
{
	char name[64];
	unsigned char b = 0;
	int fd, n;

	snprintf(name, sizeof(name), "/proc/%d/mem", (int)pid);
	fd = open(name, O_RDONLY);
	if (fd < 0)
		return -1;
	n = (int)pread(fd, &b, 1, (off_t)addr);
	close(fd);
	return n == 1 ? b : -1;
}

static void stop_vmm(pid_t c)
{
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

static void freeze_checks(int kvm)
{
	int dev = open(NESTCKPT_DEVICE_PATH, O_RDWR), fd = -1, err;
	unsigned long addr = 0, off = ~0UL;
	char path[256] = "";
	pid_t c;

	c = start_vmm(kvm, MAP_SHARED, &addr, &fd);
	if (!ok(dev >= 0 && c > 0, "a child VMM with its vCPU mapped shared"))
		return;
	err = freeze_maps(dev, c);
	is_int(err, 0, "FREEZE_MAPS freeze of the child");
	maps_line(c, addr, &off, path, sizeof(path));
	is_str(path, NESTCKPT_DEVICE_PATH, "frozen: the vCPU mapping is /dev/nestckpt's");
	is_int(off, (long long)NESTCKPT_MAP_PGOFF(fd, 0) * PG,
	       "at NESTCKPT_MAP_PGOFF(the child's vCPU fd, 0)");
	is_int(peek(c, addr + PG + 5), 0x5c, "serving the same PIO page");
	is_int(thaw(dev, c), 0, "thaw");
	maps_line(c, addr, &off, path, sizeof(path));
	is_str(path, "anon_inode:kvm-vcpu:0", "thawed: KVM's mapping is back");
	is_int(off, 0, "at KVM's offset");
	is_int(peek(c, addr + PG + 5), 0x5c, "with the same bytes");
	stop_vmm(c);

	c = start_vmm(kvm, MAP_PRIVATE, &addr, &fd);
	if (ok(c > 0, "a child VMM with its vCPU mapped private")) {
		is_int(freeze_maps(dev, c), EOPNOTSUPP, "FREEZE_MAPS of it: EOPNOTSUPP");
		is_int(is_frozen(dev, c), NESTCKPT_STATE_RUNNING, "and the child is not left frozen");
		maps_line(c, addr, &off, path, sizeof(path));
		is_str(path, "anon_inode:kvm-vcpu:0", "its mapping is KVM's still");
		stop_vmm(c);
	}
	close(dev);
}

int main(int argc, char **argv)
{
	int kvm;

	if (argc != 2 || strcmp(argv[1], "self")) {
		printf("1..0 # SKIP needs \"self\", as root in the test bed (37-vcpu-maps)\n");
		return 0;
	}
	kvm = open("/dev/kvm", O_RDWR);
	if (!ok(kvm >= 0, "/dev/kvm opens"))
		return tap_done();
	self_checks(kvm);
	freeze_checks(kvm);
	close(kvm);
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_frozen_state PID CAPDIR: run inside the test bed by 35-freeze-state
 * against a nestvmm that captured its own KVM state in-process
 * (nestvmm --capture CAPDIR, see tests/vmm/README.md) and was then frozen
 * with nestckptctl freeze.
 *
 *  1. Every item of the capture, read again through the module
 *     (NESTCKPT_IOC_KVM_OP, the VMM's own ioctls run in its own context),
 *     must be byte-identical, except what moves by itself while the guest
 *     is stopped: the TSC and the Hyper-V reference and vCPU-runtime
 *     counters (MSRs that count time), and the APIC timer's current count.
 *  2. For each vCPU the capture found in L2: the vmcs12 (VMX) or vmcb12
 *     (SVM) in guest memory, read through /proc/PID/mem, must hold the L2
 *     state the VMM read in-process: the whole vmcs12 as KVM synced it, or
 *     the vmcb12 save-area fields a #VMEXIT writes.
 *
 *  3. The same registers read for all vCPUs at once through io_uring
 *     (IORING_OP_URING_CMD on /dev/nestckpt, one submission) equal the
 *     capture too, and so do those read through a vCPU fd this program
 *     holds (taken from the VMM with pidfd_getfd, as CRIU's dumper gets
 *     its copies) with NESTCKPT_OP_BY_FD.
 *
 * Without arguments (the host's unit-test run) it skips.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <liburing.h>

#include "libnestckpt.h"
#include "tap.h"

#define MSR_IA32_TSC		0x10
#define HV_X64_MSR_VP_RUNTIME		0x40000010	/* 100 ns ticks */
#define HV_X64_MSR_TIME_REF_COUNT	0x40000020	/* 100 ns ticks */
#define APIC_TMCCT		0x390

static pid_t pid;
static int dev;
static const char *capdir;

static void *read_item(const char *sub, const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	void *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s.bin", capdir, sub, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !(buf = calloc(1, st.st_size + 1)) ||
	    read(fd, buf, st.st_size) != st.st_size) {
		close(fd);
		return NULL;
	}
	close(fd);
	*len = st.st_size;
	return buf;
}

/* Run @req through the module on vCPU @vcpu (-1: the VM); result or -errno. */
static long kvm_op(int vcpu, unsigned int req, void *buf, size_t len, uint64_t value)
{
	struct nestckpt_kvm_op op = {
		.size = sizeof(op),
		.pid = pid,
		.vm = 0,
		.vcpu_id = vcpu,
		.kvm_ioctl = req,
		.len = (uint32_t)len,
		.buf = buf ? (uintptr_t)buf : value,
	};

	if (ioctl(dev, NESTCKPT_IOC_KVM_OP, &op))
		return -errno;
	return op.result;
}

static size_t first_diff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return i;
	return len;
}

static void same_bytes(const char *what, const void *got, const void *want, size_t len)
{
	size_t d = first_diff(got, want, len);

	if (!ok(d == len, what))
		printf("#   first difference at byte %zu of %zu\n", d, len);
}

/*
 * Read one item through the module, with the capture as the argument (its
 * size, nent or chip_id headers ride along), and compare it.
 */
static void check_fixed(int vcpu, const char *sub, const char *name, unsigned int req)
{
	char what[128];
	size_t len;
	void *want = read_item(sub, name, &len), *got;
	long r;

	snprintf(what, sizeof(what), "%s/%s: module read == in-process read", sub, name);
	if (!want) {
		ok(0, what);
		printf("#   no %s/%s in the capture\n", sub, name);
		return;
	}
	got = calloc(1, len);
	memcpy(got, want, len);	/* inputs such as chip_id ride along */
	r = kvm_op(vcpu, req, got, len, 0);
	if (r < 0) {
		ok(0, what);
		printf("#   NESTCKPT_IOC_KVM_OP: %s\n", strerror((int)-r));
	} else {
		if (!strcmp(name, "lapic") && len >= APIC_TMCCT + 4)
			memcpy((char *)got + APIC_TMCCT, (char *)want + APIC_TMCCT, 4);
		same_bytes(what, got, want, len);
	}
	free(got);
	free(want);
}

/* MSRs: the same indices; KVM stops at one it cannot read, so go in parts. */
static void check_msrs(int vcpu, const char *sub)
{
	size_t len;
	struct kvm_msrs *want = read_item(sub, "msrs", &len), *got;
	uint32_t done = 0, i, bad = 0, n;
	char what[128];

	snprintf(what, sizeof(what), "%s/msrs: module read == in-process read (but time counters)", sub);
	if (!want || len < sizeof(*want)) {
		ok(0, what);
		return;
	}
	n = want->nmsrs;
	got = calloc(1, sizeof(*got) + n * sizeof(got->entries[0]));
	while (done < n) {
		struct kvm_msrs *part = calloc(1, sizeof(*part) + (n - done) * sizeof(part->entries[0]));
		long r;

		part->nmsrs = n - done;
		for (i = 0; i < n - done; i++)
			part->entries[i].index = want->entries[done + i].index;
		r = kvm_op(vcpu, KVM_GET_MSRS, part,
			   sizeof(*part) + part->nmsrs * sizeof(part->entries[0]), 0);
		if (r < 0) {
			printf("#   KVM_GET_MSRS through the module: %s\n", strerror((int)-r));
			free(part);
			break;
		}
		memcpy(&got->entries[done], part->entries, r * sizeof(part->entries[0]));
		done += r;
		if ((uint32_t)r < part->nmsrs)
			done++;	/* unreadable here too: skip it like the capture */
		free(part);
	}
	for (i = 0; i < n; i++) {
		if (want->entries[i].index == MSR_IA32_TSC ||
		    want->entries[i].index == HV_X64_MSR_VP_RUNTIME ||
		    want->entries[i].index == HV_X64_MSR_TIME_REF_COUNT)
			continue;
		if (got->entries[i].data != want->entries[i].data) {
			printf("#   MSR %#x: module %#llx, in-process %#llx\n",
				       want->entries[i].index,
				       (unsigned long long)got->entries[i].data,
				       (unsigned long long)want->entries[i].data);
			bad++;
		}
	}
	if (!ok(done >= n && !bad, what))
		printf("#   %u of %u MSRs differ\n", bad, n);
	free(got);
	free(want);
}

static int read_guest(uint64_t gpa, void *buf, size_t len)
{
	struct kvm_userspace_memory_region *slot;
	char path[64];
	size_t slen;
	int fd, ret = -1;

	slot = read_item("vm", "memslots", &slen);
	if (!slot || gpa < slot->guest_phys_addr ||
	    gpa + len > slot->guest_phys_addr + slot->memory_size)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		goto out;
	if (pread(fd, buf, len, slot->userspace_addr + gpa - slot->guest_phys_addr) == (ssize_t)len)
		ret = 0;
	close(fd);
out:
	free(slot);
	return ret;
}

static uint64_t u64_at(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

/* The L2 state in guest memory: returns 1 if this vCPU was in L2. */
static int check_guest_copy(const char *sub)
{
	size_t nlen, rlen, slen;
	struct kvm_nested_state *ns = read_item(sub, "nested", &nlen);
	struct kvm_regs *regs = read_item(sub, "regs", &rlen);
	struct kvm_sregs *sregs = read_item(sub, "sregs", &slen);
	char what[160];
	int in_l2 = 0;

	if (!ns || !regs || !sregs || !(ns->flags & KVM_STATE_NESTED_GUEST_MODE))
		goto out;
	in_l2 = 1;
	if (ns->format == KVM_STATE_NESTED_FORMAT_VMX) {
		uint8_t mem[KVM_STATE_NESTED_VMX_VMCS_SIZE];

		snprintf(what, sizeof(what), "%s: vmcs12 at %#llx in guest memory == KVM's in-process vmcs12",
			 sub, (unsigned long long)ns->hdr.vmx.vmcs12_pa);
		if (read_guest(ns->hdr.vmx.vmcs12_pa, mem, sizeof(mem))) {
			ok(0, what);
			goto out;
		}
		same_bytes(what, mem, ns->data.vmx[0].vmcs12, sizeof(mem));
	} else {
		uint8_t vmcb[0x648];
		int bad = 0;

		snprintf(what, sizeof(what), "%s: vmcb12 save area at %#llx in guest memory holds L2's in-process state",
			 sub, (unsigned long long)ns->hdr.svm.vmcb_pa);
		if (read_guest(ns->hdr.svm.vmcb_pa, vmcb, sizeof(vmcb))) {
			ok(0, what);
			goto out;
		}
#define FIELD(off, val) do { if (u64_at(vmcb, off) != (uint64_t)(val)) { \
		printf("#   vmcb12+%#x: %#llx, L2 has %#llx\n", off, \
		       (unsigned long long)u64_at(vmcb, off), (unsigned long long)(val)); bad++; } } while (0)
		FIELD(0x578, regs->rip);
		FIELD(0x5d8, regs->rsp);
		FIELD(0x5f8, regs->rax);
		FIELD(0x570, regs->rflags);
		FIELD(0x558, sregs->cr0);
		FIELD(0x550, sregs->cr3);
		FIELD(0x548, sregs->cr4);
		FIELD(0x4d0, sregs->efer);
		FIELD(0x418, sregs->cs.base);
		FIELD(0x640, sregs->cr2);
#undef FIELD
		if (vmcb[0x4cb] != sregs->ss.dpl) {
			printf("#   vmcb12 CPL %u, L2 has %u\n", vmcb[0x4cb], sregs->ss.dpl);
			bad++;
		}
		ok(!bad, what);
	}
out:
	free(ns);
	free(regs);
	free(sregs);
	return in_l2;
}

/* KVM_GET_REGS through a copy of the VMM's vCPU fds (NESTCKPT_OP_BY_FD). */
static void check_by_fd(void)
{
	struct nestckpt_vcpu_status v[64];
	struct nestckpt_status st = {
		.size = sizeof(st), .pid = pid, .vcpu_capacity = 64,
		.vcpu_entry_size = sizeof(v[0]), .vcpus = (uintptr_t)v,
	};
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	unsigned int i, good = 0;

	if (!ok(pidfd >= 0 && !ioctl(dev, NESTCKPT_IOC_STATUS, &st), "status and pidfd of the VMM"))
		return;
	for (i = 0; i < st.nr_vcpus && i < 64; i++) {
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, v[i].vcpu_fd, 0);
		struct kvm_regs regs, *want;
		struct nestckpt_kvm_op op = {
			.size = sizeof(op), .flags = NESTCKPT_OP_BY_FD, .fd = fd,
			.kvm_ioctl = KVM_GET_REGS, .len = sizeof(regs),
			.buf = (uintptr_t)&regs,
		};
		char sub[32];
		size_t len;

		snprintf(sub, sizeof(sub), "vcpu%u", v[i].vcpu_id);
		want = read_item(sub, "regs", &len);
		if (fd >= 0 && !ioctl(dev, NESTCKPT_IOC_KVM_OP, &op) && want &&
		    !memcmp(want, &regs, sizeof(regs)))
			good++;
		else
			printf("#   vCPU %u through fd %d (VMM's %d): %s\n", v[i].vcpu_id,
			       fd, v[i].vcpu_fd, fd < 0 ? strerror(errno) : "differs or failed");
		free(want);
		if (fd >= 0)
			close(fd);
	}
	close(pidfd);
	ok(st.nr_vcpus && good == st.nr_vcpus,
	   "by fd (pidfd_getfd copies): every vCPU's registers == in-process read");
}

/* KVM_GET_REGS of every vCPU in one io_uring submission. */
static void check_uring_regs(int vcpus)
{
	struct nestckpt_kvm_op *ops = calloc(vcpus, sizeof(*ops));
	struct kvm_regs *regs = calloc(vcpus, sizeof(*regs));
	struct io_uring ring;
	int i, done = 0, bad = 0, submitted;

	if (!ok(!io_uring_queue_init(64, &ring, 0), "io_uring set up"))
		return;
	for (i = 0; i < vcpus; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		uint64_t arg = (uintptr_t)&ops[i];

		if (!sqe)
			break;
		ops[i] = (struct nestckpt_kvm_op){
			.size = sizeof(ops[i]), .pid = pid, .vcpu_id = i,
			.kvm_ioctl = KVM_GET_REGS, .len = sizeof(regs[i]),
			.buf = (uintptr_t)&regs[i],
		};
		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_URING_CMD;
		sqe->fd = dev;
		sqe->cmd_op = NESTCKPT_IOC_KVM_OP;
		memcpy(sqe->cmd, &arg, sizeof(arg));
		sqe->user_data = i;
	}
	submitted = io_uring_submit(&ring);
	is_int(submitted, vcpus, "io_uring: one submission for every vCPU");
	while (done < submitted) {
		struct io_uring_cqe *cqe;
		char sub[32];
		size_t len;
		struct kvm_regs *want;
		int v;

		if (io_uring_wait_cqe(&ring, &cqe))
			break;
		v = (int)cqe->user_data;
		snprintf(sub, sizeof(sub), "vcpu%d", v);
		want = read_item(sub, "regs", &len);
		if (cqe->res < 0) {
			printf("#   vCPU %d: uring_cmd: %s\n", v, strerror(-cqe->res));
			bad++;
		} else if (!want || memcmp(want, &regs[v], sizeof(regs[v]))) {
			printf("#   vCPU %d: registers read through io_uring differ\n", v);
			bad++;
		}
		free(want);
		io_uring_cqe_seen(&ring, cqe);
		done++;
	}
	ok(done == vcpus && !bad, "io_uring: every vCPU's registers == in-process read");
	io_uring_queue_exit(&ring);
	free(ops);
	free(regs);
}

int main(int argc, char **argv)
{
	int vcpu, l2 = 0, vcpus = 0;
	char sub[32], path[4096];
	struct stat st;

	if (argc != 3) {
		printf("1..0 # SKIP needs PID CAPDIR of a frozen nestvmm (guest test 35-freeze-state)\n");
		return 0;
	}
	pid = atoi(argv[1]);
	capdir = argv[2];
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	if (!ok(dev >= 0, "open " NESTCKPT_DEVICE_PATH))
		return 1;

	for (vcpu = 0;; vcpu++) {
		size_t len;
		void *x;

		snprintf(sub, sizeof(sub), "vcpu%d", vcpu);
		snprintf(path, sizeof(path), "%s/%s", capdir, sub);
		if (stat(path, &st))
			break;
		vcpus++;
		check_fixed(vcpu, sub, "regs", KVM_GET_REGS);
		check_fixed(vcpu, sub, "sregs", KVM_GET_SREGS);
		x = read_item(sub, "xsave", &len);
		free(x);
		check_fixed(vcpu, sub, "xsave", len > sizeof(struct kvm_xsave) ?
			    KVM_GET_XSAVE2 : KVM_GET_XSAVE);
		check_fixed(vcpu, sub, "xcrs", KVM_GET_XCRS);
		check_msrs(vcpu, sub);
		x = read_item(sub, "lapic", &len);
		if (x)
			check_fixed(vcpu, sub, "lapic", KVM_GET_LAPIC);
		free(x);
		check_fixed(vcpu, sub, "events", KVM_GET_VCPU_EVENTS);
		check_fixed(vcpu, sub, "debugregs", KVM_GET_DEBUGREGS);
		check_fixed(vcpu, sub, "mp_state", KVM_GET_MP_STATE);
		check_fixed(vcpu, sub, "cpuid", KVM_GET_CPUID2);
		check_fixed(vcpu, sub, "nested", KVM_GET_NESTED_STATE);
		x = read_item(sub, "tsc_khz", &len);
		if (x) {
			long khz = kvm_op(vcpu, KVM_GET_TSC_KHZ, NULL, 0, 0);

			is_int(khz, *(uint32_t *)x, "tsc_khz: module read == in-process read");
			free(x);
		}
		l2 += check_guest_copy(sub);
	}
	if (vcpus) {
		check_uring_regs(vcpus);
		check_by_fd();
	}
	for (vcpu = 0; vcpu < 3; vcpu++) {
		static const char *const chips[] = { "pic_master", "pic_slave", "ioapic" };
		size_t len;
		struct kvm_irqchip *want = read_item("vm", chips[vcpu], &len);

		if (!want)
			continue;
		free(want);
		check_fixed(-1, "vm", chips[vcpu], KVM_GET_IRQCHIP);
	}
	check_fixed(-1, "vm", "pit2", KVM_GET_PIT2);
	printf("# %d vCPU(s) compared, %d of them in L2 at the capture\n", vcpus, l2);
	ok(vcpus > 0, "the capture has vCPUs");
	ok(l2 > 0, "at least one vCPU was in L2 (its guest-memory copy checked)");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

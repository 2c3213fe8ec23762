// SPDX-License-Identifier: GPL-2.0
/*
 * test_dev_fuzz VMM_PID CALLS [SEED]: run as root inside the test bed by
 * 40-fuzz against a running nestvmm. CALLS random requests go to
 * /dev/nestckpt, through ioctl() and, every fourth, through io_uring
 * (IORING_OP_URING_CMD): random command numbers around and inside
 * nestckpt's range, random sizes, flags, pids (the VMM, this process,
 * nonsense), vCPU ids, KVM requests (state reads, and writes whose sizes
 * are wrong so the module must stop them), lengths and buffer addresses
 * (valid, NULL, unmapped, kernel), VM_STATE component flags (all of
 * NESTCKPT_VMS_ALL's mixes, and junk). Freezes and thaws of the VMM are among
 * the requests, so state reads meet it both frozen and running.
 *
 * The program checks what it can locally: no call may succeed on garbage
 * it cannot accept (a valid-looking reply always carries the kernel's
 * size), and it thaws the VMM at the end. The guest test checks the rest:
 * dmesg clean, the VMM's own verdict, and that the module unloads.
 *
 * Without arguments (the host's unit-test run) it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <liburing.h>

#include "tap.h"
#include "nestckpt.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed printed below */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint32_t pick(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* KVM state requests; the SETs only ever go out with a wrong length. */
static const uint32_t kvm_gets[] = {
	KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_SREGS2, KVM_GET_FPU, KVM_GET_XSAVE,
	KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_MSRS, KVM_GET_LAPIC,
	KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_GET_MP_STATE, KVM_GET_CPUID2,
	KVM_GET_TSC_KHZ, KVM_GET_NESTED_STATE, KVM_GET_CLOCK, KVM_GET_IRQCHIP,
	KVM_GET_PIT2, KVM_CHECK_EXTENSION, KVM_RUN, KVM_CREATE_VCPU,
	KVM_SET_USER_MEMORY_REGION, KVM_IRQFD, KVM_GET_DIRTY_LOG,
};
static const uint32_t kvm_sets[] = {
	KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_MSRS, KVM_SET_NESTED_STATE,
	KVM_SET_CPUID2, KVM_SET_LAPIC, KVM_SET_IRQCHIP, KVM_SET_CLOCK,
};

static uint8_t *buf;		/* 64 KiB of random-filled memory, then a guard */
static uint8_t *unmapped;	/* an address nothing can be read or written at */

static uint64_t any_address(size_t need)
{
	switch (pick(8)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)unmapped;
	case 2:
		return 0xffffffff81000000ull;	/* kernel text */
	case 3:
		return (uintptr_t)buf + (64 << 10) - pick(64);	/* runs off the end */
	default:
		return (uintptr_t)buf + pick((64 << 10) - (need < 4096 ? need : 4096));
	}
}

static pid_t any_pid(pid_t vmm)
{
	static const pid_t odd[] = { 0, -1, 1, 2, 0x7fffffff, -0x7fffffff };

	switch (pick(6)) {
	case 0:
		return getpid();
	case 1:
		return odd[pick(6)];
	default:
		return vmm;
	}
}

static void fill_random(void *p, size_t len)
{
	uint8_t *b = p;

	while (len--)
		*b++ = (uint8_t)rnd();
}

/* One random request: command and argument block in @arg (256 bytes). */
static unsigned int make_request(pid_t vmm, uint8_t *arg, uint64_t *argp)
{
	static const unsigned int cmds[] = {
		NESTCKPT_IOC_GET_INFO, NESTCKPT_IOC_FREEZE, NESTCKPT_IOC_THAW,
		NESTCKPT_IOC_STATUS, NESTCKPT_IOC_KVM_OP, NESTCKPT_IOC_VM_STATE,
	};
	const uint32_t nr_cmds = sizeof(cmds) / sizeof(cmds[0]);
	unsigned int cmd;

	fill_random(arg, 256);
	*argp = (uintptr_t)arg;
	switch (pick(10)) {
	case 0:	/* a random number in nestckpt's range or anyone's */
		cmd = pick(2) ? _IOC(pick(4), NESTCKPT_IOC_MAGIC, pick(0x40), pick(4096))
			      : (uint32_t)rnd();
		break;
	case 1: /* a good command, bad argument pointer */
		cmd = cmds[pick(nr_cmds)];
		*argp = any_address(64);
		break;
	default:
		cmd = cmds[pick(nr_cmds)];
		break;
	}

	/* Mostly sane headers, so requests get past the size check. */
	if (pick(4)) {
		uint32_t sizes[] = { 16, 40, 48, 64, 0, 4, 4097, (uint32_t)rnd(), 256 };
		uint32_t size = pick(3) ? 0 : sizes[pick(9)];

		if (!size) {
			switch (cmd) {
			case NESTCKPT_IOC_GET_INFO: size = sizeof(struct nestckpt_info); break;
			case NESTCKPT_IOC_FREEZE: size = sizeof(struct nestckpt_freeze); break;
			case NESTCKPT_IOC_THAW: size = sizeof(struct nestckpt_thaw); break;
			case NESTCKPT_IOC_STATUS: size = sizeof(struct nestckpt_status); break;
			case NESTCKPT_IOC_VM_STATE: size = sizeof(struct nestckpt_vm_state); break;
			default: size = sizeof(struct nestckpt_kvm_op); break;
			}
		}
		memcpy(arg, &size, 4);
		if (pick(3))
			memset(arg + size % 256, 0, 256 - size % 256);	/* zero tail */
		if (pick(2))
			memset(arg + 4, 0, 4);	/* flags */
	}
	if (cmd == NESTCKPT_IOC_FREEZE && pick(3)) {
		struct nestckpt_freeze *f = (void *)arg;

		f->pid = any_pid(vmm);
		f->timeout_ms = pick(2) ? pick(3000) : 0;
		f->nr_msrs = pick(2) ? 0 : pick(2000);
		f->msr_indices = any_address(f->nr_msrs * 4);
	} else if (cmd == NESTCKPT_IOC_THAW && pick(3)) {
		((struct nestckpt_thaw *)arg)->pid = any_pid(vmm);
	} else if (cmd == NESTCKPT_IOC_STATUS && pick(3)) {
		struct nestckpt_status *s = (void *)arg;

		s->pid = any_pid(vmm);
		s->vcpu_capacity = pick(2) ? pick(8) : (uint32_t)rnd();
		s->vcpu_entry_size = pick(2) ? sizeof(struct nestckpt_vcpu_status) : pick(5000);
		s->vcpus = any_address((size_t)s->vcpu_capacity * 48);
	} else if (cmd == NESTCKPT_IOC_VM_STATE && pick(4)) {
		struct nestckpt_vm_state *v = (void *)arg;

		/* Every component mix, the BTF-read ones included; now and then junk. */
		v->flags = pick(8) ? pick(NESTCKPT_VMS_ALL + 1) : (uint32_t)rnd();
		v->pid = any_pid(vmm);
		v->vm = pick(8) ? 0 : pick(3);
		v->buf_len = pick(2) ? pick(1 << 16) : (uint32_t)rnd();
		v->buf = any_address(v->buf_len);
		v->reserved = pick(8) ? 0 : (uint32_t)rnd();
	} else if (cmd == NESTCKPT_IOC_KVM_OP && pick(4)) {
		struct nestckpt_kvm_op *op = (void *)arg;
		bool set = !pick(5);

		op->flags = pick(8) ? 0 : (pick(2) ? NESTCKPT_OP_BY_FD : (uint32_t)rnd());
		op->fd = pick(2) ? (int32_t)pick(12) : -1;
		op->pid = any_pid(vmm);
		op->vm = pick(8) ? 0 : pick(3);
		op->vcpu_id = (int32_t)pick(6) - 1;
		op->kvm_ioctl = set ? kvm_sets[pick(sizeof(kvm_sets) / 4)]
				    : kvm_gets[pick(sizeof(kvm_gets) / 4)];
		op->len = pick(2) ? pick(20000) : (uint32_t)rnd();
		op->buf = any_address(op->len);
		if (set) {
			/* A write that KVM would take must be refused before it. */
			op->len = pick(2) ? 1 : 0;
			op->buf = (uintptr_t)buf;
		} else if (op->buf == (uintptr_t)buf && pick(2)) {
			uint32_t n = pick(3) ? pick(64) : (uint32_t)rnd();

			memcpy(buf, &n, 4);			/* nmsrs / nent */
			memcpy(buf + 4, &n, 4);			/* nested .size */
		}
	}
	return cmd;
}

int main(int argc, char **argv)
{
	unsigned long calls, i, via_uring = 0, accepted = 0;
	struct io_uring ring;
	uint8_t arg[256];
	pid_t vmm;
	int dev;

	if (argc < 3) {
		printf("1..0 # SKIP needs VMM_PID CALLS [SEED] (guest test 40-fuzz)\n");
		return 0;
	}
	vmm = atoi(argv[1]);
	calls = strtoul(argv[2], NULL, 10);
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	printf("# seed %#llx, %lu calls\n", (unsigned long long)rng_state, calls);

	/*
	 * The kernel writes replies wherever a random address points: keep
	 * that inside buf and a large inaccessible guard after it, never in
	 * this program's own memory (such as the io_uring rings).
	 */
	buf = mmap(NULL, (64 << 10) + (1 << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf != MAP_FAILED && mprotect(buf, 64 << 10, PROT_READ | PROT_WRITE))
		buf = MAP_FAILED;
	/* Inside the guard: an unmapped hole could be reused by a later mmap. */
	unmapped = buf + (64 << 10) + (512 << 10);
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	if (!ok(dev >= 0 && buf != MAP_FAILED, "device and buffers"))
		return 1;
	if (!ok(!io_uring_queue_init(8, &ring, 0), "io_uring set up"))
		return 1;

	for (i = 0; i < calls; i++) {
		uint64_t argp;
		unsigned int cmd = make_request(vmm, arg, &argp);
		long r;

		fill_random(buf, 512);
		if (i % 4 == 3) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct io_uring_cqe *cqe;

			if (!sqe) {
				printf("# call %lu: no free SQE (khead %u ktail %u sqe_head %u sqe_tail %u entries %u)\n",
				       i, *ring.sq.khead, *ring.sq.ktail, ring.sq.sqe_head,
				       ring.sq.sqe_tail, ring.sq.ring_entries);
				break;
			}
			memset(sqe, 0, sizeof(*sqe));
			sqe->opcode = IORING_OP_URING_CMD;
			sqe->fd = dev;
			sqe->cmd_op = cmd;
			memcpy(sqe->cmd, &argp, 8);
			r = io_uring_submit(&ring);
			if (r != 1) {
				printf("# call %lu: io_uring_submit: %ld\n", i, r);
				break;
			}
			r = io_uring_wait_cqe(&ring, &cqe);
			if (r) {
				printf("# call %lu: io_uring_wait_cqe: %ld\n", i, r);
				break;
			}
			r = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			via_uring++;
		} else {
			r = ioctl(dev, cmd, (unsigned long)argp) ? -errno : 0;
		}
		if (r >= 0)
			accepted++;
	}
	printf("# %lu calls (%lu through io_uring), %lu accepted\n", i, via_uring, accepted);
	ok(i == calls, "every call returned");
	ok(accepted > 0 && accepted < calls, "some calls accepted, most refused");

	/* Leave the VMM running. */
	{
		struct nestckpt_thaw t = { .size = sizeof(t), .pid = vmm };
		int tr = ioctl(dev, NESTCKPT_IOC_THAW, &t) ? errno : 0;

		ok(tr == 0 || tr == ENOENT, "final thaw: thawed or not frozen");
	}
	io_uring_queue_exit(&ring);
	close(dev);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

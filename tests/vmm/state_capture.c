// SPDX-License-Identifier: GPL-2.0
/*
 * In-process capture of the whole KVM state of this VMM (--capture DIR).
 *
 * SIGHUP to the process: the main thread kicks every vCPU out of KVM_RUN
 * (immediate_exit + SIGUSR2); each vCPU thread, at its next EINTR return
 * from KVM_RUN, reads its own state with the vCPU ioctls (they must run in the
 * VMM's mm, and per-vCPU ioctls are cheapest from the owning thread) into
 * DIR/vcpuN/ITEM.bin, one raw uapi struct per file, exactly as KVM returned
 * it. The main thread then writes the VM-wide items into DIR/vm/ and, last,
 * DIR/done. vCPU threads then hold outside KVM_RUN until the next SIGHUP,
 * asleep the way a paused VMM's threads are (see hold_sleep()); held time
 * is not running time (nestvmm.c).
 *
 * The files serve as test fixtures for the image library and as the
 * reference the module's out-of-process reads are compared with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "nestvmm.h"
#include "state_capture.h"

#define CAPTURE_WAIT_SEC	600	/* Bochs is slow; a dead vCPU never answers */
#define VMX_CAP_MSR_FIRST	0x480	/* IA32_VMX_BASIC */
#define VMX_CAP_MSR_LAST	0x491	/* IA32_VMX_VMFUNC */
#define SVM_FEATURE_LEAF	0x8000000a

static struct {
	const char *dir;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int gen;		/* one per capture request */
	int holding;
	int captured;			/* vCPUs done with this gen */
	int errors;
	int hold_eintr;			/* sleeps that wrongly returned EINTR */
	unsigned int seen_gen[MAX_VCPUS];
} cap = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

void capture_init(const char *dir)
{
	cap.dir = dir;
}

int capture_holding(void)
{
	return cap.holding;
}

int capture_check(FILE *f)
{
	int n = __atomic_load_n(&cap.hold_eintr, __ATOMIC_RELAXED);

	if (!n)
		return 0;
	fprintf(f, "nestvmm: FAIL: %d held sleep(s) returned EINTR (no signal was sent)\n", n);
	return 1;
}

static int write_item(const char *sub, const char *name, const void *buf,
		      size_t len)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cap.dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s.bin", cap.dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	n = write(fd, buf, len);
	if (close(fd) || n != (ssize_t)len)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "nestvmm: capture: write %s: %s\n", path, strerror(errno));
	return 1;
}

/* One ioctl into a fixed-size struct, written as SUB/NAME.bin. */
static int get_item(int fd, unsigned long req, const char *sub,
		    const char *name, void *buf, size_t len)
{
	memset(buf, 0, len);
	if (ioctl(fd, req, buf) < 0) {
		fprintf(stderr, "nestvmm: capture %s/%s: %s\n", sub, name,
			strerror(errno));
		return 1;
	}
	return write_item(sub, name, buf, len);
}

/* A kvm_msr_list from KVM_GET_MSR_INDEX_LIST-style @req on /dev/kvm. */
static struct kvm_msr_list *msr_list(unsigned long req)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;

	if (ioctl(vmm.vm.kvm_fd, req, &probe) < 0 && errno != E2BIG)
		return NULL;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	list->nmsrs = probe.nmsrs;
	if (ioctl(vmm.vm.kvm_fd, req, list) < 0) {
		free(list);
		return NULL;
	}
	return list;
}

/*
 * KVM_GET_MSRS stops at the first MSR it cannot read; read past such MSRs
 * so the file holds every readable index KVM listed, in list order.
 */
static struct kvm_msrs *read_msrs(int fd, const uint32_t *idx, uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	uint32_t done = 0, out = 0;

	while (done < n) {
		struct kvm_msrs *part = calloc(1, sizeof(*part) +
					       (n - done) * sizeof(part->entries[0]));
		uint32_t i;
		int got;

		part->nmsrs = n - done;
		for (i = 0; i < n - done; i++)
			part->entries[i].index = idx[done + i];
		got = ioctl(fd, KVM_GET_MSRS, part);
		if (got < 0)
			got = 0;
		for (i = 0; i < (uint32_t)got; i++)
			m->entries[out++] = part->entries[i];
		free(part);
		done += got + 1;	/* skip the one that failed */
	}
	m->nmsrs = out;
	return m;
}

static int capture_msrs(struct vcpu_ctx *c, const char *sub)
{
	struct kvm_msr_list *list = msr_list(KVM_GET_MSR_INDEX_LIST);
	struct kvm_msrs *m;
	int err;

	if (!list) {
		fprintf(stderr, "nestvmm: capture %s/msrs: index list: %s\n",
			sub, strerror(errno));
		return 1;
	}
	m = read_msrs(c->fd, list->indices, list->nmsrs);
	err = write_item(sub, "msrs", m, sizeof(*m) + m->nmsrs * sizeof(m->entries[0]));
	free(m);
	free(list);
	return err;
}

static int capture_cpuid(struct vcpu_ctx *c, const char *sub)
{
	uint32_t n = 64;

	for (;;) {
		struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) +
					       n * sizeof(cp->entries[0]));
		int err;

		cp->nent = n;
		if (!ioctl(c->fd, KVM_GET_CPUID2, cp)) {
			err = write_item(sub, "cpuid", cp, sizeof(*cp) +
					 cp->nent * sizeof(cp->entries[0]));
			free(cp);
			return err;
		}
		free(cp);
		if (errno != E2BIG || n > 4096) {
			fprintf(stderr, "nestvmm: capture %s/cpuid: %s\n", sub,
				strerror(errno));
			return 1;
		}
		n *= 2;
	}
}

/* xsave: 4 KiB, or KVM_CAP_XSAVE2's size when the guest's xstate is larger. */
static int capture_xsave(struct vcpu_ctx *c, const char *sub)
{
	int size = ioctl(vmm.vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	unsigned long req = KVM_GET_XSAVE2;
	void *buf;
	int err;

	if (size <= (int)sizeof(struct kvm_xsave)) {
		size = sizeof(struct kvm_xsave);
		req = KVM_GET_XSAVE;
	}
	buf = malloc(size);
	err = get_item(c->fd, req, sub, "xsave", buf, size);
	free(buf);
	return err;
}

static int capture_nested(struct vcpu_ctx *c, const char *sub)
{
	int max = ioctl(vmm.vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	struct kvm_nested_state *ns;
	int err;

	if (max <= 0)
		return 0;	/* no nested state on this kernel: no file */
	ns = calloc(1, max);
	ns->size = max;
	if (ioctl(c->fd, KVM_GET_NESTED_STATE, ns) < 0) {
		fprintf(stderr, "nestvmm: capture %s/nested: %s\n", sub,
			strerror(errno));
		free(ns);
		return 1;
	}
	/* KVM sets size to what it filled in. */
	err = write_item(sub, "nested", ns, ns->size);
	free(ns);
	return err;
}

static int capture_vcpu(struct vcpu_ctx *c)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_xcrs xcrs;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events events;
		struct kvm_debugregs debugregs;
		struct kvm_mp_state mp_state;
	} u;
	char sub[16];
	uint32_t khz;
	int err = 0, r;

	snprintf(sub, sizeof(sub), "vcpu%d", c->id);
	err += get_item(c->fd, KVM_GET_REGS, sub, "regs", &u, sizeof(u.regs));
	err += get_item(c->fd, KVM_GET_SREGS, sub, "sregs", &u, sizeof(u.sregs));
	err += capture_xsave(c, sub);
	err += get_item(c->fd, KVM_GET_XCRS, sub, "xcrs", &u, sizeof(u.xcrs));
	err += capture_msrs(c, sub);
	if (vmm.vm.irqchip)
		err += get_item(c->fd, KVM_GET_LAPIC, sub, "lapic", &u,
				sizeof(u.lapic));
	err += get_item(c->fd, KVM_GET_VCPU_EVENTS, sub, "events", &u,
			sizeof(u.events));
	err += get_item(c->fd, KVM_GET_DEBUGREGS, sub, "debugregs", &u,
			sizeof(u.debugregs));
	err += get_item(c->fd, KVM_GET_MP_STATE, sub, "mp_state", &u,
			sizeof(u.mp_state));
	err += capture_cpuid(c, sub);
	r = ioctl(c->fd, KVM_GET_TSC_KHZ, 0);
	if (r > 0) {
		khz = r;
		err += write_item(sub, "tsc_khz", &khz, sizeof(khz));
	} else {
		fprintf(stderr, "nestvmm: capture %s/tsc_khz: %s\n", sub,
			strerror(errno));
		err++;
	}
	err += capture_nested(c, sub);
	return err;
}

/* The nested capabilities KVM offers L1s on this host. */
static int capture_host_caps(void)
{
	if (vmm.vm.vendor == VENDOR_VMX) {
		struct kvm_msr_list *list = msr_list(KVM_GET_MSR_FEATURE_INDEX_LIST);
		uint32_t idx[VMX_CAP_MSR_LAST - VMX_CAP_MSR_FIRST + 1], n = 0, i;
		struct kvm_msrs *m;
		int err;

		if (!list) {
			fprintf(stderr, "nestvmm: capture vm/vmx_cap_msrs: %s\n",
				strerror(errno));
			return 1;
		}
		for (i = 0; i < list->nmsrs; i++)
			if (list->indices[i] >= VMX_CAP_MSR_FIRST &&
			    list->indices[i] <= VMX_CAP_MSR_LAST)
				idx[n++] = list->indices[i];
		m = read_msrs(vmm.vm.kvm_fd, idx, n);
		err = write_item("vm", "vmx_cap_msrs", m,
				 sizeof(*m) + m->nmsrs * sizeof(m->entries[0]));
		free(m);
		free(list);
		return err;
	}
	if (vmm.vm.vendor == VENDOR_SVM) {
		uint32_t i;

		for (i = 0; i < vmm.vm.cpuid->nent; i++)
			if (vmm.vm.cpuid->entries[i].function == SVM_FEATURE_LEAF)
				return write_item("vm", "svm_cpuid",
						  &vmm.vm.cpuid->entries[i],
						  sizeof(vmm.vm.cpuid->entries[i]));
		fprintf(stderr, "nestvmm: capture: no CPUID 0x8000000a\n");
		return 1;
	}
	return 0;
}

static int capture_vm(void)
{
	union {
		struct kvm_clock_data clock;
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
	} u;
	static const char *const chips[] = { "pic_master", "pic_slave", "ioapic" };
	int err = 0, i;

	struct kvm_userspace_memory_region slot = {
		.slot = 0,
		.memory_size = vmm.vm.mem_size,
		.userspace_addr = (uintptr_t)vmm.vm.mem,
	};

	/* What KVM_SET_USER_MEMORY_REGION was given (vm.c): where guest memory is. */
	err += write_item("vm", "memslots", &slot, sizeof(slot));
	err += get_item(vmm.vm.fd, KVM_GET_CLOCK, "vm", "clock", &u, sizeof(u.clock));
	if (vmm.vm.irqchip) {
		for (i = 0; i < 3; i++) {
			memset(&u, 0, sizeof(u));
			u.chip.chip_id = i;
			if (ioctl(vmm.vm.fd, KVM_GET_IRQCHIP, &u.chip) < 0) {
				fprintf(stderr, "nestvmm: capture vm/%s: %s\n",
					chips[i], strerror(errno));
				err++;
				continue;
			}
			err += write_item("vm", chips[i], &u.chip, sizeof(u.chip));
		}
		err += get_item(vmm.vm.fd, KVM_GET_PIT2, "vm", "pit2", &u,
				sizeof(u.pit));
	}
	return err + capture_host_caps();
}

/*
 * One sleep of a held vCPU thread (cap.lock held on entry and return), in
 * one of three waits that a signal interrupts with each of the kernel's
 * restart codes: a condition variable (futex: -ERESTARTSYS), nanosleep
 * (-ERESTART_RESTARTBLOCK) and ppoll (-ERESTARTNOHAND).  This is how a
 * paused VMM's vCPU threads wait; nestckpt must freeze a thread in any of
 * them and give the call back untouched.  No signal is sent to a held
 * thread, so an EINTR here is a failure.
 */
static void hold_sleep(struct vcpu_ctx *c)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int rc;

	if (c->id % 3 == 0) {
		pthread_cond_wait(&cap.cond, &cap.lock);
		return;
	}
	pthread_mutex_unlock(&cap.lock);
	if (c->id % 3 == 1)
		rc = syscall(SYS_nanosleep, &ts, NULL);
	else
		rc = ppoll(NULL, 0, &ts, NULL);
	if (rc < 0 && errno == EINTR && !vmm.stop)
		__atomic_add_fetch(&cap.hold_eintr, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&cap.lock);
}

void capture_vcpu_point(struct vcpu_ctx *c, int run_rc)
{
	int saved_errno = errno;	/* the caller still looks at KVM_RUN's */
	bool held = false;

	/*
	 * Only at an interrupted KVM_RUN: after an I/O exit the VMM still owes
	 * KVM the completion, which the next KVM_RUN delivers (immediate_exit
	 * then makes it return EINTR right after), so the state read here is
	 * the one an outside observer that lets KVM finish I/O first sees.
	 */
	if (!cap.dir || run_rc >= 0 || saved_errno != EINTR)
		return;
	pthread_mutex_lock(&cap.lock);
	if (cap.holding && cap.seen_gen[c->id] != cap.gen) {
		int err;

		pthread_mutex_unlock(&cap.lock);
		err = capture_vcpu(c);
		pthread_mutex_lock(&cap.lock);
		cap.seen_gen[c->id] = cap.gen;
		cap.captured++;
		cap.errors += err;
		pthread_cond_broadcast(&cap.cond);
	}
	while (cap.holding && !vmm.stop) {
		held = true;
		hold_sleep(c);
	}
	if (held && !vmm.stop)
		c->run->immediate_exit = 0;
	pthread_mutex_unlock(&cap.lock);
	errno = saved_errno;
}

static void release(struct vmm *m)
{
	int i;

	pthread_mutex_lock(&cap.lock);
	cap.holding = 0;
	for (i = 0; i < m->nr_vcpus && !m->stop; i++)
		m->vcpus[i].run->immediate_exit = 0;
	pthread_cond_broadcast(&cap.cond);
	pthread_mutex_unlock(&cap.lock);
}

void capture_release_all(struct vmm *m)
{
	if (cap.dir)
		release(m);
}

static void write_done(int want, int errors)
{
	char path[4096], text[64];
	int n = snprintf(text, sizeof(text), "vcpus %d errors %d\n", want, errors);
	int fd;

	snprintf(path, sizeof(path), "%s/done", cap.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, n) != n || close(fd))
		fprintf(stderr, "nestvmm: capture: write %s: %s\n", path,
			strerror(errno));
}

void capture_on_sighup(struct vmm *m)
{
	struct timespec deadline;
	char path[4096];
	int i, want = 0, err;

	if (!cap.dir)
		return;
	if (cap.holding) {
		release(m);
		fprintf(stderr, "nestvmm: capture: vCPUs released, %d held sleep(s) returned EINTR\n",
			__atomic_load_n(&cap.hold_eintr, __ATOMIC_RELAXED));
		return;
	}
	snprintf(path, sizeof(path), "%s/done", cap.dir);
	unlink(path);
	mkdir(cap.dir, 0755);

	pthread_mutex_lock(&cap.lock);
	cap.gen++;
	cap.holding = 1;
	cap.captured = 0;
	cap.errors = 0;
	for (i = 0; i < m->nr_vcpus; i++) {
		if (m->vcpus[i].state == VCPU_FAILED ||
		    m->vcpus[i].state == VCPU_STOPPED)
			continue;
		want++;
		m->vcpus[i].run->immediate_exit = 1;
		pthread_kill(m->vcpus[i].thread, SIGUSR2);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CAPTURE_WAIT_SEC;
	while (cap.captured < want &&
	       pthread_cond_timedwait(&cap.cond, &cap.lock, &deadline) != ETIMEDOUT)
		;
	if (cap.captured < want) {
		fprintf(stderr, "nestvmm: capture: only %d of %d vCPUs answered\n",
			cap.captured, want);
		cap.errors++;
	}
	err = cap.errors;
	pthread_mutex_unlock(&cap.lock);

	err += capture_vm();
	write_done(want, err);
	fprintf(stderr, "nestvmm: capture: %d vCPU(s) captured into %s, %d error(s); "
		"holding until SIGHUP\n", want, cap.dir, err);
}

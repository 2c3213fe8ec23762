// SPDX-License-Identifier: GPL-2.0
/*
 * test_kvm_op_race VMM_PID [SECONDS]: run as root inside the test bed by
 * 40-fuzz against a frozen nestvmm with a vCPU in L2.  NESTCKPT_IOC_KVM_OP
 * calls race a second thread of this process that keeps changing the
 * count in the very argument buffer the module reads (kvm_nested_state.size,
 * kvm_msrs.nmsrs, kvm_cpuid2.nent): the module must read the count once
 * and answer as if the buffer had held the value it read, or fail cleanly.
 *
 * Per call: the errno is one the module documents for a bad argument; a
 * reply is as long as the count read says (op.len), no longer than what
 * was offered, and holds what a clean read gives (nested record bytes, MSR
 * values), never more MSRs than fit in op.len; nothing is written beyond
 * op.len (canary).  Cases: GET_NESTED_STATE and GET_MSRS on the vCPU that
 * was in L2 (answered from the module's record) and on one that was not
 * (KVM's own path), SET_MSRS and SET_NESTED_STATE with the values a clean
 * read gave (so the VMM's state does not change), GET_CPUID2.  After the
 * race the SET targets still read back as before.  The guest test checks
 * dmesg and the VMM's own verdict after thaw.
 *
 * Without arguments (the host's unit-test run) it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "tap.h"
#include "nestckpt.h"

#define BUF_LEN		16384		/* offered to the module */
#define CANARY_LEN	4096		/* after it, must stay untouched */
#define NR_MSRS		64

static int dev;
static pid_t pid;
static double secs = 3;

/* Indices every x86 KVM vCPU reads and writes back unchanged. */
static const uint32_t msr_pool[] = {
	0x174, 0x175, 0x176,			/* SYSENTER_CS/ESP/EIP */
	0x277,					/* PAT */
	0xc0000081, 0xc0000082, 0xc0000083,	/* STAR, LSTAR, CSTAR */
	0xc0000084,				/* SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102,	/* FS/GS/KERNEL_GS base */
};

/* The racer: writes values[i % n] to *target until stopped. */
struct racer {
	pthread_t thread;
	volatile uint32_t *target;
	uint32_t values[4];
	unsigned int n;
	atomic_int stop;
	unsigned long flips;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	unsigned int i = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		*r->target = r->values[i++ % r->n];
		r->flips++;
	}
	return NULL;
}

static void race_start(struct racer *r, void *target, unsigned int n, const uint32_t *values)
{
	r->target = target;
	r->n = n;
	memcpy(r->values, values, n * sizeof(values[0]));
	atomic_store(&r->stop, 0);
	r->flips = 0;
	pthread_create(&r->thread, NULL, race, r);
}

static void race_stop(struct racer *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->thread, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One op; 0 or -errno, the op struct as the kernel left it in *@out. */
static int kvm_op(int vcpu, unsigned int req, void *buf, uint32_t len,
		  struct nestckpt_kvm_op *out)
{
	struct nestckpt_kvm_op op = {
		.size = sizeof(op), .pid = pid, .vm = 0, .vcpu_id = vcpu,
		.kvm_ioctl = req, .len = len, .buf = (uintptr_t)buf,
	};
	int r = ioctl(dev, NESTCKPT_IOC_KVM_OP, &op) ? -errno : 0;

	if (out)
		*out = op;
	return r;
}

/* A buffer of BUF_LEN bytes followed by a canary. */
static uint8_t *new_buf(void)
{
	uint8_t *b = calloc(1, BUF_LEN + CANARY_LEN);

	memset(b + BUF_LEN, 0xa5, CANARY_LEN);
	return b;
}

static int canary_ok(const uint8_t *b)
{
	for (size_t i = 0; i < CANARY_LEN; i++)
		if (b[BUF_LEN + i] != 0xa5)
			return 0;
	return 1;
}

static int errno_ok(int r, const int *allowed, int n)
{
	for (int i = 0; i < n; i++)
		if (r == -allowed[i])
			return 1;
	return 0;
}

/* The vCPUs to use: one that left L2 at the freeze, one that did not. */
static int find_vcpus(int *l2, int *other)
{
	struct nestckpt_vcpu_status v[64];
	struct nestckpt_status st = {
		.size = sizeof(st), .pid = pid, .vcpu_capacity = 64,
		.vcpu_entry_size = sizeof(v[0]), .vcpus = (uintptr_t)v,
	};
	unsigned int i;

	*l2 = *other = -1;
	if (ioctl(dev, NESTCKPT_IOC_STATUS, &st) || st.state != NESTCKPT_STATE_FROZEN)
		return -1;
	for (i = 0; i < st.nr_vcpus && i < 64; i++) {
		if ((v[i].flags & NESTCKPT_VCPU_IN_L2) && *l2 < 0)
			*l2 = (int)v[i].vcpu_id;
		/* Prefer a vCPU without nesting for the SETs: nothing to lose. */
		if (!(v[i].flags & NESTCKPT_VCPU_IN_L2) &&
		    (*other < 0 || !(v[i].flags & NESTCKPT_VCPU_NESTED_ON)))
			*other = (int)v[i].vcpu_id;
	}
	return 0;
}

/* GET_NESTED_STATE while .size flips between too small and plenty. */
static void race_get_nested(int vcpu, const char *which)
{
	uint8_t *b = new_buf(), *clean = new_buf();
	struct kvm_nested_state *ns = (void *)b;
	static const int allowed[] = { E2BIG, EINVAL };
	const uint32_t sizes[] = { sizeof(*ns), BUF_LEN, 64, BUF_LEN };
	struct nestckpt_kvm_op op;
	unsigned long calls = 0, good = 0, bad = 0, short_ok = 0;
	uint32_t need;
	struct racer r;
	char what[160];
	double end;

	((struct kvm_nested_state *)clean)->size = BUF_LEN;
	snprintf(what, sizeof(what), "%s vCPU %d: clean GET_NESTED_STATE", which, vcpu);
	if (!ok(!kvm_op(vcpu, KVM_GET_NESTED_STATE, clean, BUF_LEN, NULL), what))
		return;
	need = ((struct kvm_nested_state *)clean)->size;
	printf("# %s vCPU %d: nested state %u bytes, flags %#x\n", which, vcpu, need,
	       ((struct kvm_nested_state *)clean)->flags);

	ns->size = BUF_LEN;
	race_start(&r, &ns->size, 4, sizes);
	for (end = now() + secs; now() < end; calls++) {
		int rc = kvm_op(vcpu, KVM_GET_NESTED_STATE, b, BUF_LEN, &op);

		if (rc == 0) {
			/*
			 * The size read was one the racer wrote, or the one the
			 * previous reply left there (the record's own): large
			 * enough for the whole record, which came back.
			 */
			int readable = op.len == need;

			for (int i = 0; i < 4; i++)
				readable |= op.len == sizes[i];
			if (!readable || op.len < need || op.len > BUF_LEN || op.result != 0 ||
			    memcmp(b, clean, 4) || memcmp(b + 8, clean + 8, need - 8)) {
				if (bad++ < 5)
					printf("#   call %lu: success with len %u result %lld, record %s\n",
					       calls, op.len, (long long)op.result,
					       memcmp(b + 8, clean + 8, need - 8) ? "differs" : "same");
			} else {
				good++;
			}
		} else if (!errno_ok(rc, allowed, 2)) {
			if (bad++ < 5)
				printf("#   call %lu: %s\n", calls, strerror(-rc));
		} else {
			short_ok++;
		}
		if (!canary_ok(b)) {
			bad++;
			printf("#   call %lu: written beyond the %u bytes offered\n", calls, BUF_LEN);
			memset(b + BUF_LEN, 0xa5, CANARY_LEN);
		}
	}
	race_stop(&r);
	printf("# %s vCPU %d: %lu calls, %lu full replies, %lu refused, %lu flips\n",
	       which, vcpu, calls, good, short_ok, r.flips);
	snprintf(what, sizeof(what), "%s vCPU %d: GET_NESTED_STATE under a racing .size: whole record or E2BIG/EINVAL",
		 which, vcpu);
	ok(!bad && good, what);
	free(b);
	free(clean);
}

static void fill_msrs(struct kvm_msrs *m, uint32_t n)
{
	m->nmsrs = n;
	for (uint32_t i = 0; i < n; i++)
		m->entries[i].index = msr_pool[i % (sizeof(msr_pool) / sizeof(msr_pool[0]))];
}

/* GET_MSRS (or SET_MSRS of @clean's values) while .nmsrs flips. */
static void race_msrs(int vcpu, const char *which, unsigned int req)
{
	uint8_t *b = new_buf();
	struct kvm_msrs *m = (void *)b, *clean = calloc(1, BUF_LEN);
	static const int allowed[] = { E2BIG, EINVAL };
	const uint32_t counts[] = { 1, NR_MSRS, 0x10000, 7 };
	const uint32_t len = sizeof(*m) + NR_MSRS * sizeof(m->entries[0]);
	unsigned long calls = 0, good = 0, refused = 0, bad = 0;
	struct nestckpt_kvm_op op;
	struct racer r;
	char what[160];
	double end;
	int rc;

	fill_msrs(clean, NR_MSRS);
	rc = kvm_op(vcpu, KVM_GET_MSRS, clean, len, &op);
	snprintf(what, sizeof(what), "%s vCPU %d: clean GET_MSRS of %d", which, vcpu, NR_MSRS);
	if (!ok(rc == 0 && op.result == NR_MSRS, what)) {
		printf("#   %s, result %lld\n", rc ? strerror(-rc) : "ok", (long long)op.result);
		return;
	}
	memcpy(m, clean, len);
	race_start(&r, &m->nmsrs, 4, counts);
	for (end = now() + secs; now() < end; calls++) {
		uint32_t fit;

		if (req == KVM_SET_MSRS)
			memcpy(m->entries, clean->entries, NR_MSRS * sizeof(m->entries[0]));
		rc = kvm_op(vcpu, req, m, len, &op);
		if (rc) {
			if (errno_ok(rc, allowed, 2)) {
				refused++;
			} else if (bad++ < 5) {
				printf("#   call %lu: %s\n", calls, strerror(-rc));
			}
			continue;
		}
		/* The count read decides op.len; the result fits in it. */
		fit = (op.len - sizeof(*m)) / sizeof(m->entries[0]);
		if (op.len < sizeof(*m) || op.len > len || op.result < 0 ||
		    (uint64_t)op.result > fit) {
			if (bad++ < 5)
				printf("#   call %lu: result %lld with len %u (%u entries)\n",
				       calls, (long long)op.result, op.len, fit);
			continue;
		}
		for (uint32_t i = 0; i < (uint32_t)op.result; i++)
			if (m->entries[i].index != clean->entries[i].index ||
			    m->entries[i].data != clean->entries[i].data) {
				if (bad++ < 5)
					printf("#   call %lu: MSR %#x = %#llx, clean read %#llx\n",
					       calls, m->entries[i].index,
					       (unsigned long long)m->entries[i].data,
					       (unsigned long long)clean->entries[i].data);
				break;
			}
		good++;
		if (!canary_ok(b)) {
			bad++;
			printf("#   call %lu: written beyond the buffer\n", calls);
			memset(b + BUF_LEN, 0xa5, CANARY_LEN);
		}
	}
	race_stop(&r);
	printf("# %s vCPU %d: %s: %lu calls, %lu answered, %lu refused, %lu flips\n", which, vcpu,
	       req == KVM_SET_MSRS ? "SET_MSRS" : "GET_MSRS", calls, good, refused, r.flips);
	snprintf(what, sizeof(what), "%s vCPU %d: %s under a racing .nmsrs: never more than the count read, values intact",
		 which, vcpu, req == KVM_SET_MSRS ? "SET_MSRS" : "GET_MSRS");
	ok(!bad && good, what);

	/* Still the values of the clean read. */
	fill_msrs(m, NR_MSRS);
	rc = kvm_op(vcpu, KVM_GET_MSRS, m, len, &op);
	snprintf(what, sizeof(what), "%s vCPU %d: MSRs after the race as before", which, vcpu);
	ok(rc == 0 && op.result == NR_MSRS && !memcmp(m->entries, clean->entries,
						       NR_MSRS * sizeof(m->entries[0])), what);
	free(b);
	free(clean);
}

/* SET_NESTED_STATE of the clean record while .size flips. */
static void race_set_nested(int vcpu)
{
	uint8_t *b = new_buf(), *clean = new_buf(), *after = new_buf();
	struct kvm_nested_state *ns = (void *)b;
	static const int allowed[] = { EINVAL, E2BIG };
	uint32_t need, sizes[4];
	unsigned long calls = 0, good = 0, refused = 0, bad = 0;
	struct racer r;
	double end;
	int rc;

	((struct kvm_nested_state *)clean)->size = BUF_LEN;
	if (!ok(!kvm_op(vcpu, KVM_GET_NESTED_STATE, clean, BUF_LEN, NULL),
		"SET target: clean GET_NESTED_STATE"))
		return;
	need = ((struct kvm_nested_state *)clean)->size;
	/* The record's own size, below a header, and the whole (zero-tailed) buffer. */
	sizes[0] = need;
	sizes[1] = 64;
	sizes[2] = need;
	sizes[3] = 0xfffffff0u;
	memcpy(b, clean, BUF_LEN);
	race_start(&r, &ns->size, 4, sizes);
	for (end = now() + secs; now() < end; calls++) {
		rc = kvm_op(vcpu, KVM_SET_NESTED_STATE, b, BUF_LEN, NULL);
		if (!rc)
			good++;
		else if (errno_ok(rc, allowed, 2))
			refused++;
		else if (bad++ < 5)
			printf("#   call %lu: %s\n", calls, strerror(-rc));
		if (!canary_ok(b)) {
			bad++;
			memset(b + BUF_LEN, 0xa5, CANARY_LEN);
		}
	}
	race_stop(&r);
	printf("# SET target vCPU %d: SET_NESTED_STATE of %u bytes: %lu calls, %lu set, %lu refused, %lu flips\n",
	       vcpu, need, calls, good, refused, r.flips);
	ok(!bad && good, "SET_NESTED_STATE under a racing .size: set or EINVAL/E2BIG");

	((struct kvm_nested_state *)after)->size = BUF_LEN;
	rc = kvm_op(vcpu, KVM_GET_NESTED_STATE, after, BUF_LEN, NULL);
	ok(!rc && !memcmp(after, clean, need), "SET target: nested state after the race as before");
	free(b);
	free(clean);
	free(after);
}

/* GET_CPUID2 while .nent flips. */
static void race_cpuid(int vcpu)
{
	uint8_t *b = new_buf();
	struct kvm_cpuid2 *c = (void *)b;
	static const int allowed[] = { E2BIG, EINVAL };
	const uint32_t nents[] = { 1, 256, 0x7fffffff, 100 };
	const uint32_t len = sizeof(*c) + 256 * sizeof(c->entries[0]);
	unsigned long calls = 0, good = 0, refused = 0, bad = 0;
	struct nestckpt_kvm_op op;
	struct racer r;
	double end;
	int rc;

	c->nent = 256;
	race_start(&r, &c->nent, 4, nents);
	for (end = now() + secs; now() < end; calls++) {
		rc = kvm_op(vcpu, KVM_GET_CPUID2, c, len, &op);
		if (!rc && op.len <= len && op.len >= sizeof(*c))
			good++;
		else if (rc && errno_ok(rc, allowed, 2))
			refused++;
		else if (bad++ < 5)
			printf("#   call %lu: %s, len %u\n", calls, rc ? strerror(-rc) : "ok", op.len);
		if (!canary_ok(b)) {
			bad++;
			memset(b + BUF_LEN, 0xa5, CANARY_LEN);
		}
	}
	race_stop(&r);
	printf("# vCPU %d: GET_CPUID2: %lu calls, %lu answered, %lu refused, %lu flips\n",
	       vcpu, calls, good, refused, r.flips);
	ok(!bad && good, "GET_CPUID2 under a racing .nent: answered within the buffer or E2BIG/EINVAL");
	free(b);
}

int main(int argc, char **argv)
{
	int l2, other;

	if (argc < 2) {
		printf("1..0 # SKIP needs the PID of a frozen nestvmm (guest test 40-fuzz)\n");
		return 0;
	}
	pid = atoi(argv[1]);
	if (argc > 2)
		secs = atof(argv[2]);
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	if (!ok(dev >= 0, "open " NESTCKPT_DEVICE_PATH))
		return tap_done();
	if (!ok(!find_vcpus(&l2, &other) && other >= 0, "the VMM is frozen, a vCPU not in L2 found"))
		return tap_done();
	printf("# vCPU in L2 at the freeze: %d, other: %d\n", l2, other);
	if (l2 >= 0) {
		race_get_nested(l2, "L2");
		race_msrs(l2, "L2", KVM_GET_MSRS);
	} else {
		printf("# no vCPU was in L2 at this freeze: the record's path is not raced\n");
	}
	race_get_nested(other, "other");
	race_msrs(other, "other", KVM_GET_MSRS);
	race_msrs(other, "other", KVM_SET_MSRS);
	race_set_nested(other);
	race_cpuid(other);
	return tap_done();
}

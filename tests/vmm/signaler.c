// SPDX-License-Identifier: GPL-2.0
/*
 * Signals at the vCPU threads, the way VMMs send them (QEMU kicks its vCPU
 * threads, timers fire): a thread of its own sends SIGRTMIN to every vCPU
 * thread at random intervals in [MIN, MAX] us.  A real-time signal queues,
 * so nothing coalesces and every vCPU must receive exactly as many as it
 * was sent: one lost or delivered twice (say by a checkpoint tool parking
 * the threads) shows.  Modes:
 *   handler  the signal is unblocked in the vCPU threads; a handler counts
 *            its runs;
 *   blocked  the vCPU threads block it and let it through only inside
 *            KVM_RUN (KVM_SET_SIGNAL_MASK), where it makes KVM_RUN return
 *            EINTR without running the handler; the thread then takes it
 *            with sigtimedwait (how QEMU treated its SIG_IPI).
 * Either way KVM_RUN returns EINTR and the thread must just run it again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include "nestvmm.h"
#include "signaler.h"

enum sig_mode { SIG_OFF, SIG_HANDLER, SIG_BLOCKED };

static struct {
	enum sig_mode mode;
	unsigned long min_us, max_us;
	pthread_t thread;
	volatile int stop;
	int started;
} sg;

static __thread struct vcpu_ctx *this_vcpu;

static int sig_no(void)
{
	return SIGRTMIN;
}

int signaler_parse(const char *range, const char *mode)
{
	char *end;

	if (mode && !strcmp(mode, "handler"))
		sg.mode = SIG_HANDLER;
	else if (mode && !strcmp(mode, "blocked"))
		sg.mode = SIG_BLOCKED;
	else if (mode)
		return -1;
	if (!range)
		return 0;
	if (sg.mode == SIG_OFF)
		sg.mode = SIG_HANDLER;
	sg.min_us = strtoul(range, &end, 10);
	if (*end != '-')
		return -1;
	sg.max_us = strtoul(end + 1, &end, 10);
	if (*end || !sg.min_us || sg.max_us < sg.min_us || sg.max_us > 10000000)
		return -1;
	return 0;
}

static void count_handler(int sig)
{
	(void)sig;
	/* Only vCPU threads have it unblocked; each counts its own. */
	if (this_vcpu)
		this_vcpu->sig_handled++;
}

void signaler_setup(void)
{
	struct sigaction sa;
	sigset_t set;

	if (sg.mode == SIG_OFF)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(sig_no(), &sa, NULL);
	/* Blocked in the main thread; the vCPU threads choose for themselves. */
	sigemptyset(&set);
	sigaddset(&set, sig_no());
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* KVM_SET_SIGNAL_MASK: the thread's mask without our signal. */
static void set_kvm_sigmask(struct vcpu_ctx *c, const sigset_t *thread_mask)
{
	struct {
		struct kvm_signal_mask hdr;
		uint64_t bits;
	} km;
	int s;

	km.hdr.len = sizeof(km.bits);	/* the kernel's sigset: 64 signals */
	km.bits = 0;
	for (s = 1; s <= 64; s++)
		if (s != sig_no() && sigismember(thread_mask, s) == 1)
			km.bits |= 1ull << (s - 1);
	if (ioctl(c->fd, KVM_SET_SIGNAL_MASK, &km))
		die("KVM_SET_SIGNAL_MASK: %s", strerror(errno));
}

void signaler_vcpu_init(struct vcpu_ctx *c)
{
	sigset_t set, cur;

	this_vcpu = c;
	if (sg.mode == SIG_OFF)
		return;
	sigemptyset(&set);
	sigaddset(&set, sig_no());
	pthread_sigmask(sg.mode == SIG_HANDLER ? SIG_UNBLOCK : SIG_BLOCK, &set,
			NULL);
	if (sg.mode == SIG_BLOCKED) {
		pthread_sigmask(SIG_BLOCK, NULL, &cur);
		set_kvm_sigmask(c, &cur);
	}
}

void signaler_vcpu_point(struct vcpu_ctx *c)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	if (sg.mode != SIG_BLOCKED)
		return;
	sigemptyset(&set);
	sigaddset(&set, sig_no());
	while (sigtimedwait(&set, NULL, &zero) == sig_no())
		c->sig_taken++;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *signaler_thread(void *arg)
{
	struct vmm *m = arg;
	struct timespec ts;
	uint64_t seed;
	sigset_t all;
	int i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (uint64_t)ts.tv_nsec * 2654435761u + ts.tv_sec + 1;
	while (!sg.stop) {
		unsigned long us = sg.min_us +
			xorshift(&seed) % (sg.max_us - sg.min_us + 1);
		struct timespec d = { us / 1000000, (us % 1000000) * 1000 };

		while (nanosleep(&d, &d) && errno == EINTR)
			;
		for (i = 0; i < m->nr_vcpus && !sg.stop; i++) {
			struct vcpu_ctx *c = &m->vcpus[i];
			int rc = pthread_kill(c->thread, sig_no());

			/* EAGAIN: the queue is full (a long freeze); not sent. */
			if (!rc)
				c->sig_sent++;
			else if (rc == EAGAIN)
				c->sig_full++;
			else
				die("pthread_kill: %s", strerror(rc));
		}
	}
	return NULL;
}

void signaler_start(struct vmm *m)
{
	if (sg.mode == SIG_OFF)
		return;
	if (pthread_create(&sg.thread, NULL, signaler_thread, m))
		die("pthread_create failed");
	sg.started = 1;
}

static uint64_t received(const struct vcpu_ctx *c)
{
	return c->sig_handled + c->sig_taken;
}

void signaler_stop(struct vmm *m)
{
	struct timespec tick = { 0, 10 * 1000000L };
	int i, tries, missing;

	if (!sg.started)
		return;
	sg.stop = 1;
	pthread_join(sg.thread, NULL);
	/* What is still queued arrives at the vCPU threads' next EINTR. */
	for (tries = 0; tries < 500; tries++) {
		missing = 0;
		for (i = 0; i < m->nr_vcpus; i++)
			missing |= received(&m->vcpus[i]) < m->vcpus[i].sig_sent &&
				   m->vcpus[i].state != VCPU_FAILED;
		if (!missing)
			break;
		nanosleep(&tick, NULL);
	}
}

int signaler_check(struct vmm *m, FILE *f)
{
	int i, fails = 0;

	if (!sg.started)
		return 0;
	for (i = 0; i < m->nr_vcpus; i++) {
		struct vcpu_ctx *c = &m->vcpus[i];
		const char *why = NULL;

		if (!c->sig_sent)
			why = "no signal was sent";
		else if (received(c) != c->sig_sent)
			why = received(c) < c->sig_sent ? "signals lost" :
							  "signals delivered twice";
		else if (sg.mode == SIG_BLOCKED && c->sig_handled)
			why = "the handler of a blocked signal ran";
		else if (!c->kvm_eintr)
			why = "KVM_RUN never returned EINTR";
		if (!why)
			continue;
		fprintf(f, "nestvmm: FAIL: vcpu%d: %s: sent %llu, handled %llu, "
			"taken %llu, KVM_RUN EINTR %llu\n", i, why,
			(unsigned long long)c->sig_sent,
			(unsigned long long)c->sig_handled,
			(unsigned long long)c->sig_taken,
			(unsigned long long)c->kvm_eintr);
		fails++;
	}
	return fails;
}

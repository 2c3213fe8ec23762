// SPDX-License-Identifier: GPL-2.0
/*
 * test_frozen_ptrace VMM_PID MASKS VCPU_TID...: run as root inside the test
 * bed by 35-freeze-state on a frozen VMM. It does to every thread what
 * CRIU's seize does: PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop,
 * read the blocked-signal mask and the registers, PTRACE_DETACH.
 *
 *  - The mask a tracer reads of a parked vCPU thread must be the thread's
 *    own, as recorded before the freeze (MASKS: lines "TID HEXMASK" from
 *    /proc's SigBlk; other threads' waits may change theirs), not the
 *    all-blocked mask the module holds its parked threads in: a checkpoint
 *    records what the tracer reads.
 *  - A parked vCPU thread (VCPU_TID) stops inside the module's restarted
 *    call: orig_rax is restart_syscall and rax -ERESTART_RESTARTBLOCK.
 *
 * After the detach the threads go back into the park (the caller checks
 * the freeze still holds and thaws). Without arguments it skips.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define ERESTART_RESTARTBLOCK	516	/* kernel-internal, seen by tracers */
#define MAX_THREADS		64

struct thread {
	pid_t tid;
	uint64_t mask;
	int seized;
};

static int read_masks(const char *path, struct thread *t, int max)
{
	FILE *f = fopen(path, "r");
	unsigned long long m;
	int n = 0, tid;

	if (!f)
		return -1;
	while (n < max && fscanf(f, "%d %llx", &tid, &m) == 2) {
		t[n].tid = tid;
		t[n].mask = m;
		t[n].seized = 0;
		n++;
	}
	fclose(f);
	return n;
}

static int seize_stop(pid_t tid)
{
	int st;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return -errno;
	if (waitpid(tid, &st, __WALL) != tid)
		return -errno;
	/* A group-stop or event stop: either way the thread is ours now. */
	return WIFSTOPPED(st) ? 0 : -ECHILD;
}

static int is_vcpu(pid_t tid, char **tids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (atoi(tids[i]) == tid)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct thread t[MAX_THREADS];
	char name[128];
	int n, i, vcpus_seen = 0;

	if (argc < 4) {
		printf("1..0 # SKIP needs a frozen VMM (run by 35-freeze-state)\n");
		return 0;
	}
	n = read_masks(argv[2], t, MAX_THREADS);
	ok(n > 0, "masks recorded before the freeze");

	for (i = 0; i < n; i++) {
		struct user_regs_struct regs;
		uint64_t mask = 0;
		int r = seize_stop(t[i].tid);

		snprintf(name, sizeof(name), "thread %d seized and stopped", t[i].tid);
		if (!ok(r == 0, name)) {
			printf("#   error %d\n", r);
			continue;
		}
		t[i].seized = 1;
		/* Other threads are not the module's (and their waits move masks). */
		if (!is_vcpu(t[i].tid, argv + 3, argc - 3))
			continue;
		vcpus_seen++;
		r = ptrace(PTRACE_GETSIGMASK, t[i].tid, sizeof(mask), &mask);
		snprintf(name, sizeof(name),
			 "thread %d: the tracer reads its own mask", t[i].tid);
		if (!ok(r == 0 && mask == t[i].mask, name))
			printf("#   read %#llx, before the freeze %#llx\n",
			       (unsigned long long)mask,
			       (unsigned long long)t[i].mask);
		r = ptrace(PTRACE_GETREGS, t[i].tid, 0, &regs);
		snprintf(name, sizeof(name),
			 "vCPU thread %d stopped in the park's restarted call",
			 t[i].tid);
		if (!ok(r == 0 && regs.orig_rax == SYS_restart_syscall &&
			(long long)regs.rax == -ERESTART_RESTARTBLOCK, name))
			printf("#   orig_rax %lld rax %lld\n",
			       (long long)regs.orig_rax, (long long)regs.rax);
	}
	is_int(vcpus_seen, argc - 3, "every vCPU thread was among the threads");
	for (i = 0; i < n; i++) {
		if (!t[i].seized)
			continue;
		snprintf(name, sizeof(name), "thread %d detached", t[i].tid);
		ok(ptrace(PTRACE_DETACH, t[i].tid, 0, 0) == 0, name);
	}
	return tap_done();
}

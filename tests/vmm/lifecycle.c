// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime events of a VMM process while nestckpt has it frozen: its
 * leader exits alone, one of its threads exec()s, or it holds a page KVM's
 * nested state lives in with a userfaultfd it never serves.  The signals
 * that trigger them are blocked in every thread and taken with sigwait by
 * the thread that acts, never by a vCPU thread (those are the ones frozen).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lifecycle.h"
#include "nestvmm.h"

static int leader_sig, exec_sig, uffd_sig;
static int uffd = -1;

int lifecycle_parse_sig(const char *opt, const char *arg)
{
	const char *name = strncmp(arg, "SIG", 3) ? arg : arg + 3;
	char *end;
	long n;
	int i;

	n = strtol(arg, &end, 10);
	if (!*end && n > 0 && n < SIGRTMIN)
		return (int)n;
	for (i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcmp(abbrev, name))
			return i;
	}
	die("%s: unknown signal '%s'", opt, arg);
	return 0;
}

void lifecycle_set(int leader_exit_sig, int exec_on_sig, int uffd_on_sig)
{
	leader_sig = leader_exit_sig;
	exec_sig = exec_on_sig;
	uffd_sig = uffd_on_sig;
}

/* The trigger signals that are set, the leader's only with @leader. */
static void trigger_set(sigset_t *set, int leader)
{
	int sigs[] = { leader ? leader_sig : 0, exec_sig, uffd_sig };
	unsigned int i;

	sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigs[i])
			sigaddset(set, sigs[i]);
}

void lifecycle_block(void)
{
	sigset_t set;

	trigger_set(&set, 1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Write-protect vCPU 0's vmcb12/vmcs12 page, or undo that. */
static void uffd_toggle(struct vmm *m)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	void *page = gva(&m->vm, vcpu_areas[0].vmcb);

	reg.range.start = (uintptr_t)page;
	reg.range.len = sizeof(vcpu_areas[0].vmcb);
	wp.range = reg.range;
	if (uffd >= 0) {
		wp.mode = 0;
		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
			fprintf(stderr, "nestvmm: UFFDIO_WRITEPROTECT off: %s\n",
				strerror(errno));
		close(uffd);
		uffd = -1;
		fprintf(stderr, "nestvmm: uffd: vmcb page of vCPU 0 writable again\n");
		return;
	}
	/* Kernel-mode faults too: needs CAP_SYS_PTRACE (root in the test bed). */
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		fprintf(stderr, "nestvmm: uffd: cannot write-protect %p: %s\n",
			page, strerror(errno));
		if (uffd >= 0)
			close(uffd);
		uffd = -1;
		return;
	}
	fprintf(stderr, "nestvmm: uffd: vmcb page of vCPU 0 (guest %p) write-protected, never served\n",
		(void *)vcpu_areas[0].vmcb);
}

static void *lifecycle_thread(void *arg)
{
	struct vmm *m = arg;
	sigset_t set;
	int sig;

	trigger_set(&set, 0);
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == exec_sig) {
			fprintf(stderr, "nestvmm: exec from thread %ld\n",
				(long)syscall(SYS_gettid));
			execlp("sleep", "sleep", "60", (char *)NULL);
			die("exec sleep: %s", strerror(errno));
		}
		if (sig == uffd_sig)
			uffd_toggle(m);
	}
	return NULL;
}

void lifecycle_start(struct vmm *m)
{
	pthread_t t;

	if ((exec_sig || uffd_sig) &&
	    pthread_create(&t, NULL, lifecycle_thread, m))
		die("pthread_create failed");
}

void lifecycle_run_main(void *(*body)(void *), void *arg)
{
	pthread_t t;
	sigset_t set;
	int sig;

	if (!leader_sig) {
		body(arg);
		return;
	}
	if (pthread_create(&t, NULL, body, arg))
		die("pthread_create failed");
	sigemptyset(&set);
	sigaddset(&set, leader_sig);
	while (sigwait(&set, &sig))
		;
	fprintf(stderr, "nestvmm: leader %d calls pthread_exit\n", getpid());
	pthread_exit(NULL);
}

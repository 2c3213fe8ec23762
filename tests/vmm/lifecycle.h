/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a VMM's threads do to a freeze from outside the vCPUs, each on a
 * signal the test sends (see lifecycle.c):
 *   --leader-exit-on SIG  the main thread calls pthread_exit (a zombie
 *                         leader, the VMM runs on in its other threads);
 *   --exec-on SIG         a thread that is neither the leader nor a vCPU
 *                         thread calls execve ("sleep 60");
 *   --uffd-vmcb-on SIG    write-protect vCPU 0's vmcb12/vmcs12 page with a
 *                         userfaultfd nobody serves; the next SIG undoes it.
 */
#ifndef NESTVMM_LIFECYCLE_H
#define NESTVMM_LIFECYCLE_H

struct vmm;

/* Parse a signal name (PROF, SIGPROF) or number for @opt; exits on error. */
int lifecycle_parse_sig(const char *opt, const char *arg);
void lifecycle_set(int leader_exit_sig, int exec_sig, int uffd_sig);
/* Main thread, before any other thread starts: block the trigger signals. */
void lifecycle_block(void);
/* Main thread, once the vCPUs run: start the thread that waits for exec/uffd. */
void lifecycle_start(struct vmm *m);
/*
 * Main thread: run @body (which exits the process) here, or with
 * --leader-exit-on in a new thread while this one waits for its signal and
 * calls pthread_exit.
 */
void lifecycle_run_main(void *(*body)(void *), void *arg);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * --scribble: one more thread of the VMM, not a vCPU thread (so a freeze
 * does not park it), that keeps writing random bytes over every mapping
 * nestckpt makes in this process for its KVM calls: the bounce buffer,
 * an anonymous read-write mapping of exactly NESTCKPT_OP_MAX_LEN bytes that
 * exists while an op runs (module/trust.c).  Whatever the VMM does to its
 * own memory, the kernel must stay intact and the module must answer with
 * data or an error.  The VMM's own verdict means nothing under --scribble:
 * its vCPU state may well be garbage after a thaw.
 *
 * New mappings are found in /proc/self/maps; mappings of that size that
 * existed before the thread started are left alone.  Writes go through
 * process_vm_writev() to this very process, which fails instead of
 * faulting when the buffer is already gone.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nestckpt.h"
#include "scribble.h"

#define NR_ADDRS	8
#define SPAN		(12u << 10)	/* headers and records sit at the start */

static uintptr_t seen_before[NR_ADDRS], addrs[NR_ADDRS];
static unsigned int nr_before, nr_addrs, next_slot;
static volatile unsigned long landed, tries, found;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Anonymous rw-p mappings of the bounce buffer's size, into @out. */
static unsigned int bounce_sized(uintptr_t *out, unsigned int max)
{
	static char buf[1 << 16];
	unsigned int n = 0;
	ssize_t len, got = 0;
	char *line, *nl;
	int fd = open("/proc/self/maps", O_RDONLY);

	if (fd < 0)
		return 0;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (len = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += len;
	close(fd);
	buf[got] = 0;
	for (line = buf; line && *line && n < max; line = nl ? nl + 1 : NULL) {
		unsigned long start, end, ino;
		char perms[8];
		int path = 0;

		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &start, &end, perms, &ino, &path) < 4)
			continue;
		if (end - start == NESTCKPT_OP_MAX_LEN && !ino && !strcmp(perms, "rw-p") &&
		    (!path || !line[path]))
			out[n++] = start;
	}
	return n;
}

static int known(const uintptr_t *set, unsigned int n, uintptr_t a)
{
	for (unsigned int i = 0; i < n; i++)
		if (set[i] == a)
			return 1;
	return 0;
}

static void *scribble(void *arg)
{
	uint8_t junk[SPAN];
	(void)arg;

	for (;;) {
		uintptr_t now[NR_ADDRS];
		unsigned int n = bounce_sized(now, NR_ADDRS);

		/* Remember new ones; an op's next buffer tends to land at the same place. */
		for (unsigned int i = 0; i < n; i++)
			if (!known(seen_before, nr_before, now[i]) && !known(addrs, nr_addrs, now[i])) {
				addrs[next_slot++ % NR_ADDRS] = now[i];
				if (nr_addrs < NR_ADDRS)
					nr_addrs++;
				found++;
			}
		for (unsigned int round = 0; round < 64; round++) {
			for (unsigned int i = 0; i < nr_addrs; i++) {
				size_t off = rnd() % SPAN, len = 1 + rnd() % 64;
				struct iovec local, remote;

				if (off + len > SPAN)
					len = SPAN - off;
				for (size_t b = 0; b < len; b += 8) {
					uint64_t r = rnd();

					memcpy(junk + off + b, &r, len - b < 8 ? len - b : 8);
				}
				local.iov_base = junk + off;
				local.iov_len = len;
				remote.iov_base = (void *)(addrs[i] + off);
				remote.iov_len = len;
				tries++;
				if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) > 0)
					landed++;
			}
		}
		if (!nr_addrs)
			usleep(100);
	}
	return NULL;
}

void scribble_start(void)
{
	pthread_t t;
	sigset_t all, old;

	nr_before = bounce_sized(seen_before, NR_ADDRS);
	/* The main thread takes the VMM's signals; this one takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (!pthread_create(&t, NULL, scribble, NULL))
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void scribble_report(FILE *f)
{
	fprintf(f, "nestvmm: scribble: %lu bounce mapping(s) found, %lu of %lu writes landed\n",
		found, landed, tries);
}

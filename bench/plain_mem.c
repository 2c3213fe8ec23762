// SPDX-License-Identifier: GPL-2.0
/*
 * plain_mem BYTES [THREADS [spin]]: a plain process holding BYTES of
 * touched private memory, with THREADS threads in all (default 1); the
 * extra threads sleep, or with "spin" keep a CPU busy as running vCPUs
 * do.  These are the baselines criu dumps and restores beside a VMM with
 * the same resident memory and as many threads (tests/vm/guest/bench.sh):
 * with them, what the table shows is nestckpt's cost, not criu's own
 * per-thread cost nor its wait for a CPU among busy threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *spinner(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	for (;;)
		n++;
	return NULL;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
	long threads = argc > 2 ? strtol(argv[2], NULL, 0) : 1;
	int spin = argc > 3 && !strcmp(argv[3], "spin");
	unsigned char *p;
	pthread_t t;
	size_t i;

	if (!n || threads < 1 || threads > 1024 || (argc > 3 && !spin) || argc > 4) {
		fprintf(stderr, "usage: plain_mem BYTES [THREADS (1..1024) [spin]]\n");
		return 2;
	}
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < n; i += 4096)
		p[i] = (unsigned char)(i >> 12) | 1;
	for (; threads > 1; threads--)
		if (pthread_create(&t, NULL, spin ? spinner : sleeper, NULL))
			return 1;
	for (;;)
		pause();
}

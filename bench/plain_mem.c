// SPDX-License-Identifier: GPL-2.0
/*
 * plain_mem BYTES: a plain process holding BYTES of touched private memory
 * and sleeping: the baseline criu dumps and restores beside a VMM with the
 * same resident memory (tests/vm/guest/bench.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
	unsigned char *p;
	size_t i;

	if (!n) {
		fprintf(stderr, "usage: plain_mem BYTES\n");
		return 2;
	}
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < n; i += 4096)
		p[i] = (unsigned char)(i >> 12) | 1;
	for (;;)
		pause();
}

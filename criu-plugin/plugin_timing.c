// SPDX-License-Identifier: GPL-2.0
/*
 * Where the plugin's time goes: each phase's wall time, summed over the VMMs
 * of one criu run, logged into criu's log and written as JSON beside the
 * images (nestckpt-stats-dump.json; at restore, each restored VMM writes
 * nestckpt-stats-restore-PID.json: its phases run in the restored process,
 * after criu forked it, so no single process sees them all).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "libnestckpt.h"
#include "plugin.h"

#define NC_PHASES_MAX	16

struct nc_phase {
	const char *name;	/* a string literal: compared by content */
	uint64_t ns;
	uint32_t count;
};

static struct nc_phase phases[NC_PHASES_MAX];
static unsigned int n_phases;
static uint32_t n_vcpus;

uint64_t nc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void nc_phase_add_ns(const char *name, uint64_t ns)
{
	unsigned int i;

	for (i = 0; i < n_phases && strcmp(phases[i].name, name); i++)
		;
	if (i == n_phases) {
		if (n_phases == NC_PHASES_MAX)
			return;		/* a programming error; timing is best effort */
		phases[n_phases++].name = name;
	}
	phases[i].ns += ns;
	phases[i].count++;
}

void nc_phase_end(const char *name, uint64_t start_ns)
{
	nc_phase_add_ns(name, nc_now_ns() - start_ns);
}

void nc_phase_vcpus(uint32_t n)
{
	n_vcpus += n;
}

/* "phase": {"ms": 1.234, "count": 2}, ... in @buf; its length, or -1. */
static int phases_json(char *buf, size_t size)
{
	size_t off = 0;
	unsigned int i;
	int n;

	for (i = 0; i < n_phases; i++) {
		n = snprintf(buf + off, size - off, "%s\n    \"%s\": {\"ms\": %.3f, \"count\": %" PRIu32 "}",
			     i ? "," : "", phases[i].name, phases[i].ns / 1e6, phases[i].count);
		if (n < 0 || (size_t)n >= size - off)
			return -1;
		off += n;
	}
	return (int)off;
}

void nc_phases_report(const char *stage, pid_t pid)
{
	char body[2048], doc[2304], name[64];
	unsigned int i;
	int n, rc;

	if (!n_phases)
		return;
	for (i = 0; i < n_phases; i++)
		nc_info("time: %s %s: %.3f ms in %" PRIu32 " call(s)\n", stage,
			phases[i].name, phases[i].ns / 1e6, phases[i].count);
	if (phases_json(body, sizeof(body)) < 0)
		return;
	n = snprintf(doc, sizeof(doc),
		     "{\n  \"stage\": \"%s\",\n  \"pid\": %d,\n  \"vcpus\": %" PRIu32
		     ",\n  \"phases\": {%s\n  }\n}\n", stage, (int)pid, n_vcpus, body);
	if (n < 0 || (size_t)n >= sizeof(doc))
		return;
	if (pid)
		snprintf(name, sizeof(name), "nestckpt-stats-%s-%d.json", stage, (int)pid);
	else
		snprintf(name, sizeof(name), "nestckpt-stats-%s.json", stage);
	/* In a restored VMM no io_uring: its worker threads would upset criu. */
	rc = pid ? nc_file_write_all_plain(nc_image_dir(), name, doc, (size_t)n) :
		   nc_file_write_all(nc_image_dir(), name, doc, (size_t)n);
	if (rc)
		nc_warn("cannot write %s: %s\n", name, nc_file_strerror(rc));
}

// SPDX-License-Identifier: GPL-2.0
/* How many CPUID entries a vCPU really has (see vcpu_rules.h). */
#include <stdbool.h>
#include <string.h>

#include "vcpu_rules.h"

/* No leaf lives at 0xffffffff and KVM defines no such flags: not a real entry. */
#define FILL_BYTE	0xff

void nc_cpuid_prefill(struct kvm_cpuid2 *c, uint32_t cap)
{
	memset(c->entries, FILL_BYTE, (size_t)cap * sizeof(c->entries[0]));
	c->nent = cap;
}

static bool is_fill(const struct kvm_cpuid_entry2 *e)
{
	const unsigned char *p = (const void *)e;
	size_t i;

	for (i = 0; i < sizeof(*e); i++)
		if (p[i] != FILL_BYTE)
			return false;
	return true;
}

uint32_t nc_cpuid_count(const struct kvm_cpuid2 *c, uint32_t cap)
{
	uint32_t n = c->nent < cap ? c->nent : cap;

	while (n && is_fill(&c->entries[n - 1]))
		n--;
	return n;
}

static bool is_zero(const struct kvm_cpuid_entry2 *e)
{
	static const struct kvm_cpuid_entry2 zero;

	return !memcmp(e, &zero, sizeof(zero));
}

uint32_t nc_cpuid_trim(struct kvm_cpuid2 *c)
{
	uint32_t i, n = 0;
	bool leaf0 = false;

	for (i = 0; i < c->nent; i++) {
		bool dup = is_zero(&c->entries[i]) && leaf0;

		if (c->entries[i].function == 0 && c->entries[i].index == 0)
			leaf0 = true;
		if (!dup)
			c->entries[n++] = c->entries[i];
	}
	c->nent = n;
	return n;
}

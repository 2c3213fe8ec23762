// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only fault switch: NESTCKPT_FAULT (comma-separated) makes the restore
 * replay break the way it broke before issue 14 was fixed, so a test can show
 * that the dump's proof (scratch_vm.c) catches each of those breakages:
 *   asid          the capability check compares the SVM ASID count L1 was
 *                 shown against what this host's KVM suggests (finding 1);
 *   mce           no KVM_X86_SETUP_MCE before MCG_CTL is written (finding 2);
 *   msr-filter    the VM's MSR filter is not put back (finding 3);
 *   async-pf-int  MSR_KVM_ASYNC_PF_INT is written even where the new vCPU
 *                 already holds its value (finding 4);
 *   msr:0xN       the same for any MSR N.
 * Unset in production: nothing here changes unless the variable is set.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"

#define MSR_KVM_ASYNC_PF_INT	0x4b564d06

/* The next comma-separated word of *@s into @w (@n bytes); false at the end. */
static bool next_word(const char **s, char *w, size_t n)
{
	size_t len;

	while (**s == ',' || **s == ' ')
		(*s)++;
	if (!**s)
		return false;
	len = strcspn(*s, ", ");
	if (len >= n)
		len = n - 1;
	memcpy(w, *s, len);
	w[len] = 0;
	*s += strcspn(*s, ", ");
	return true;
}

bool nc_fault(const char *name)
{
	const char *s = getenv(NC_FAULT_ENV);
	char w[32];

	while (s && next_word(&s, w, sizeof(w)))
		if (!strcmp(w, name))
			return true;
	return false;
}

bool nc_fault_msr_forced(uint32_t index)
{
	const char *s = getenv(NC_FAULT_ENV);
	char w[32], *end;

	while (s && next_word(&s, w, sizeof(w))) {
		if (!strcmp(w, "async-pf-int") && index == MSR_KVM_ASYNC_PF_INT)
			return true;
		if (!strncmp(w, "msr:", 4) && strtoul(w + 4, &end, 0) == index &&
		    w[4] && !*end)
			return true;
	}
	return false;
}

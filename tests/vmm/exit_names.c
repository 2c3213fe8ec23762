// SPDX-License-Identifier: GPL-2.0
/*
 * Names for the L1 exit histogram. Slots are SVM exit codes or VMX basic
 * exit reasons below HIST_OTHER; anything unnamed prints as hex.
 */
#include <stdio.h>
#include "exit_names.h"

static const char *const svm_names[HIST_SLOTS] = {
	[0x40] = "exc_de", [0x41] = "exc_db", [0x43] = "exc_bp",
	[0x46] = "exc_ud", [0x48] = "exc_df", [0x4d] = "exc_gp",
	[0x4e] = "exc_pf", [0x60] = "intr", [0x61] = "nmi", [0x62] = "smi",
	[0x63] = "init", [0x64] = "vintr", [0x72] = "cpuid", [0x74] = "iret",
	[0x78] = "hlt", [0x7b] = "ioio", [0x7c] = "msr", [0x7f] = "shutdown",
	[0x80] = "vmrun", [0x81] = "vmmcall", [0x82] = "vmload",
	[0x83] = "vmsave", [0x84] = "stgi", [0x85] = "clgi",
};

static const char *const vmx_names[HIST_SLOTS] = {
	[0] = "exception_nmi", [1] = "external_interrupt",
	[2] = "triple_fault", [3] = "init", [7] = "interrupt_window",
	[8] = "nmi_window", [10] = "cpuid", [12] = "hlt", [18] = "vmcall",
	[19] = "vmclear", [20] = "vmlaunch", [21] = "vmptrld", [23] = "vmread",
	[24] = "vmresume", [25] = "vmwrite", [26] = "vmxoff", [27] = "vmxon",
	[28] = "cr_access", [30] = "io", [31] = "rdmsr", [32] = "wrmsr",
	[33] = "invalid_guest_state", [48] = "ept_violation",
	[49] = "ept_misconfig", [52] = "preemption_timer",
};

const char *exit_slot_name(enum vendor v, unsigned int slot, char *buf,
			   unsigned int len)
{
	const char *name = NULL;

	if (slot == HIST_OTHER)
		return "other";
	if (slot < HIST_SLOTS)
		name = v == VENDOR_SVM ? svm_names[slot] : vmx_names[slot];
	if (name)
		return name;
	snprintf(buf, len, "0x%x", slot);
	return buf;
}

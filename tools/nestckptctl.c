// SPDX-License-Identifier: GPL-2.0
/* nestckptctl: operator command line for nestckpt. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "libnestckpt.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nestckptctl [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  check [--json]   report whether this host can checkpoint and restore\n"
		"                   KVM VMMs with nestckpt; exit 0 only if it can\n"
		"  freeze PID       park the vCPU threads of VMM process PID and take its\n"
		"                   vCPUs out of L2 (state flushed to the vmcs12/vmcb12)\n"
		"  thaw PID         re-enter L2 and let the VMM run again\n"
		"  status [--json] PID\n"
		"                   VMs and vCPUs of PID; L1/L2 and nested records if frozen\n");
}

static int cmd_check(int argc, char **argv)
{
	struct nc_check_report r;
	bool json = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: nestckptctl check [--json]\n");
			return 0;
		} else {
			fprintf(stderr, "nestckptctl check: unknown argument '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}

	nc_check_collect(&r, NULL, NULL);
	if (json)
		nc_check_print_json(stdout, &r);
	else
		nc_check_print_text(stdout, &r);
	return nc_check_exit_status(&r);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("nestckptctl %s (ABI %u.%u)\n", nc_package_version(),
		       NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "freeze"))
		return cmd_freeze(argc - 1, argv + 1);
	if (!strcmp(argv[1], "thaw"))
		return cmd_thaw(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);

	fprintf(stderr, "nestckptctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

// SPDX-License-Identifier: GPL-2.0
/* nestckptctl: operator command line for nestckpt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
		"                   vCPUs out of L2 (state flushed to the vmcs12/vmcb12);\n"
		"                   --maps: serve its vCPU mappings through " NESTCKPT_DEVICE_PATH "\n"
		"                   (what criu needs; the plugin does this itself);\n"
		"                   the freeze outlives the command; --hold: it lasts\n"
		"                   while the command runs, and SIGINT/SIGTERM/SIGHUP or\n"
		"                   its death thaws (as a crashed criu's would)\n"
		"  thaw PID         re-enter L2 and let the VMM run again\n"
		"  status [--json] PID\n"
		"                   VMs and vCPUs of PID; L1/L2 and nested records if frozen\n"
		"  inspect [--json] IMAGE   show a checkpoint image (a checkpoint\n"
		"                   directory or an image file)\n"
		"  diff IMAGE1 IMAGE2       show what differs; exit 1 if anything does\n"
		"  compat IMAGE     check this host's KVM offers everything the image\n"
		"                   relies on; exit 1 naming each missing feature\n"
		"  image-from-capture CAPDIR OUTDIR   turn a nestvmm --capture\n"
		"                   directory into a checkpoint image in OUTDIR\n");
}

/* IMAGE: a checkpoint directory (its nestckpt-kvm-*.img) or a file. */
static int load_image(const char *arg, struct nc_image *img)
{
	char path[4096];
	struct nc_err err = { "" };
	struct stat st;

	snprintf(path, sizeof(path), "%s", arg);
	if (!stat(arg, &st) && S_ISDIR(st.st_mode) &&
	    nc_image_find(arg, path, sizeof(path), &err)) {
		fprintf(stderr, "nestckptctl: %s\n", err.msg);
		return -1;
	}
	if (nc_image_read_file(path, img, &err)) {
		fprintf(stderr, "nestckptctl: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int cmd_inspect(int argc, char **argv)
{
	struct nc_image img;
	bool json = argc == 3 && !strcmp(argv[1], "--json");

	if (argc != 2 && !json) {
		fprintf(stderr, "usage: nestckptctl inspect [--json] IMAGE\n");
		return EXIT_USAGE;
	}
	if (load_image(argv[argc - 1], &img))
		return 1;
	if (json)
		nc_image_print_json(stdout, &img);
	else
		nc_image_print_text(stdout, &img);
	nc_image_free(&img);
	return 0;
}

static int cmd_diff(int argc, char **argv)
{
	struct nc_image a, b;
	int n;

	if (argc != 3) {
		fprintf(stderr, "usage: nestckptctl diff IMAGE1 IMAGE2\n");
		return EXIT_USAGE;
	}
	if (load_image(argv[1], &a))
		return EXIT_USAGE;
	if (load_image(argv[2], &b)) {
		nc_image_free(&a);
		return EXIT_USAGE;
	}
	n = nc_image_diff(stdout, &a, &b);
	printf("%d difference(s)\n", n);
	nc_image_free(&a);
	nc_image_free(&b);
	return n ? 1 : 0;
}

static int cmd_compat(int argc, char **argv)
{
	struct nc_compat_report r;
	struct nc_err err = { "" };
	struct nc_image img;
	uint32_t i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: nestckptctl compat IMAGE\n");
		return EXIT_USAGE;
	}
	if (load_image(argv[1], &img))
		return EXIT_USAGE;
	rc = nc_image_check_host(&img, &r, &err);
	nc_image_free(&img);
	if (rc && rc != -ENOTSUP) {
		fprintf(stderr, "nestckptctl compat: %s\n", err.msg);
		return EXIT_USAGE;
	}
	for (i = 0; i < r.n_missing; i++)
		printf("missing: %s\n", r.missing[i]);
	if (r.truncated)
		printf("missing: (more not shown)\n");
	if (r.n_missing) {
		printf("result: REFUSED: this host lacks %u feature(s) the image "
		       "relies on\n", r.n_missing);
		return 1;
	}
	printf("result: compatible: this host offers everything the image relies on\n");
	return 0;
}

static int cmd_image_from_capture(int argc, char **argv)
{
	struct nc_err err = { "" };
	struct nc_image img;
	char path[4096];
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: nestckptctl image-from-capture CAPDIR OUTDIR\n");
		return EXIT_USAGE;
	}
	if (nc_capture_load(argv[1], &img, &err)) {
		fprintf(stderr, "nestckptctl: %s\n", err.msg);
		return 1;
	}
	mkdir(argv[2], 0755);
	snprintf(path, sizeof(path), "%s/%s0.img", argv[2], NC_IMAGE_FILE_PREFIX);
	rc = nc_image_write_file(path, &img, &err);
	nc_image_free(&img);
	if (rc) {
		fprintf(stderr, "nestckptctl: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", path);
	return 0;
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
	if (!strcmp(argv[1], "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compat"))
		return cmd_compat(argc - 1, argv + 1);
	if (!strcmp(argv[1], "image-from-capture"))
		return cmd_image_from_capture(argc - 1, argv + 1);

	fprintf(stderr, "nestckptctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

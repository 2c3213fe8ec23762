// SPDX-License-Identifier: GPL-2.0
/* nestckptctl check: verdict (exit status), text and JSON output, collection. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

static char *render(const struct nc_check_report *r, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (json)
		nc_check_print_json(f, r);
	else
		nc_check_print_text(f, r);
	fclose(f);
	return buf;
}

static void full_report(struct nc_check_report *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->vendor, sizeof(r->vendor), "svm");
	snprintf(r->user_abi, sizeof(r->user_abi), "1.0");
	snprintf(r->kernel_abi, sizeof(r->kernel_abi), "1.0");
	nc_check_add(r, "kernel", false, NC_CHECK_OK, "6.1.0-56-amd64");
	nc_check_add(r, "vendor", true, NC_CHECK_OK, "svm");
	nc_check_add(r, "nestckpt-module", true, NC_CHECK_OK, "loaded, ABI 1.0");
	nc_check_add(r, "criu", true, NC_CHECK_OK, "criu 3.17.1");
}

static void test_exit_status(void)
{
	struct nc_check_report r;
	char *out;

	memset(&r, 0, sizeof(r));
	is_int(nc_check_exit_status(&r), 1, "empty report fails");

	full_report(&r);
	is_int(nc_check_exit_status(&r), 0, "all required OK: exit 0");

	r.items[0].status = NC_CHECK_MISSING;
	is_int(nc_check_exit_status(&r), 0, "informational item missing: still exit 0");

	r.items[2].status = NC_CHECK_MISSING;
	is_int(nc_check_exit_status(&r), 1, "required item missing: exit 1");

	out = render(&r, false);
	has_str(out, "nestckpt-module  MISSING  loaded, ABI 1.0\n", "text line of the missing item");
	has_str(out, "result: MISSING: nestckpt-module\n", "text verdict names it");
	ok(out && !strstr(out, "result: MISSING: kernel"), "informational item not in verdict");
	free(out);

	r.items[3].status = NC_CHECK_MISSING;
	out = render(&r, false);
	has_str(out, "result: MISSING: nestckpt-module, criu\n", "verdict lists all missing");
	free(out);

	full_report(&r);
	out = render(&r, false);
	has_str(out, "vendor           OK       svm\n", "text line format");
	has_str(out, "kernel           OK       6.1.0-56-amd64 (informational)\n",
		"informational marked");
	has_str(out, "result: OK\n", "text verdict OK");
	free(out);
}

static void test_json(void)
{
	struct nc_check_report r;
	char *out;

	memset(&r, 0, sizeof(r));
	snprintf(r.vendor, sizeof(r.vendor), "vmx");
	snprintf(r.user_abi, sizeof(r.user_abi), "1.0");
	nc_check_add(&r, "criu", true, NC_CHECK_MISSING, "say \"hi\"\\\n\x01");
	out = render(&r, true);
	is_str(out,
	       "{\"ok\":false,\"vendor\":\"vmx\",\"user_abi\":\"1.0\",\"module_abi\":null,"
	       "\"items\":[{\"name\":\"criu\",\"status\":\"MISSING\",\"required\":true,"
	       "\"detail\":\"say \\\"hi\\\"\\\\\\n\\u0001\"}]}\n",
	       "JSON with escaping and null module ABI");
	free(out);

	full_report(&r);
	out = render(&r, true);
	has_str(out, "{\"ok\":true,\"vendor\":\"svm\",\"user_abi\":\"1.0\",\"module_abi\":\"1.0\",",
		"JSON header of a good report");
	has_str(out, "{\"name\":\"kernel\",\"status\":\"OK\",\"required\":false,", "JSON item");
	free(out);
}

static void test_add_limits(void)
{
	struct nc_check_report r;
	char longtext[400];
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < NC_CHECK_MAX_ITEMS; i++)
		nc_check_add(&r, "x", true, NC_CHECK_OK, "%d", i);
	ok(nc_check_add(&r, "y", true, NC_CHECK_OK, "overflow") == NULL, "item overflow refused");
	is_int(r.n, NC_CHECK_MAX_ITEMS, "item count capped");

	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	memset(&r, 0, sizeof(r));
	nc_check_add(&r, "long", true, NC_CHECK_OK, "%s", longtext);
	is_int(strlen(r.items[0].detail), sizeof(r.items[0].detail) - 1, "detail truncated");
}

static void test_collect(void)
{
	char root[] = "/tmp/nc-unit-check-XXXXXX";
	char path[600], cmd[700];
	struct nc_check_report r;
	FILE *f;
	size_t i;
	const struct nc_check_item *mod = NULL, *abi = NULL, *vendor = NULL;

	if (!ok(mkdtemp(root) != NULL, "fixture root"))
		return;
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	f = fopen(path, "w");
	if (f) {
		fputs("processor\t: 0\nflags\t\t: fpu svm npt\n", f);
		fclose(f);
	}
	/* A fake criu so the result does not depend on the host. */
	snprintf(path, sizeof(path), "%s/criu", root);
	f = fopen(path, "w");
	if (f) {
		fputs("#!/bin/sh\necho 'Version: 3.17.1'\n", f);
		fclose(f);
	}
	chmod(path, 0755);
	setenv("NESTCKPT_CRIU", path, 1);
	setenv("CRIU_LIBS_DIR", root, 1);

	snprintf(path, sizeof(path), "%s/nestckpt", root);
	nc_check_collect(&r, root, path);
	for (i = 0; i < r.n; i++) {
		if (!strcmp(r.items[i].name, "nestckpt-module"))
			mod = &r.items[i];
		else if (!strcmp(r.items[i].name, "abi"))
			abi = &r.items[i];
		else if (!strcmp(r.items[i].name, "vendor"))
			vendor = &r.items[i];
	}
	ok(vendor && vendor->status == NC_CHECK_OK && !strcmp(vendor->detail, "svm"),
	   "fixture vendor svm");
	ok(mod && mod->status == NC_CHECK_MISSING, "absent device: module MISSING");
	has_str(mod ? mod->detail : NULL, "module not loaded", "absent device explained");
	ok(abi && abi->status == NC_CHECK_MISSING, "absent device: ABI MISSING");
	{
		char want[16];

		snprintf(want, sizeof(want), "%u.%u", NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR);
		is_str(r.user_abi, want, "user ABI is this header's");
	}
	is_str(r.kernel_abi, "", "no kernel ABI");
	is_int(nc_check_exit_status(&r), 1, "absent module: exit 1");

	unsetenv("NESTCKPT_CRIU");
	unsetenv("CRIU_LIBS_DIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ok(system(cmd) == 0, "remove fixture root");
}

int main(void)
{
	test_exit_status();
	test_json();
	test_add_limits();
	test_collect();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/* Version parsing, `criu --version` parsing and running, plugin path. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

static void test_parse_version(void)
{
	struct nc_version v;

	is_int(nc_parse_version("3.17.1", &v), 0, "3.17.1 parses");
	ok(v.major == 3 && v.minor == 17 && v.patch == 1, "3.17.1 values");
	is_int(nc_parse_version("4.0", &v), 0, "4.0 parses");
	ok(v.major == 4 && v.minor == 0 && v.patch == 0, "4.0 values, patch 0");
	is_int(nc_parse_version("3.19-rc1", &v), 0, "3.19-rc1 parses");
	ok(v.major == 3 && v.minor == 19, "3.19-rc1 values");
	is_int(nc_parse_version("3", &v), -EINVAL, "3 alone rejected");
	is_int(nc_parse_version("v3.17", &v), -EINVAL, "leading v rejected");
	is_int(nc_parse_version("", &v), -EINVAL, "empty rejected");
	is_int(nc_parse_version("99999999.1", &v), -EINVAL, "huge part rejected");
}

static void test_cmp(void)
{
	struct nc_version a = { 3, 17, 1 }, b = { 3, 17, 0 }, c = { 4, 0, 0 }, d = { 3, 16, 9 };

	ok(nc_version_cmp(&a, &b) > 0, "3.17.1 > 3.17.0");
	ok(nc_version_cmp(&b, &a) < 0, "3.17.0 < 3.17.1");
	ok(nc_version_cmp(&c, &a) > 0, "4.0 > 3.17.1");
	ok(nc_version_cmp(&a, &a) == 0, "3.17.1 == 3.17.1");
	ok(nc_criu_version_ok(&a), "criu 3.17.1 is enough");
	ok(nc_criu_version_ok(&b), "criu 3.17.0 is enough");
	ok(nc_criu_version_ok(&c), "criu 4.0 is enough");
	ok(!nc_criu_version_ok(&d), "criu 3.16.9 is too old");
}

static void test_parse_criu(void)
{
	struct nc_version v;

	is_int(nc_parse_criu_version("Version: 3.17.1\n", &v), 0, "debian 12 output");
	ok(v.major == 3 && v.minor == 17 && v.patch == 1, "debian 12 values 3.17.1");
	is_int(nc_parse_criu_version("Version: 4.0\nGitID: v4.0-12-gdeadbeef\n", &v), 0,
	       "output with GitID");
	ok(v.major == 4 && v.minor == 0 && v.patch == 0, "GitID output values 4.0.0");
	is_int(nc_parse_criu_version("Warn: something\nVersion:\t3.18\n", &v), 0,
	       "Version on second line, tab");
	ok(v.major == 3 && v.minor == 18, "second line values 3.18");
	is_int(nc_parse_criu_version("criu 3.17\n", &v), -ENOENT, "no Version line");
	is_int(nc_parse_criu_version("", &v), -ENOENT, "empty output");
	is_int(nc_parse_criu_version("Version: unknown\n", &v), -EINVAL, "garbage version");
}

/* Run a fake criu script through nc_criu_version(). */
static int run_fake(const char *dir, const char *body, struct nc_version *v)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/criu", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	setenv("NESTCKPT_CRIU", path, 1);
	return nc_criu_version(v);
}

static void test_run_criu(void)
{
	char dir[] = "/tmp/nc-unit-criu-XXXXXX";
	struct nc_version v = { 0, 0, 0 };
	char path[600];

	if (!ok(mkdtemp(dir) != NULL, "temp dir"))
		return;
	is_int(run_fake(dir, "echo 'Version: 3.17.1'", &v), 0, "fake criu 3.17.1 runs");
	ok(v.major == 3 && v.minor == 17 && v.patch == 1, "fake criu gives 3.17.1");
	is_int(run_fake(dir, "echo 'Version: 3.15'", &v), 0, "fake criu 3.15 runs");
	ok(!nc_criu_version_ok(&v), "fake criu 3.15 too old");
	is_int(run_fake(dir, "echo nonsense", &v), -ENOENT, "fake criu without Version");
	setenv("NESTCKPT_CRIU", "/nonexistent/criu", 1);
	is_int(nc_criu_version(&v), -ENOENT, "missing criu: ENOENT");
	unsetenv("NESTCKPT_CRIU");
	snprintf(path, sizeof(path), "%s/criu", dir);
	unlink(path);
	rmdir(dir);
}

static void test_plugin_path(void)
{
	char buf[256];

	is_int(nc_plugin_path(NULL, buf, sizeof(buf)), 0, "default plugin path");
	is_str(buf, "/usr/lib/criu/nestckpt_plugin.so", "default is /usr/lib/criu");
	is_int(nc_plugin_path("", buf, sizeof(buf)), 0, "empty CRIU_LIBS_DIR");
	is_str(buf, "/usr/lib/criu/nestckpt_plugin.so", "empty env falls back to default");
	is_int(nc_plugin_path("/opt/criu/lib", buf, sizeof(buf)), 0, "CRIU_LIBS_DIR path");
	is_str(buf, "/opt/criu/lib/nestckpt_plugin.so", "CRIU_LIBS_DIR honoured");
	is_int(nc_plugin_path("/opt/criu/lib", buf, 10), -ENAMETOOLONG, "small buffer");
}

int main(void)
{
	test_parse_version();
	test_cmp();
	test_parse_criu();
	test_run_criu();
	test_plugin_path();
	return tap_done();
}

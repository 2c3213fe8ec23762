// SPDX-License-Identifier: GPL-2.0
/*
 * Image files in a directory someone else can write to (issue 15): a planted
 * symlink never redirects a write, and a FIFO or symlink in place of an
 * image fails a read at once with a clear error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_fixtures.h"
#include "tap.h"

static char dir[64], victim[128];

static int dirfd_;

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int victim_untouched(void)
{
	char buf[32] = "";
	FILE *f = fopen(victim, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return !strcmp(buf, "victim\n");
}

static int is_regular(const char *name)
{
	struct stat st;

	return !fstatat(dirfd_, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode);
}

static void writes(void)
{
	static const char data[] = "image bytes";
	uint8_t *buf;
	size_t len;
	int rc;

	/* The old writer's predictable temporary name, planted as a symlink. */
	if (symlinkat(victim, dirfd_, ".nestckpt-kvm-1.img.tmp")) {
		printf("Bail out! symlink: %s\n", strerror(errno));
		exit(1);
	}
	rc = nc_file_write_all(dirfd_, "nestckpt-kvm-1.img", data, sizeof(data));
	is_int(rc, 0, "write with a symlink planted at the old temporary name: written");
	ok(victim_untouched(), "... the symlink's target untouched");
	ok(is_regular("nestckpt-kvm-1.img"), "... the image is a regular file");
	rc = nc_file_read_all(dirfd_, "nestckpt-kvm-1.img", 1 << 20, &buf, &len);
	ok(!rc && len == sizeof(data) && !memcmp(buf, data, len), "... and reads back");
	free(buf);

	/* A symlink at the final name is replaced, not followed. */
	symlinkat(victim, dirfd_, "nestckpt-kvm-2.img");
	rc = nc_file_write_all(dirfd_, "nestckpt-kvm-2.img", data, sizeof(data));
	is_int(rc, 0, "write over a symlink at the final name: written");
	ok(victim_untouched(), "... the symlink's target untouched");
	ok(is_regular("nestckpt-kvm-2.img"), "... the symlink replaced by a regular file");
}

static void temp_names(void)
{
	char a[256], b[256];
	int fa, fb;

	fa = nc_file_create_tmp(dirfd_, "x.img", a, sizeof(a));
	fb = nc_file_create_tmp(dirfd_, "x.img", b, sizeof(b));
	ok(fa >= 0 && fb >= 0 && strcmp(a, b) && strcmp(a, ".x.img.tmp"),
	   "temporary names differ from call to call and from the old fixed one");
	if (fa >= 0) {
		close(fa);
		unlinkat(dirfd_, a, 0);
	}
	if (fb >= 0) {
		close(fb);
		unlinkat(dirfd_, b, 0);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
	printf("not ok - a read hung on a FIFO\nBail out!\n");
	_exit(1);
}

static void reads(void)
{
	char path[256];
	struct nc_image img;
	struct nc_err err = { "" };
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	signal(SIGALRM, on_alarm);
	alarm(10);
	mkfifoat(dirfd_, "fifo.img", 0600);
	rc = nc_file_read_all(dirfd_, "fifo.img", 1 << 20, &buf, &len);
	is_int(rc, -NC_ENOTREG, "read of a FIFO: refused at once");
	has_str(nc_file_strerror(rc), "not a regular file", "... with a clear error");
	symlinkat(victim, dirfd_, "link.img");
	rc = nc_file_read_all(dirfd_, "link.img", 1 << 20, &buf, &len);
	is_int(rc, -ELOOP, "read through a symlink: refused");
	has_str(nc_file_strerror(rc), "symbolic link", "... with a clear error");
	mkdirat(dirfd_, "dir.img", 0700);
	rc = nc_file_read_all(dirfd_, "dir.img", 1 << 20, &buf, &len);
	is_int(rc, -NC_ENOTREG, "read of a directory: refused");
	ok(!buf, "... nothing returned");

	/* The same through nestckptctl's path-based reader. */
	snprintf(path, sizeof(path), "%s/fifo.img", dir);
	rc = nc_image_read_file(path, &img, &err);
	ok(rc == -NC_ENOTREG && strstr(err.msg, "fifo.img: not a regular file"),
	   "nc_image_read_file of a FIFO: refused, named");
	printf("#   %s\n", err.msg);
	nc_image_free(&img);
	alarm(0);
}

static void image_files(void)
{
	char path[256];
	struct nc_image img, back;
	struct nc_err err = { "" };

	fixture_load(FIXTURE_SVM, &img);
	snprintf(path, sizeof(path), "%s/tool.img.tmp", dir);
	symlink(victim, path);
	snprintf(path, sizeof(path), "%s/tool.img", dir);
	is_int(nc_image_write_file(path, &img, &err), 0,
	       "nc_image_write_file with a symlink at PATH.tmp: written");
	ok(victim_untouched(), "... the symlink's target untouched");
	ok(!nc_image_read_file(path, &back, &err) && back.n_vms == 1,
	   "... and the image reads back");
	nc_image_free(&back);
	nc_image_free(&img);
}

int main(void)
{
	char vdir[64];

	snprintf(dir, sizeof(dir), "/tmp/nc-safe-XXXXXX");
	snprintf(vdir, sizeof(vdir), "/tmp/nc-victim-XXXXXX");
	if (!mkdtemp(dir) || !mkdtemp(vdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(victim, sizeof(victim), "%s/victim", vdir);
	put(victim, "victim\n");
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	writes();
	temp_names();
	reads();
	image_files();
	close(dirfd_);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, vdir);
		if (system(cmd))
			printf("# cleanup failed\n");
	}
	return tap_done();
}

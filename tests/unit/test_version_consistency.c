// SPDX-License-Identifier: GPL-2.0
/*
 * One package version everywhere: dkms.conf's PACKAGE_VERSION, the version
 * compiled into libnestckpt (and so nestckptctl and the plugin), and the
 * MODULE_VERSION of a built nestckpt.ko; dkms.conf points at module/.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

#ifndef NC_SRCROOT
#error "NC_SRCROOT must be defined"
#endif

static char conf[8192];

/* Value of KEY="value" (or KEY=value) in dkms.conf, or NULL. */
static const char *conf_get(const char *key, char *buf, size_t size)
{
	const char *line = conf;
	size_t kl = strlen(key);

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > kl && !strncmp(line, key, kl) && line[kl] == '=') {
			const char *v = line + kl + 1;
			size_t vl = len - kl - 1;

			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl >= size)
				return NULL;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return buf;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Find "version=X" in a module's .modinfo (a NUL-separated list). */
static int module_version(const char *ko, char *out, size_t size)
{
	static char data[4 << 20];
	size_t n, i;
	FILE *f = fopen(ko, "rb");

	if (!f)
		return -errno;
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	for (i = 0; i + 8 < n; i++) {
		if ((i == 0 || data[i - 1] == '\0') && !memcmp(data + i, "version=", 8)) {
			snprintf(out, size, "%.*s", (int)strnlen(data + i + 8, n - i - 8),
				 data + i + 8);
			return 0;
		}
	}
	return -ENOENT;
}

int main(void)
{
	char buf[256], modver[64];
	const char *ko = getenv("NC_KO");
	struct nc_version v;
	ssize_t n;
	int ret;

	n = nc_read_file(NC_SRCROOT "/dkms.conf", conf, sizeof(conf));
	if (!ok(n > 0, "read dkms.conf"))
		return tap_done();

	is_str(conf_get("PACKAGE_NAME", buf, sizeof(buf)), "nestckpt", "PACKAGE_NAME");
	is_str(conf_get("PACKAGE_VERSION", buf, sizeof(buf)), nc_package_version(),
	       "dkms.conf PACKAGE_VERSION == libnestckpt version");
	is_int(nc_parse_version(nc_package_version(), &v), 0, "package version is X.Y.Z");
	ok(v.minor <= 0xff && v.patch <= 0xff, "version fits NESTCKPT_VERSION_CODE");
	is_str(conf_get("BUILT_MODULE_NAME[0]", buf, sizeof(buf)), "nestckpt",
	       "BUILT_MODULE_NAME");
	is_str(conf_get("BUILT_MODULE_LOCATION[0]", buf, sizeof(buf)), "module/",
	       "BUILT_MODULE_LOCATION is module/");
	is_str(conf_get("MAKE[0]", buf, sizeof(buf)), "make -C module KVER=${kernelver}",
	       "MAKE builds module/ for ${kernelver}");
	is_str(conf_get("AUTOINSTALL", buf, sizeof(buf)), "yes", "AUTOINSTALL");

	/* The module's version comes from the same dkms.conf (module/Kbuild). */
	if (!ko)
		ko = NC_SRCROOT "/module/nestckpt.ko";
	ret = module_version(ko, modver, sizeof(modver));
	if (ret == -ENOENT && access(ko, F_OK)) {
		ok(1, "# SKIP no built nestckpt.ko (set NC_KO or build module/)");
	} else {
		is_int(ret, 0, "nestckpt.ko has a version= modinfo");
		is_str(modver, nc_package_version(), "nestckpt.ko MODULE_VERSION == dkms.conf");
	}
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/* Host probing: CPU virtualisation vendor, KVM modules, nested setting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "libnestckpt.h"

ssize_t nc_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	int fd;

	if (!size)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/* Does the line [line, end) hold @word as a whitespace-separated token? */
static bool line_has_word(const char *line, const char *end, const char *word)
{
	size_t wl = strlen(word);
	const char *p = line;

	while (p < end) {
		const char *tok;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		tok = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - tok) == wl && !memcmp(tok, word, wl))
			return true;
	}
	return false;
}

unsigned int nc_parse_cpuinfo_vendor(const char *cpuinfo)
{
	const char *line = cpuinfo;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		const char *colon;

		if (!end)
			end = line + strlen(line);
		colon = memchr(line, ':', end - line);
		/* The "flags" key, padded with tabs/spaces before the colon. */
		if (colon && !strncmp(line, "flags", 5) &&
		    strspn(line + 5, " \t") == (size_t)(colon - line - 5)) {
			if (line_has_word(colon + 1, end, "vmx"))
				return NESTCKPT_VENDOR_VMX;
			if (line_has_word(colon + 1, end, "svm"))
				return NESTCKPT_VENDOR_SVM;
			/* All CPUs report the same features: first line decides. */
			return NESTCKPT_VENDOR_NONE;
		}
		line = *end ? end + 1 : end;
	}
	return NESTCKPT_VENDOR_NONE;
}

int nc_parse_nested_param(const char *text)
{
	size_t len = strcspn(text, "\n");

	if (len == 1 && (text[0] == 'Y' || text[0] == 'y' || text[0] == '1'))
		return 1;
	if (len == 1 && (text[0] == 'N' || text[0] == 'n' || text[0] == '0'))
		return 0;
	return -EINVAL;
}

static void join(char *buf, size_t size, const char *root, const char *path)
{
	snprintf(buf, size, "%s%s", root ? root : "", path);
}

static bool path_is_dir(const char *root, const char *path)
{
	char p[512];
	struct stat st;

	join(p, sizeof(p), root, path);
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int nc_probe_host(const char *root, struct nc_host *h)
{
	static char cpuinfo[1 << 16];
	char p[512], buf[16];
	struct utsname u;
	struct stat st;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	h->nested = -ENOENT;

	if (!uname(&u))
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", u.release);

	/* The flags line is near the top; 64 KiB always covers the first CPU. */
	join(p, sizeof(p), root, "/proc/cpuinfo");
	n = nc_read_file(p, cpuinfo, sizeof(cpuinfo));
	h->cpu_vendor = n > 0 ? nc_parse_cpuinfo_vendor(cpuinfo) : NESTCKPT_VENDOR_NONE;

	h->kvm_loaded = path_is_dir(root, "/sys/module/kvm");
	if (h->cpu_vendor == NESTCKPT_VENDOR_VMX)
		h->kvm_vendor_module = "kvm_intel";
	else if (h->cpu_vendor == NESTCKPT_VENDOR_SVM)
		h->kvm_vendor_module = "kvm_amd";

	if (h->kvm_vendor_module) {
		char mod[64];

		snprintf(mod, sizeof(mod), "/sys/module/%s", h->kvm_vendor_module);
		h->kvm_vendor_loaded = path_is_dir(root, mod);
		snprintf(mod, sizeof(mod), "/sys/module/%s/parameters/nested",
			 h->kvm_vendor_module);
		join(p, sizeof(p), root, mod);
		n = nc_read_file(p, buf, sizeof(buf));
		h->nested = n < 0 ? (int)n : nc_parse_nested_param(buf);
	}

	join(p, sizeof(p), root, "/dev/kvm");
	h->dev_kvm = !stat(p, &st) && S_ISCHR(st.st_mode);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* The "nestckptctl check" report: gathering, verdict, text and JSON output. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libnestckpt.h"

struct nc_check_item *nc_check_add(struct nc_check_report *r, const char *name,
				   bool required, enum nc_check_status st,
				   const char *fmt, ...)
{
	struct nc_check_item *it;
	va_list ap;

	if (r->n >= NC_CHECK_MAX_ITEMS)
		return NULL;
	it = &r->items[r->n++];
	it->name = name;
	it->required = required;
	it->status = st;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	return it;
}

static void collect_host(struct nc_check_report *r, const char *root)
{
	struct nc_host h;

	nc_probe_host(root, &h);
	nc_check_add(r, "kernel", false, NC_CHECK_OK, "%s",
		     h.kernel_release[0] ? h.kernel_release : "unknown");

	snprintf(r->vendor, sizeof(r->vendor), "%s", nc_vendor_name(h.cpu_vendor));
	if (h.cpu_vendor == NESTCKPT_VENDOR_NONE)
		nc_check_add(r, "vendor", true, NC_CHECK_MISSING,
			     "none: the CPU offers neither vmx nor svm");
	else
		nc_check_add(r, "vendor", true, NC_CHECK_OK, "%s", r->vendor);

	if (h.kvm_loaded)
		nc_check_add(r, "kvm", true, NC_CHECK_OK, "kvm module loaded");
	else
		nc_check_add(r, "kvm", true, NC_CHECK_MISSING, "kvm module not loaded");

	if (!h.kvm_vendor_module)
		nc_check_add(r, "kvm-nested", true, NC_CHECK_MISSING,
			     "no KVM vendor module for this CPU");
	else if (!h.kvm_vendor_loaded)
		nc_check_add(r, "kvm-nested", true, NC_CHECK_MISSING,
			     "%s not loaded", h.kvm_vendor_module);
	else if (h.nested == 1)
		nc_check_add(r, "kvm-nested", true, NC_CHECK_OK,
			     "%s nested=1", h.kvm_vendor_module);
	else if (h.nested == 0)
		nc_check_add(r, "kvm-nested", true, NC_CHECK_MISSING,
			     "%s loaded with nested disabled (load it with nested=1)",
			     h.kvm_vendor_module);
	else
		nc_check_add(r, "kvm-nested", true, NC_CHECK_MISSING,
			     "%s nested parameter unreadable: %s",
			     h.kvm_vendor_module, strerror(-h.nested));

	if (h.dev_kvm)
		nc_check_add(r, "dev-kvm", true, NC_CHECK_OK, "/dev/kvm present");
	else
		nc_check_add(r, "dev-kvm", true, NC_CHECK_MISSING,
			     "/dev/kvm missing or not a character device");
}

/* kvm loaded with nx_huge_pages=never: KVM starts no recovery worker. */
static bool kvm_nx_never(const char *root)
{
	char p[512], buf[16];

	snprintf(p, sizeof(p), "%s/sys/module/kvm/parameters/nx_huge_pages",
		 root ? root : "");
	return nc_read_file(p, buf, sizeof(buf)) > 0 && !strncmp(buf, "never", 5);
}

/* KVM's NX-huge-page recovery worker: can it be in the way of a dump? */
static void collect_nx_worker(struct nc_check_report *r, const char *root,
			      const struct nc_info *info)
{
	bool never = kvm_nx_never(root);

	switch (nc_nx_situation(info)) {
	case NC_NX_UNREPORTED:
		nc_check_add(r, "nx-worker", false, NC_CHECK_OK,
			     "not reported by the module (ABI below 1.4)");
		break;
	case NC_NX_KTHREAD:
		nc_check_add(r, "nx-worker", true, NC_CHECK_OK,
			     "KVM runs its NX-huge-page recovery worker as a kernel "
			     "thread, outside the VMM: nothing to do");
		break;
	case NC_NX_HANDLED:
		nc_check_add(r, "nx-worker", true, NC_CHECK_OK,
			     "present: KVM runs its NX-huge-page recovery worker inside "
			     "the VMM (kvm-nx-lpage-re); handled: the freeze stops it, KVM "
			     "starts a new one when the VMM runs again%s",
			     never ? " (none now: kvm nx_huge_pages=never)" : "");
		break;
	case NC_NX_UNHANDLED:
		if (never)
			nc_check_add(r, "nx-worker", true, NC_CHECK_OK,
				     "not started: kvm nx_huge_pages=never (this kernel's "
				     "worker could not be taken out of a VMM)");
		else
			nc_check_add(r, "nx-worker", true, NC_CHECK_MISSING,
				     "not handled: this kernel's KVM starts its NX-huge-page "
				     "recovery worker inside the VMM at VM creation, with no "
				     "guard to start it again (6.12.2 to 6.12.13), so the "
				     "module cannot take it out and dumps are refused; load "
				     "kvm with nx_huge_pages=never or use 6.12.14 or later");
		break;
	}
}

static void collect_module(struct nc_check_report *r, const char *root,
			   const char *dev_path)
{
	enum nc_abi_compat c;
	struct nc_info info;
	int fd, ret;

	snprintf(r->user_abi, sizeof(r->user_abi), "%u.%u",
		 NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR);

	fd = nc_dev_open(dev_path);
	if (fd < 0) {
		nc_check_add(r, "nestckpt-module", true, NC_CHECK_MISSING, "%s",
			     nc_dev_open_strerror(fd));
		nc_check_add(r, "abi", true, NC_CHECK_MISSING,
			     "userspace ABI %s, module ABI unknown (module not usable)",
			     r->user_abi);
		return;
	}
	ret = nc_get_info(fd, &info);
	close(fd);
	if (ret) {
		nc_check_add(r, "nestckpt-module", true, NC_CHECK_MISSING,
			     "GET_INFO failed: %s", strerror(-ret));
		nc_check_add(r, "abi", true, NC_CHECK_MISSING,
			     "userspace ABI %s, module ABI unknown (GET_INFO failed)",
			     r->user_abi);
		return;
	}

	snprintf(r->kernel_abi, sizeof(r->kernel_abi), "%u.%u",
		 info.raw.abi_major, info.raw.abi_minor);
	nc_check_add(r, "nestckpt-module", true, NC_CHECK_OK,
		     "loaded, version %s, vendor %s, ABI %s",
		     info.raw.version, nc_vendor_name(info.raw.vendor), r->kernel_abi);

	c = nc_abi_check(info.raw.abi_major, info.raw.abi_minor);
	nc_check_add(r, "abi", true, nc_abi_compat_ok(c) ? NC_CHECK_OK : NC_CHECK_MISSING,
		     "userspace ABI %s, module ABI %s: %s", r->user_abi, r->kernel_abi,
		     c == NC_ABI_MAJOR_MISMATCH ? "incompatible (major differs)" :
		     c == NC_ABI_KERNEL_OLDER_MINOR ? "compatible (older module)" :
		     c == NC_ABI_KERNEL_NEWER_MINOR ? "compatible (newer module)" :
		     "compatible");
	if (nc_abi_compat_ok(c))
		collect_nx_worker(r, root, &info);
}

static void collect_criu(struct nc_check_report *r)
{
	struct nc_version v;
	char path[512];
	int ret;

	ret = nc_criu_version(&v);
	if (ret == -ENOENT)
		nc_check_add(r, "criu", true, NC_CHECK_MISSING, "criu not found in PATH");
	else if (ret)
		nc_check_add(r, "criu", true, NC_CHECK_MISSING,
			     "cannot get the version from `criu --version`: %s",
			     strerror(-ret));
	else if (!nc_criu_version_ok(&v))
		nc_check_add(r, "criu", true, NC_CHECK_MISSING,
			     "criu %u.%u.%u is too old, %d.%d or newer required",
			     v.major, v.minor, v.patch, NC_CRIU_MIN_MAJOR, NC_CRIU_MIN_MINOR);
	else
		nc_check_add(r, "criu", true, NC_CHECK_OK, "criu %u.%u.%u (>= %d.%d)",
			     v.major, v.minor, v.patch, NC_CRIU_MIN_MAJOR, NC_CRIU_MIN_MINOR);

	if (nc_plugin_path(getenv("CRIU_LIBS_DIR"), path, sizeof(path)))
		nc_check_add(r, "criu-plugin", true, NC_CHECK_MISSING,
			     "plugin path too long");
	else if (access(path, R_OK))
		nc_check_add(r, "criu-plugin", true, NC_CHECK_MISSING,
			     "%s: %s", path, strerror(errno));
	else
		nc_check_add(r, "criu-plugin", true, NC_CHECK_OK, "%s", path);
}

void nc_check_collect(struct nc_check_report *r, const char *root,
		      const char *dev_path)
{
	memset(r, 0, sizeof(*r));
	collect_host(r, root);
	collect_module(r, root, dev_path);
	collect_criu(r);
}

int nc_check_exit_status(const struct nc_check_report *r)
{
	size_t i;

	if (!r->n)
		return 1;
	for (i = 0; i < r->n; i++)
		if (r->items[i].required && r->items[i].status != NC_CHECK_OK)
			return 1;
	return 0;
}

static const char *status_word(enum nc_check_status s)
{
	return s == NC_CHECK_OK ? "OK" : "MISSING";
}

void nc_check_print_text(FILE *f, const struct nc_check_report *r)
{
	size_t i;
	bool first = true;

	for (i = 0; i < r->n; i++)
		fprintf(f, "%-16s %-8s %s%s\n", r->items[i].name,
			status_word(r->items[i].status), r->items[i].detail,
			r->items[i].required ? "" : " (informational)");
	if (!nc_check_exit_status(r)) {
		fprintf(f, "result: OK\n");
		return;
	}
	fprintf(f, "result: MISSING:");
	for (i = 0; i < r->n; i++) {
		if (!r->items[i].required || r->items[i].status == NC_CHECK_OK)
			continue;
		fprintf(f, "%s%s", first ? " " : ", ", r->items[i].name);
		first = false;
	}
	fprintf(f, "\n");
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void nc_check_print_json(FILE *f, const struct nc_check_report *r)
{
	size_t i;

	fprintf(f, "{\"ok\":%s,\"vendor\":", nc_check_exit_status(r) ? "false" : "true");
	json_string(f, r->vendor[0] ? r->vendor : "none");
	fputs(",\"user_abi\":", f);
	json_string(f, r->user_abi);
	fputs(",\"module_abi\":", f);
	if (r->kernel_abi[0])
		json_string(f, r->kernel_abi);
	else
		fputs("null", f);
	fputs(",\"items\":[", f);
	for (i = 0; i < r->n; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_string(f, r->items[i].name);
		fprintf(f, ",\"status\":\"%s\",\"required\":%s,\"detail\":",
			status_word(r->items[i].status),
			r->items[i].required ? "true" : "false");
		json_string(f, r->items[i].detail);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

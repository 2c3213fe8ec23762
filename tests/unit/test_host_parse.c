// SPDX-License-Identifier: GPL-2.0
/* /proc/cpuinfo and kvm nested parameter parsing; host probe on a fixture tree. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "tap.h"

static const char intel_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: GenuineIntel\n"
	"model name\t: Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
	"pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx "
	"lm constant_tsc pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3\n"
	"vmx flags\t: vnmi preemption_timer invvpid ept_x_only ept_ad flexpriority\n"
	"bugs\t\t: spectre_v1 spectre_v2\n"
	"\n"
	"processor\t: 1\n"
	"flags\t\t: fpu vme de pse tsc msr vmx\n";

static const char amd_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: AuthenticAMD\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
	"lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse npt nrip_save\n";

/* QEMU TCG -cpu max: the flags line is the last line, without a newline. */
static const char tcg_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: AuthenticAMD\n"
	"flags\t\t: fpu de pse tsc msr pae svm npt";

static const char plain_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: GenuineIntel\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 hypervisor\n";

/* No "svm" word, only words that contain it. */
static const char tricky_cpuinfo[] =
	"processor\t: 0\n"
	"flags\t\t: fpu svm_lock svmx vmxon\n"
	"vmx flags\t: vnmi\n";

static void test_cpuinfo(void)
{
	is_int(nc_parse_cpuinfo_vendor(intel_cpuinfo), NESTCKPT_VENDOR_VMX, "Intel: vmx");
	is_int(nc_parse_cpuinfo_vendor(amd_cpuinfo), NESTCKPT_VENDOR_SVM, "AMD: svm");
	is_int(nc_parse_cpuinfo_vendor(tcg_cpuinfo), NESTCKPT_VENDOR_SVM,
	       "TCG, flags on the last line without newline: svm");
	is_int(nc_parse_cpuinfo_vendor(plain_cpuinfo), NESTCKPT_VENDOR_NONE,
	       "no virtualisation: none");
	is_int(nc_parse_cpuinfo_vendor(tricky_cpuinfo), NESTCKPT_VENDOR_NONE,
	       "svm_lock/svmx/vmxon and a 'vmx flags' line are not vmx/svm");
	is_int(nc_parse_cpuinfo_vendor(""), NESTCKPT_VENDOR_NONE, "empty: none");
}

static void test_nested(void)
{
	is_int(nc_parse_nested_param("Y\n"), 1, "kvm_intel Y");
	is_int(nc_parse_nested_param("N\n"), 0, "kvm_intel N");
	is_int(nc_parse_nested_param("1\n"), 1, "kvm_amd 1");
	is_int(nc_parse_nested_param("0\n"), 0, "kvm_amd 0");
	is_int(nc_parse_nested_param("1"), 1, "1 without newline");
	is_int(nc_parse_nested_param(""), -EINVAL, "empty rejected");
	is_int(nc_parse_nested_param("2\n"), -EINVAL, "2 rejected");
	is_int(nc_parse_nested_param("YES\n"), -EINVAL, "YES rejected");
}

static int put(const char *root, const char *rel, const char *text)
{
	char path[512], tmp[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	/* mkdir -p of the parent */
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (slash = tmp + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		mkdir(tmp, 0755);
		*slash = '/';
	}
	if (!text)
		return mkdir(path, 0755);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_probe(void)
{
	char root[] = "/tmp/nc-unit-host-XXXXXX";
	char cmd[600];
	struct nc_host h;

	if (!ok(mkdtemp(root) != NULL, "fixture root"))
		return;

	/* AMD host, kvm + kvm_amd nested=1, no /dev/kvm. */
	put(root, "/proc/cpuinfo", amd_cpuinfo);
	put(root, "/sys/module/kvm", NULL);
	put(root, "/sys/module/kvm_amd/parameters/nested", "1\n");
	is_int(nc_probe_host(root, &h), 0, "probe AMD fixture");
	is_int(h.cpu_vendor, NESTCKPT_VENDOR_SVM, "AMD fixture: svm");
	ok(h.kvm_loaded, "AMD fixture: kvm loaded");
	is_str(h.kvm_vendor_module, "kvm_amd", "AMD fixture: kvm_amd");
	ok(h.kvm_vendor_loaded, "AMD fixture: kvm_amd loaded");
	is_int(h.nested, 1, "AMD fixture: nested 1");
	ok(!h.dev_kvm, "AMD fixture: no /dev/kvm");
	ok(h.kernel_release[0] != '\0', "kernel release filled");

	/* /dev/kvm as a regular file is not a device. */
	put(root, "/dev/kvm", "");
	nc_probe_host(root, &h);
	ok(!h.dev_kvm, "regular file /dev/kvm is not accepted");
	if (geteuid() == 0) {
		char p[512];

		snprintf(p, sizeof(p), "%s/dev/kvm", root);
		unlink(p);
		ok(mknod(p, S_IFCHR | 0600, makedev(10, 232)) == 0, "mknod fixture /dev/kvm");
		nc_probe_host(root, &h);
		ok(h.dev_kvm, "char device /dev/kvm accepted");
	} else {
		ok(1, "# SKIP mknod needs root");
		ok(1, "# SKIP mknod needs root");
	}

	/* Intel host, kvm_intel loaded with nested=N. */
	put(root, "/proc/cpuinfo", intel_cpuinfo);
	put(root, "/sys/module/kvm_intel/parameters/nested", "N\n");
	nc_probe_host(root, &h);
	is_int(h.cpu_vendor, NESTCKPT_VENDOR_VMX, "Intel fixture: vmx");
	is_str(h.kvm_vendor_module, "kvm_intel", "Intel fixture: kvm_intel");
	is_int(h.nested, 0, "Intel fixture: nested N");

	/* Vendor module missing. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/sys/module/kvm_intel'", root);
	ok(system(cmd) == 0, "remove kvm_intel fixture");
	nc_probe_host(root, &h);
	ok(!h.kvm_vendor_loaded, "kvm_intel absent");
	is_int(h.nested, -ENOENT, "nested unknown: ENOENT");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ok(system(cmd) == 0, "remove fixture root");
}

int main(void)
{
	test_cpuinfo();
	test_nested();
	test_probe();
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/* inspect (text, JSON) and diff on the decoded fixture images. */
#include "image_fixtures.h"
#include "tap.h"

/* Decode an encoded fixture (so the component table is there). */
static void decoded(const char *dir, struct nc_image *out)
{
	struct nc_image img;
	struct nc_err err;
	uint8_t *buf;
	size_t len;

	fixture_load(dir, &img);
	len = fixture_encode(&img, NULL, 0, &buf);
	if (nc_image_decode(buf, len, out, &err)) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
	free(buf);
	nc_image_free(&img);
}

static char *render(const struct nc_image *img, int json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (json)
		nc_image_print_json(f, img);
	else
		nc_image_print_text(f, img);
	fclose(f);
	return text;
}

static int balanced(const char *s)
{
	int depth = 0, in_str = 0;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = 0;
		} else if (*s == '"') {
			in_str = 1;
		} else if (*s == '{') {
			depth++;
		} else if (*s == '}' && --depth < 0) {
			return 0;
		}
	}
	return depth == 0 && !in_str;
}

int main(void)
{
	struct nc_image svm, vmx, svm2;
	char *t;
	FILE *devnull = fopen("/dev/null", "w");

	decoded(FIXTURE_SVM, &svm);
	decoded(FIXTURE_VMX, &vmx);

	t = render(&svm, 0);
	has_str(t, "format: 1.0\n", "text: format version");
	has_str(t, "components.vm0/vcpu0: vcpu at ", "text: component list with offsets");
	has_str(t, "vm0.vcpu0.mode: L2 (guest mode)\n", "text: vcpu0 runs L2");
	has_str(t, "vm0.vcpu1.mode: L1 with SVM enabled\n", "text: vcpu1 is an L1");
	has_str(t, "vm0.vcpu0.nested.flags: guest_mode gif\n", "text: nested flags decoded");
	has_str(t, "vm0.vcpu0.nested.svm.vmcb12_pa: 0x581000\n", "text: vmcb12 address");
	has_str(t, "vm0.vcpu0.nested.svm.vmcb12.exit_code: 0x81\n", "text: VMCB12 exit code");
	has_str(t, "caps.vendor: svm\n", "text: capabilities");
	free(t);

	t = render(&vmx, 0);
	has_str(t, "vm0.vcpu0.nested.flags: guest_mode run_pending\n", "text: VMX flags");
	has_str(t, "vm0.vcpu0.nested.vmx.vmcs12_pa: 0x581000\n", "text: current VMCS pointer");
	has_str(t, "vm0.vcpu0.nested.vmx.vmcs12.revision: 0x11e57ed0\n", "text: vmcs12 revision");
	has_str(t, "vm0.vcpu0.nested.vmx.vmcs12.vm_exit_reason: 0x12\n", "text: vmcs12 exit reason");
	has_str(t, "vm0.vcpu1.mode: L1 in VMX operation\n", "text: vcpu1 in VMX operation");
	free(t);

	t = render(&vmx, 1);
	ok(t[0] == '{' && balanced(t), "json: one balanced object");
	has_str(t, "\"vm0\":{\"vcpus\":\"2\"", "json: nested objects per VM");
	has_str(t, "\"vmcs12\":{\"revision\":\"0x11e57ed0\"", "json: vmcs12 object");
	free(t);

	is_int(nc_image_diff(devnull, &svm, &svm), 0, "diff: an image against itself");
	decoded(FIXTURE_SVM, &svm2);
	svm2.vms[0].vcpus[0].regs.rip += 1;
	svm2.vms[0].vcpus[1].tsc_khz = 1000;
	{
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		int n = nc_image_diff(f, &svm, &svm2);

		fclose(f);
		/* L2's RIP is also the VMCB12 save area's RIP (clean form) */
		is_int(n, 3, "diff: two changed values, one shown twice");
		has_str(out, "~ vm0.vcpu0.nested.svm.vmcb12.save.rip: 0x405343 -> 0x405344",
			"diff: the VMCB12 save area follows L2's RIP");
		has_str(out, "~ vm0.vcpu0.rip: 0x405343 -> 0x405344", "diff: names the key and both values");
		has_str(out, "~ vm0.vcpu1.tsc_khz: ", "diff: second change");
		free(out);
	}
	ok(nc_image_diff(devnull, &svm, &vmx) > 10, "diff: SVM vs VMX images differ widely");
	nc_image_free(&svm2);
	nc_image_free(&svm);
	nc_image_free(&vmx);
	fclose(devnull);
	return tap_done();
}

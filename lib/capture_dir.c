// SPDX-License-Identifier: GPL-2.0
/*
 * Load a `nestvmm --capture DIR` directory (tests/vmm/README.md) into the
 * image model: the raw uapi structs KVM returned, one file per item. This
 * is how the test bed's real KVM state becomes images and fixtures; the
 * CRIU plugin fills the same model from the module instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libnestckpt.h"

#define MAX_ITEM_SIZE	(1u << 20)

/* Read DIR/SUB/NAME.bin whole; -ENOENT when absent. */
static int read_item(const char *dir, const char *sub, const char *name,
		     void **buf, size_t *len)
{
	char path[4096];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s.bin", dir, sub, name);
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > MAX_ITEM_SIZE ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EFBIG;
	}
	*buf = malloc(n ? n : 1);
	if (!*buf || fread(*buf, 1, n, f) != (size_t)n) {
		free(*buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*len = n;
	return 0;
}

/* A fixed-size item: present only with exactly @size bytes. */
static int fixed_item(const char *dir, const char *sub, const char *name,
		      void *dst, size_t size, struct nc_err *err)
{
	void *buf;
	size_t len;
	int rc = read_item(dir, sub, name, &buf, &len);

	if (rc)
		return rc;
	if (len != size) {
		free(buf);
		return nc_errf(err, -EINVAL, "%s/%s/%s.bin: %zu bytes, expected %zu",
				dir, sub, name, len, size);
	}
	memcpy(dst, buf, size);
	free(buf);
	return 0;
}

/* A variable-size item whose header counts its entries. */
static int counted_item(const char *dir, const char *sub, const char *name,
			size_t hdr, size_t entry, void **out, struct nc_err *err)
{
	size_t len;
	int rc = read_item(dir, sub, name, out, &len);
	uint32_t n;

	if (rc)
		return rc;
	memcpy(&n, *out, len >= 4 ? 4 : 0);
	if (len < hdr || (len - hdr) / entry < n) {
		free(*out);
		*out = NULL;
		return nc_errf(err, -EINVAL, "%s/%s/%s.bin: %zu bytes do not hold "
				"its entries", dir, sub, name, len);
	}
	return 0;
}

/* An absent optional item is no error. */
static int optional(int rc)
{
	return rc == -ENOENT ? 0 : rc;
}

static int load_vcpu(const char *dir, const char *sub, uint32_t id,
		     struct nc_vcpu_state *v, struct nc_err *err)
{
	static const struct {
		const char *name;
		size_t off, size;
		uint32_t bit;
	} fixed[] = {
#define ITEM(n, f, b) { n, offsetof(struct nc_vcpu_state, f), \
			sizeof(((struct nc_vcpu_state *)0)->f), b }
		ITEM("regs", regs, NC_VCPU_REGS),
		ITEM("sregs", sregs, NC_VCPU_SREGS),
		ITEM("xcrs", xcrs, NC_VCPU_XCRS),
		ITEM("lapic", lapic, NC_VCPU_LAPIC),
		ITEM("events", events, NC_VCPU_EVENTS),
		ITEM("debugregs", debugregs, NC_VCPU_DEBUGREGS),
		ITEM("mp_state", mp_state, NC_VCPU_MP_STATE),
		ITEM("tsc_khz", tsc_khz, NC_VCPU_TSC_KHZ),
#undef ITEM
	};
	size_t i, len;
	void *buf;
	int rc;

	memset(v, 0, sizeof(*v));
	v->id = id;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		rc = fixed_item(dir, sub, fixed[i].name, (char *)v + fixed[i].off,
				fixed[i].size, err);
		if (!rc)
			v->have |= fixed[i].bit;
		else if (rc != -ENOENT)
			return rc == -EINVAL ? rc : nc_errf(err, rc, "%s/%s/%s.bin: %s",
				dir, sub, fixed[i].name, strerror(-rc));
	}
	rc = optional(counted_item(dir, sub, "msrs", sizeof(struct kvm_msrs),
				   sizeof(struct kvm_msr_entry), (void **)&v->msrs, err));
	if (!rc)
		rc = optional(counted_item(dir, sub, "cpuid", sizeof(struct kvm_cpuid2),
					   sizeof(struct kvm_cpuid_entry2),
					   (void **)&v->cpuid, err));
	if (rc)
		return rc;
	rc = read_item(dir, sub, "xsave", &buf, &len);
	if (!rc) {
		v->xsave = buf;
		v->xsave_size = len;
	}
	rc = read_item(dir, sub, "nested", &buf, &len);
	if (!rc) {
		v->nested = buf;
		if (len < 128 || v->nested->size != len)
			return nc_errf(err, -EINVAL, "%s/%s/nested.bin: %zu bytes, "
					"its header says %u", dir, sub, len,
					len >= 8 ? v->nested->size : 0);
	}
	return 0;
}

static int load_vm(const char *dir, struct nc_vm_state *vm, struct nc_err *err)
{
	static const char *const chips[] = { "pic_master", "pic_slave", "ioapic" };
	int i, rc, have_chips = 0;

	rc = fixed_item(dir, "vm", "clock", &vm->clock, sizeof(vm->clock), err);
	if (!rc)
		vm->have |= NC_VM_CLOCK;
	else if (rc != -ENOENT)
		return rc;
	for (i = 0; i < 3; i++) {
		rc = fixed_item(dir, "vm", chips[i], &vm->chip[i],
				sizeof(vm->chip[i]), err);
		if (!rc)
			have_chips++;
		else if (rc != -ENOENT)
			return rc;
	}
	if (have_chips == 3)
		vm->have |= NC_VM_IRQCHIP;
	rc = fixed_item(dir, "vm", "pit2", &vm->pit2, sizeof(vm->pit2), err);
	if (!rc)
		vm->have |= NC_VM_PIT2;
	return optional(rc);
}

int nc_capture_load(const char *dir, struct nc_image *img, struct nc_err *err)
{
	struct nc_vm_state *vm;
	struct stat st;
	char sub[32], path[4096];
	uint32_t n = 0, i;
	int rc;

	memset(img, 0, sizeof(*img));
	snprintf(path, sizeof(path), "%s/done", dir);
	if (stat(path, &st))
		return nc_errf(err, -ENOENT, "%s: not a finished capture (no done "
				"file)", dir);
	for (;; n++) {
		snprintf(path, sizeof(path), "%s/vcpu%u", dir, n);
		if (stat(path, &st) || !S_ISDIR(st.st_mode))
			break;
	}
	img->vms = calloc(1, sizeof(*img->vms));
	if (!img->vms)
		return nc_errf(err, -ENOMEM, "out of memory");
	img->n_vms = 1;
	vm = &img->vms[0];
	vm->vcpus = calloc(n ? n : 1, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return nc_errf(err, -ENOMEM, "out of memory");
	rc = load_vm(dir, vm, err);
	for (i = 0; !rc && i < n; i++) {
		snprintf(sub, sizeof(sub), "vcpu%u", i);
		rc = load_vcpu(dir, sub, i, &vm->vcpus[i], err);
		vm->n_vcpus = i + 1;
	}
	if (rc) {
		nc_image_free(img);
		return rc;
	}
	img->format_major = NC_IMAGE_FORMAT_MAJOR;
	img->format_minor = NC_IMAGE_FORMAT_MINOR;
	nc_image_record_caps(img);
	/* What the capturing host's KVM offered (nestvmm writes it for SVM). */
	rc = fixed_item(dir, "vm", "svm_cpuid", &img->caps.src_svm_leaf,
			sizeof(img->caps.src_svm_leaf), err);
	img->caps.have_src_svm_leaf = !rc;
	if (rc && rc != -ENOENT) {
		nc_image_free(img);
		return rc;
	}
	snprintf(img->note, sizeof(img->note), "made from nestvmm capture %s", dir);
	return 0;
}

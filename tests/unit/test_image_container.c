// SPDX-License-Identifier: GPL-2.0
/*
 * The image container on the fixtures of both vendors: a capture survives
 * encode/decode unchanged; truncated, bit-flipped and wrong-version images
 * fail with an error naming the component and offset; an unknown optional
 * component is skipped and the rest restores; an unknown must-understand
 * component is refused by name.
 */
#include "image_fixtures.h"
#include <unistd.h>
#include "image.pb-c.h"
#include "tap.h"

static int vcpu_same(const struct nc_vcpu_state *a, const struct nc_vcpu_state *b)
{
	return a->id == b->id && a->have == b->have &&
	       !memcmp(&a->regs, &b->regs, sizeof(a->regs)) &&
	       !memcmp(&a->sregs, &b->sregs, sizeof(a->sregs)) &&
	       a->xsave_size == b->xsave_size &&
	       !memcmp(a->xsave, b->xsave, a->xsave_size) &&
	       a->xcrs.nr_xcrs == b->xcrs.nr_xcrs &&
	       !memcmp(a->xcrs.xcrs, b->xcrs.xcrs, sizeof(a->xcrs.xcrs)) &&
	       a->msrs->nmsrs == b->msrs->nmsrs &&
	       !memcmp(a->msrs->entries, b->msrs->entries,
		       a->msrs->nmsrs * sizeof(a->msrs->entries[0])) &&
	       !memcmp(&a->lapic, &b->lapic, sizeof(a->lapic)) &&
	       !memcmp(&a->events, &b->events, sizeof(a->events)) &&
	       !memcmp(&a->debugregs, &b->debugregs, sizeof(a->debugregs)) &&
	       a->mp_state.mp_state == b->mp_state.mp_state &&
	       a->cpuid->nent == b->cpuid->nent &&
	       !memcmp(a->cpuid->entries, b->cpuid->entries,
		       a->cpuid->nent * sizeof(a->cpuid->entries[0])) &&
	       a->tsc_khz == b->tsc_khz &&
	       a->nested->size == b->nested->size &&
	       !memcmp(a->nested, b->nested, a->nested->size);
}

static int image_same(const struct nc_image *a, const struct nc_image *b)
{
	const struct nc_vm_state *x = &a->vms[0], *y = &b->vms[0];
	uint32_t i;

	if (a->n_vms != 1 || b->n_vms != 1 || x->n_vcpus != y->n_vcpus ||
	    x->have != y->have || memcmp(&x->clock, &y->clock, sizeof(x->clock)) ||
	    memcmp(&x->chip[0].chip.pic, &y->chip[0].chip.pic, sizeof(struct kvm_pic_state)) ||
	    memcmp(&x->chip[1].chip.pic, &y->chip[1].chip.pic, sizeof(struct kvm_pic_state)) ||
	    memcmp(&x->chip[2].chip.ioapic, &y->chip[2].chip.ioapic,
		   sizeof(struct kvm_ioapic_state)) ||
	    memcmp(&x->pit2, &y->pit2, sizeof(x->pit2)) ||
	    memcmp(&a->caps, &b->caps, sizeof(a->caps)))
		return 0;
	for (i = 0; i < x->n_vcpus; i++)
		if (!vcpu_same(&x->vcpus[i], &y->vcpus[i]))
			return 0;
	return 1;
}

static void roundtrip(const char *dir, const char *vendor)
{
	struct nc_image orig, back;
	struct nc_err err = { "" };
	char name[128];
	uint8_t *buf;
	size_t len;
	int rc;

	fixture_load(dir, &orig);
	len = fixture_encode(&orig, NULL, 0, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	snprintf(name, sizeof(name), "%s: fixture image decodes (%zu bytes)", vendor, len);
	is_int(rc, 0, name);
	if (rc)
		printf("#   %s\n", err.msg);
	snprintf(name, sizeof(name), "%s: decoded state equals the captured state "
		 "(every item, nested blob byte for byte)", vendor);
	ok(!rc && image_same(&orig, &back), name);
	snprintf(name, sizeof(name), "%s: 2 vCPUs, 5 components", vendor);
	ok(!rc && back.vms[0].n_vcpus == 2 && back.n_components == 5, name);
	is_str(nc_vendor_name(back.vendor), vendor, "vendor recorded in the header");
	nc_image_free(&back);
	nc_image_free(&orig);
	free(buf);
}

/* decode must fail and its message contain every @want (NULL-terminated). */
static void expect_error(const uint8_t *buf, size_t len, const char *what,
			 const char *const *want)
{
	struct nc_image img;
	struct nc_err err = { "" };
	int rc = nc_image_decode(buf, len, &img, &err), good = rc < 0;

	for (; good && *want; want++)
		good = strstr(err.msg, *want) != NULL;
	if (!ok(good, what))
		printf("#   rc %d: %s\n", rc, err.msg);
	if (!rc)
		nc_image_free(&img);
}

static void corruption(void)
{
	struct nc_image img;
	struct nc_err err = { "" };
	uint8_t *buf, *copy;
	size_t len, cut, pos, bad = 0, unnamed = 0, tried = 0;

	fixture_load(FIXTURE_VMX, &img);
	len = fixture_encode(&img, NULL, 0, &buf);
	nc_image_free(&img);
	copy = malloc(len);

	/* Every cut point: an error that names a place and says truncated. */
	for (cut = 0; cut < len; cut += 7) {
		struct nc_image t;
		int rc = nc_image_decode(buf, cut, &t, &err);

		tried++;
		if (!rc) {
			bad++;
			nc_image_free(&t);
		} else if (!strstr(err.msg, "truncated") || !strstr(err.msg, "offset")) {
			unnamed++;
			if (unnamed < 3)
				printf("#   cut at %zu: %s\n", cut, err.msg);
		}
	}
	ok(!bad && !unnamed, "every truncation is refused as 'truncated' with an offset");
	printf("#   %zu cut points tried\n", tried);
	{
		const char *w[] = { "component 'vm0/vcpu1' (vcpu) at offset", "truncated", NULL };
		expect_error(buf, len - 100, "truncated last vCPU is named with its offset", w);
	}
	{
		const char *w[] = { "preamble at offset 0: truncated", NULL };
		expect_error(buf, 10, "a 10-byte file: preamble truncated", w);
	}

	/* Bit flips anywhere: refused, and the message names where. */
	bad = unnamed = tried = 0;
	for (pos = 0; pos < len; pos += 11) {
		struct nc_image t;
		int rc;

		memcpy(copy, buf, len);
		copy[pos] ^= 1u << (pos % 8);
		rc = nc_image_decode(copy, len, &t, &err);
		tried++;
		if (!rc) {
			bad++;
			nc_image_free(&t);
		} else if (!strstr(err.msg, "offset")) {
			unnamed++;
		}
	}
	ok(!bad && !unnamed, "every bit flip is refused with an offset in the message");
	printf("#   %zu bit flips tried\n", tried);
	{
		const char *w[] = { "component 'vm0/vcpu0' (vcpu) at offset",
				    "checksum mismatch", NULL };
		memcpy(copy, buf, len);
		copy[len / 2 - 3000] ^= 0x40;	/* inside vcpu0's component */
		expect_error(copy, len, "bit flip in vcpu0 names vm0/vcpu0 and its offset", w);
	}
	{
		const char *w[] = { "not a nestckpt image", "offset 0", NULL };
		memcpy(copy, buf, len);
		copy[0] = 'X';
		expect_error(copy, len, "bad magic is named", w);
	}
	{
		const char *w[] = { "preamble at offset 8", "format version 2.0 is not supported",
				    NULL };
		memcpy(copy, buf, len);
		copy[8] = 2;
		expect_error(copy, len, "wrong format version is named with offset 8", w);
	}
	{
		const char *w[] = { "header at offset 24: checksum mismatch", NULL };
		memcpy(copy, buf, len);
		copy[30] ^= 0x10;
		expect_error(copy, len, "flip in the header: header checksum", w);
	}
	free(copy);
	free(buf);
}

static void unknown_components(void)
{
	static const char payload[] = "from a newer nestckpt";
	struct nc_extra_component opt = {
		.kind = 77, .name = "future-optional", .must_understand = false,
		.data = payload, .len = sizeof(payload),
	}, must = {
		.kind = 78, .name = "future-required", .must_understand = true,
		.data = payload, .len = sizeof(payload),
	};
	struct nc_image orig, back;
	struct nc_err err = { "" };
	uint8_t *buf;
	size_t len;
	int rc;

	fixture_load(FIXTURE_SVM, &orig);
	len = fixture_encode(&orig, &opt, 1, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	is_int(rc, 0, "image with an unknown optional component decodes");
	ok(!rc && image_same(&orig, &back),
	   "... and everything else restores exactly as captured");
	ok(!rc && back.n_skipped == 1 && strstr(back.skipped[0], "future-optional"),
	   "... the skipped component is reported by name");
	if (!rc)
		nc_image_free(&back);
	free(buf);

	len = fixture_encode(&orig, &must, 1, &buf);
	{
		const char *w[] = { "component 'future-required' (kind 78)",
				    "unknown must-understand component", "at offset", NULL };
		expect_error(buf, len, "unknown must-understand component is refused by name", w);
	}
	free(buf);
	nc_image_free(&orig);
}

static void file_roundtrip(void)
{
	char dir[] = "/tmp/nc-image-test.XXXXXX", path[256], found[256];
	struct nc_image orig, back;
	struct nc_err err = { "" };

	fixture_load(FIXTURE_VMX, &orig);
	ok(mkdtemp(dir) != NULL, "temporary directory");
	snprintf(path, sizeof(path), "%s/%s7.img", dir, NC_IMAGE_FILE_PREFIX);
	is_int(nc_image_write_file(path, &orig, &err), 0, "write the image file");
	is_int(nc_image_find(dir, found, sizeof(found), &err), 0, "find it in the directory");
	is_str(found, path, "found the file written");
	is_int(nc_image_read_file(found, &back, &err), 0, "read it back");
	ok(image_same(&orig, &back), "file round trip keeps everything");
	nc_image_free(&back);
	nc_image_free(&orig);
	unlink(path);
	rmdir(dir);
}

/*
 * What a newer writer would produce, made by editing a file this version
 * wrote: a component appended after the others and listed in the header
 * table (whose growth shifts every offset), checksums resealed.
 */
static uint8_t *append_component(const uint8_t *buf, size_t len, uint32_t kind,
				 const char *name, bool must, size_t *out_len)
{
	static const char payload[] = "state a newer nestckpt keeps";
	uint32_t hlen = buf[16] | buf[17] << 8 | buf[18] << 16 | (uint32_t)buf[19] << 24;
	NcImageHeader *hdr = nc_image_header__unpack(NULL, hlen, buf + 24);
	NcComponentDesc extra = NC_COMPONENT_DESC__INIT, **descs;
	uint64_t *orig;
	size_t i, n = hdr->n_components, nhlen, body = len - 24 - hlen;
	uint8_t *out;

	NcComponentDesc **own = hdr->components;

	descs = calloc(n + 1, sizeof(*descs));
	memcpy(descs, own, n * sizeof(*descs));
	extra.kind = kind;
	extra.name = (char *)name;
	extra.must_understand = must;
	extra.length = sizeof(payload);
	extra.crc32c = nc_crc32c(0, payload, sizeof(payload));
	descs[n] = &extra;
	hdr->components = descs;
	hdr->n_components = n + 1;
	/* offsets move by the header's growth, which depends on the offsets */
	orig = calloc(n + 1, sizeof(*orig));
	for (i = 0; i < n; i++)
		orig[i] = descs[i]->offset;
	nhlen = hlen;
	for (int pass = 0; pass < 4; pass++) {
		size_t want = nhlen;

		for (i = 0; i < n; i++)
			descs[i]->offset = orig[i] - hlen + want;
		extra.offset = 24 + want + body;
		nhlen = nc_image_header__get_packed_size(hdr);
		if (nhlen == want)
			break;
	}
	free(orig);
	*out_len = 24 + nhlen + body + sizeof(payload);
	out = calloc(1, *out_len);
	memcpy(out, buf, 24);
	out[16] = nhlen;
	out[17] = nhlen >> 8;
	out[18] = nhlen >> 16;
	out[19] = nhlen >> 24;
	nc_image_header__pack(hdr, out + 24);
	memcpy(out + 24 + nhlen, buf + 24 + hlen, body);
	memcpy(out + 24 + nhlen + body, payload, sizeof(payload));
	hdr->components = own;	/* protobuf-c frees its own array */
	hdr->n_components = n;
	free(descs);
	nc_image_header__free_unpacked(hdr, NULL);
	nc_image_reseal(out, *out_len);
	return out;
}

static void edited_file(void)
{
	struct nc_image orig, back;
	struct nc_err err = { "" };
	uint8_t *buf, *edited;
	size_t len, elen;
	int rc;

	fixture_load(FIXTURE_VMX, &orig);
	len = fixture_encode(&orig, NULL, 0, &buf);
	edited = append_component(buf, len, 90, "vm0/vcpu0/future-extra", false, &elen);
	rc = nc_image_decode(edited, elen, &back, &err);
	is_int(rc, 0, "edited file with an unknown optional component decodes");
	if (rc)
		printf("#   %s\n", err.msg);
	ok(!rc && image_same(&orig, &back) && back.n_skipped == 1 &&
	   strstr(back.skipped[0], "future-extra (kind 90)"),
	   "... restores exactly as captured, reporting the skipped component");
	if (!rc)
		nc_image_free(&back);
	free(edited);
	edited = append_component(buf, len, 91, "vm0/future-required", true, &elen);
	{
		const char *w[] = { "component 'vm0/future-required' (kind 91) at offset",
				    "unknown must-understand component", NULL };
		expect_error(edited, elen, "edited file with an unknown must-understand "
			     "component is refused by name", w);
	}
	free(edited);
	free(buf);
	nc_image_free(&orig);
}

/* VM-wide lists no ioctl returns (the module supplies them): all kinds. */
static void vm_lists(void)
{
	/* static: zeroed padding, so whole structs compare */
	static struct kvm_userspace_memory_region slots[2] = {
		{ 0, 0, 0, 0x200000, 0x7f0000000000 },
		{ 1, KVM_MEM_LOG_DIRTY_PAGES, 0x100000000, 0x40000000, 0x7f1000000000 },
	};
	static struct nc_irqfd_binding irqfds[2] = { { 12, 5, 0, -1 },
		{ 13, 11, KVM_IRQFD_FLAG_RESAMPLE, 14 } };
	static struct nc_ioeventfd_binding ioev[1] = { { 20, 0xcf8, 4, 0x80000000, KVM_IOEVENTFD_FLAG_DATAMATCH } };
	static struct kvm_irq_routing_entry routes[3];
	static struct kvm_coalesced_mmio_zone zones[2] = { { 0xfee00000, 0x1000, { 0 } },
		{ 0x3f8, 8, { 1 } } };
	static struct kvm_enable_cap caps[1] = { { KVM_CAP_SPLIT_IRQCHIP, 0, { 24, 0, 0, 0 }, { 0 } } };
	struct nc_vcpu_state vcpu = { .id = 3, .have = NC_VCPU_MP_STATE,
				      .mp_state = { KVM_MP_STATE_HALTED } };
	struct nc_vm_state vm = { 0 };
	struct nc_image img = { 0 }, back;
	struct nc_err err = { "" };
	const struct nc_vm_state *b;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(routes, 0, sizeof(routes));
	routes[0].gsi = 4;
	routes[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	routes[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	routes[0].u.irqchip.pin = 4;
	routes[1].gsi = 24;
	routes[1].type = KVM_IRQ_ROUTING_MSI;
	routes[1].flags = KVM_MSI_VALID_DEVID;
	routes[1].u.msi.address_lo = 0xfee00000;
	routes[1].u.msi.data = 0x4041;
	routes[1].u.msi.devid = 0x18;
	routes[2].gsi = 30;
	routes[2].type = KVM_IRQ_ROUTING_HV_SINT;
	routes[2].u.hv_sint.vcpu = 1;
	routes[2].u.hv_sint.sint = 2;
	vm.memslots = slots;
	vm.n_memslots = 2;
	vm.irqfds = irqfds;
	vm.n_irqfds = 2;
	vm.ioeventfds = ioev;
	vm.n_ioeventfds = 1;
	vm.routes = routes;
	vm.n_routes = 3;
	vm.coalesced = zones;
	vm.n_coalesced = 2;
	vm.enabled_caps = caps;
	vm.n_enabled_caps = 1;
	vm.vcpus = &vcpu;
	vm.n_vcpus = 1;
	img.vms = &vm;
	img.n_vms = 1;
	nc_image_record_caps(&img);
	len = fixture_encode(&img, NULL, 0, &buf);
	rc = nc_image_decode(buf, len, &back, &err);
	is_int(rc, 0, "a VM with every kind of binding decodes");
	if (rc) {
		printf("#   %s\n", err.msg);
		free(buf);
		return;
	}
	b = &back.vms[0];
	ok(b->n_memslots == 2 && !memcmp(b->memslots, slots, sizeof(slots)), "memslots");
	ok(b->n_irqfds == 2 && !memcmp(b->irqfds, irqfds, sizeof(irqfds)),
	   "irqfds, with and without a resample fd");
	ok(b->n_ioeventfds == 1 && !memcmp(b->ioeventfds, ioev, sizeof(ioev)), "ioeventfds");
	ok(b->n_routes == 3 && !memcmp(b->routes, routes, sizeof(routes)),
	   "GSI routes: IOAPIC pin, MSI with devid, and a kind kept raw");
	ok(b->n_coalesced == 2 && !memcmp(b->coalesced, zones, sizeof(zones)),
	   "coalesced MMIO and PIO zones");
	ok(b->n_enabled_caps == 1 && !memcmp(b->enabled_caps, caps, sizeof(caps)),
	   "enabled capabilities with their arguments");
	ok(b->n_vcpus == 1 && b->vcpus[0].id == 3 &&
	   b->vcpus[0].mp_state.mp_state == KVM_MP_STATE_HALTED, "a vCPU with only an MP state");
	{
		uint32_t i, seen = 0;

		for (i = 0; i < back.caps.n_kvm_caps; i++)
			seen |= (back.caps.kvm_caps[i] == KVM_CAP_SPLIT_IRQCHIP) << 0 |
				(back.caps.kvm_caps[i] == KVM_CAP_IRQFD_RESAMPLE) << 1 |
				(back.caps.kvm_caps[i] == KVM_CAP_COALESCED_PIO) << 2 |
				(back.caps.kvm_caps[i] == KVM_CAP_IRQ_ROUTING) << 3;
		is_int(seen, 15, "the KVM capabilities these rely on are recorded");
	}
	nc_image_free(&back);
	free(buf);
}

/* The fuzzer's first finding: empty lists reached memcpy(dst, NULL, 0). */
static void empty_image(void)
{
	struct nc_image img = { 0 }, back;
	struct nc_err err = { "" };
	uint8_t *buf;
	size_t len = fixture_encode(&img, NULL, 0, &buf);
	int rc = nc_image_decode(buf, len, &back, &err);

	ok(!rc && back.n_vms == 0 && back.caps.n_kvm_caps == 0,
	   "an image with no VM and empty capabilities decodes");
	if (!rc)
		nc_image_free(&back);
	free(buf);
}

int main(void)
{
	roundtrip(FIXTURE_SVM, "svm");
	roundtrip(FIXTURE_VMX, "vmx");
	corruption();
	unknown_components();
	file_roundtrip();
	edited_file();
	vm_lists();
	empty_image();
	return tap_done();
}

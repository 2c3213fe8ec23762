// SPDX-License-Identifier: GPL-2.0
/*
 * nestckptctl inspect/diff: an image as an ordered list of "dotted.key value"
 * pairs (the one place that decides what is shown), rendered as text lines
 * or as nested JSON, and compared pair by pair for diff.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"
#include "inspect.h"

#define EFER_SVME	(1ull << 12)

struct kv_list {
	struct nc_kv *v;
	size_t n, cap;
};

static void kv(struct kv_list *l, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv(struct kv_list *l, const char *value, const char *fmt, ...)
{
	va_list ap;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct nc_kv *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return;
		l->v = nv;
		l->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(l->v[l->n].key, sizeof(l->v[0].key), fmt, ap);
	va_end(ap);
	snprintf(l->v[l->n].value, sizeof(l->v[0].value), "%s", value);
	l->n++;
}

/* A number as text; a few rotating buffers so several fit in one call. */
static const char *num(const char *fmt, uint64_t v)
{
	static __thread char buf[4][24];
	static __thread int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), fmt, v);
	return buf[i];
}

#define hex(v) num("0x%" PRIx64, (v))
#define dec(v) num("%" PRIu64, (v))

static const char *nested_flags_str(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", f & KVM_STATE_NESTED_GUEST_MODE ? "guest_mode " : "",
		 f & KVM_STATE_NESTED_RUN_PENDING ? "run_pending " : "",
		 f & KVM_STATE_NESTED_EVMCS ? "evmcs " : "",
		 f & KVM_STATE_NESTED_MTF_PENDING ? "mtf_pending " : "",
		 f & KVM_STATE_NESTED_GIF_SET ? "gif " : "");
	if (buf[0])
		buf[strlen(buf) - 1] = 0;
	else
		snprintf(buf, len, "none");
	return buf;
}

/* The vmcs12 fields worth a line of their own (SDM encodings). */
static const uint32_t key_vmcs12_fields[] = {
	0x681e, 0x681c, 0x6820, 0x6800, 0x6802, 0x6804, 0x2806, 0x0802,
	0x4402, 0x6400, 0x4404, 0x4016, 0x4000, 0x4002, 0x401e, 0x400c,
	0x4012, 0x201a, 0x2800, 0x0000, 0x6c16, 0x6c14, 0x6c00, 0x6c02, 0x6c04,
};

static void flatten_vmcs12(struct kv_list *l, const char *pfx, const char *name,
			   const struct kvm_nested_state *ns, int page)
{
	const uint8_t *p = (const uint8_t *)ns + 128 + page * NC_VMCS12_PAGE;
	struct nc_vmcs12 *v = malloc(sizeof(*v));
	struct nc_why why;
	uint64_t val;
	size_t i;

	if (!v)
		return;
	if (nc_vmcs12_from_kvm(p, NC_VMCS12_PAGE, v, &why)) {
		kv(l, why.msg, "%s.%s.error", pfx, name);
		free(v);
		return;
	}
	kv(l, hex(v->revision), "%s.%s.revision", pfx, name);
	kv(l, dec(v->launch_state), "%s.%s.launch_state", pfx, name);
	kv(l, dec(v->n), "%s.%s.fields", pfx, name);
	for (i = 0; i < sizeof(key_vmcs12_fields) / sizeof(key_vmcs12_fields[0]); i++)
		if (nc_vmcs12_get(v, key_vmcs12_fields[i], &val))
			kv(l, hex(val), "%s.%s.%s", pfx, name,
			   nc_vmcs_field_name(key_vmcs12_fields[i]));
	free(v);
}

static void flatten_svm(struct kv_list *l, const char *pfx,
			const struct nc_vcpu_state *v)
{
	struct nc_svm_clean *c = malloc(sizeof(*c));
	struct nc_why why;
	static const struct {
		const char *name;
		uint16_t off;
		uint8_t width;
		bool save;
	} f[] = {
		{ "intercept_exceptions", VMCB_CTL_INTERCEPT_EXC, 4, false },
		{ "intercept_vec3", VMCB_CTL_INTERCEPT_VEC3, 4, false },
		{ "intercept_vec4", VMCB_CTL_INTERCEPT_VEC4, 4, false },
		{ "asid", VMCB_CTL_ASID, 4, false },
		{ "int_ctl", VMCB_CTL_INT_CTL, 4, false },
		{ "exit_code", VMCB_CTL_EXIT_CODE, 4, false },
		{ "exit_info_1", VMCB_CTL_EXIT_INFO_1, 8, false },
		{ "exit_info_2", VMCB_CTL_EXIT_INFO_2, 8, false },
		{ "nested_ctl", VMCB_CTL_NESTED_CTL, 8, false },
		{ "nested_cr3", VMCB_CTL_NESTED_CR3, 8, false },
		{ "event_inj", VMCB_CTL_EVENT_INJ, 4, false },
		{ "next_rip", VMCB_CTL_NEXT_RIP, 8, false },
		{ "save.rip", VMCB_SAVE_RIP, 8, true },
		{ "save.rsp", VMCB_SAVE_RSP, 8, true },
		{ "save.rflags", VMCB_SAVE_RFLAGS, 8, true },
		{ "save.cr0", VMCB_SAVE_CR0, 8, true },
		{ "save.cr3", VMCB_SAVE_CR3, 8, true },
		{ "save.cr4", VMCB_SAVE_CR4, 8, true },
		{ "save.efer", VMCB_SAVE_EFER, 8, true },
		{ "save.cs_selector", VMCB_SAVE_CS, 2, true },
	};
	size_t i;

	if (!c)
		return;
	if (nc_svm_clean_from_kvm(v->nested, v, c, &why)) {
		kv(l, why.msg, "%s.svm.error", pfx);
		free(c);
		return;
	}
	kv(l, c->gif ? "1" : "0", "%s.svm.gif", pfx);
	if (c->guest_mode) {
		kv(l, hex(c->vmcb12_pa), "%s.svm.vmcb12_pa", pfx);
		kv(l, hex(c->l1_cr0), "%s.svm.l1.cr0", pfx);
		kv(l, hex(c->l1_cr3), "%s.svm.l1.cr3", pfx);
		kv(l, hex(c->l1_cr4), "%s.svm.l1.cr4", pfx);
		kv(l, hex(c->l1_efer), "%s.svm.l1.efer", pfx);
		kv(l, hex(nc_le_get(c->l1_save + VMCB_SAVE_RIP, 8)), "%s.svm.l1.rip", pfx);
		kv(l, hex(nc_le_get(c->l1_save + VMCB_SAVE_RSP, 8)), "%s.svm.l1.rsp", pfx);
		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			kv(l, hex(nc_le_get((f[i].save ? c->vmcb12_save :
					     c->vmcb12_control) + f[i].off, f[i].width)),
			   "%s.svm.vmcb12.%s", pfx, f[i].name);
	}
	free(c);
}

static void flatten_nested(struct kv_list *l, const char *pfx,
			   const struct nc_vcpu_state *v)
{
	const struct kvm_nested_state *ns = v->nested;
	char buf[80];

	kv(l, ns->format == KVM_STATE_NESTED_FORMAT_VMX ? "vmx" : "svm",
	   "%s.format", pfx);
	kv(l, nested_flags_str(ns->flags, buf, sizeof(buf)), "%s.flags", pfx);
	kv(l, dec(ns->size), "%s.kvm_size", pfx);
	if (v->have & NC_VCPU_RECORD)
		kv(l, hex(v->rec.flags), "%s.record_flags", pfx);
	if (ns->format == KVM_STATE_NESTED_FORMAT_VMX) {
		kv(l, hex(ns->hdr.vmx.vmxon_pa), "%s.vmx.vmxon_pa", pfx);
		kv(l, hex(ns->hdr.vmx.vmcs12_pa), "%s.vmx.vmcs12_pa", pfx);
		if (ns->size >= 128 + NC_VMCS12_PAGE)
			flatten_vmcs12(l, pfx, "vmx.vmcs12", ns, 0);
		if (ns->size >= 128 + 2 * NC_VMCS12_PAGE)
			flatten_vmcs12(l, pfx, "vmx.shadow_vmcs12", ns, 1);
	} else {
		flatten_svm(l, pfx, v);
	}
}

static const char *vcpu_mode(const struct nc_vcpu_state *v)
{
	const struct kvm_nested_state *ns = v->nested;

	if (ns && (ns->flags & KVM_STATE_NESTED_GUEST_MODE))
		return "L2 (guest mode)";
	if (ns && ns->format == KVM_STATE_NESTED_FORMAT_VMX &&
	    ns->hdr.vmx.vmxon_pa != -1ull)
		return "L1 in VMX operation";
	if (ns && ns->format == KVM_STATE_NESTED_FORMAT_SVM &&
	    (v->sregs.efer & EFER_SVME))
		return "L1 with SVM enabled";
	return "plain";
}

/* MCG_CAP (KVM_X86_SETUP_MCE at restore), MCG_CTL and MCG_STATUS. */
static void flatten_mce(struct kv_list *l, const char *pfx,
			const struct nc_vcpu_state *v)
{
	uint64_t cap;
	uint32_t i;

	if (!nc_mce_cap(v, &cap))
		return;
	kv(l, hex(cap), "%s.mcg_cap", pfx);
	kv(l, dec(cap & 0xff), "%s.mce_banks", pfx);
	for (i = 0; i < v->msrs->nmsrs; i++) {
		if (v->msrs->entries[i].index == NC_MSR_MCG_CTL)
			kv(l, hex(v->msrs->entries[i].data), "%s.mcg_ctl", pfx);
		if (v->msrs->entries[i].index == NC_MSR_MCG_STATUS)
			kv(l, hex(v->msrs->entries[i].data), "%s.mcg_status", pfx);
	}
}

static void flatten_vcpu(struct kv_list *l, const char *vpfx,
			 const struct nc_vcpu_state *v)
{
	char pfx[64];

	snprintf(pfx, sizeof(pfx), "%s.vcpu%u", vpfx, v->id);
	kv(l, vcpu_mode(v), "%s.mode", pfx);
	if (v->have & NC_VCPU_REGS) {
		kv(l, hex(v->regs.rip), "%s.rip", pfx);
		kv(l, hex(v->regs.rsp), "%s.rsp", pfx);
		kv(l, hex(v->regs.rflags), "%s.rflags", pfx);
	}
	if (v->have & NC_VCPU_SREGS) {
		kv(l, hex(v->sregs.cr0), "%s.cr0", pfx);
		kv(l, hex(v->sregs.cr3), "%s.cr3", pfx);
		kv(l, hex(v->sregs.cr4), "%s.cr4", pfx);
		kv(l, hex(v->sregs.efer), "%s.efer", pfx);
		kv(l, hex(v->sregs.cs.selector), "%s.cs", pfx);
	}
	if (v->have & NC_VCPU_MP_STATE)
		kv(l, dec(v->mp_state.mp_state), "%s.mp_state", pfx);
	if (v->have & NC_VCPU_TSC_KHZ)
		kv(l, dec(v->tsc_khz), "%s.tsc_khz", pfx);
	kv(l, dec(v->msrs ? v->msrs->nmsrs : 0), "%s.msrs", pfx);
	flatten_mce(l, pfx, v);
	kv(l, dec(v->cpuid ? v->cpuid->nent : 0), "%s.cpuid_entries", pfx);
	kv(l, dec(v->xsave_size), "%s.xsave_size", pfx);
	kv(l, v->have & NC_VCPU_LAPIC ? "1" : "0", "%s.lapic", pfx);
	if (v->nested) {
		snprintf(pfx + strlen(pfx), sizeof(pfx) - strlen(pfx), ".nested");
		flatten_nested(l, pfx, v);
	}
}

static uint32_t bits_set(const uint8_t *p, uint32_t len)
{
	uint32_t n = 0;

	while (len--)
		n += __builtin_popcount(*p++);
	return n;
}

static void flatten_msr_filter(struct kv_list *l, const char *pfx,
			       const struct nc_msr_filter *f)
{
	uint32_t i;

	if (!f) {
		kv(l, "none", "%s.msr_filter_default", pfx);
		return;
	}
	kv(l, f->flags & KVM_MSR_FILTER_DEFAULT_DENY ? "deny by default" :
	   "allow by default", "%s.msr_filter_default", pfx);
	for (i = 0; i < f->nr_ranges; i++) {
		const struct nc_msr_filter_range *r = &f->ranges[i];

		kv(l, "", "%s.msr_filter.range%u.%s%s base %s nmsrs %u allowed %u", pfx,
		   i, r->flags & KVM_MSR_FILTER_READ ? "r" : "",
		   r->flags & KVM_MSR_FILTER_WRITE ? "w" : "", hex(r->base), r->nmsrs,
		   bits_set(r->bitmap, r->bitmap_len));
	}
}

static void flatten_vm(struct kv_list *l, uint32_t i, const struct nc_vm_state *vm)
{
	char pfx[16];
	uint32_t j;

	snprintf(pfx, sizeof(pfx), "vm%u", i);
	kv(l, dec(vm->n_vcpus), "%s.vcpus", pfx);
	kv(l, dec(vm->n_memslots), "%s.memslots", pfx);
	for (j = 0; j < vm->n_memslots; j++)
		kv(l, "", "%s.memslot%u.gpa %s size %s flags %u", pfx,
		   vm->memslots[j].slot, hex(vm->memslots[j].guest_phys_addr),
		   hex(vm->memslots[j].memory_size), vm->memslots[j].flags);
	if (vm->have & NC_VM_CLOCK)
		kv(l, dec(vm->clock.clock), "%s.clock_ns", pfx);
	kv(l, vm->have & NC_VM_IRQCHIP ? "1" : "0", "%s.irqchip", pfx);
	kv(l, vm->have & NC_VM_PIT2 ? "1" : "0", "%s.pit", pfx);
	kv(l, dec(vm->n_irqfds), "%s.irqfds", pfx);
	kv(l, dec(vm->n_ioeventfds), "%s.ioeventfds", pfx);
	kv(l, dec(vm->n_routes), "%s.gsi_routes", pfx);
	kv(l, dec(vm->n_coalesced), "%s.coalesced_zones", pfx);
	for (j = 0; j < vm->n_enabled_caps; j++)
		kv(l, hex(vm->enabled_caps[j].args[0]), "%s.enabled_cap.%s", pfx,
		   nc_kvm_cap_name(vm->enabled_caps[j].cap));
	flatten_msr_filter(l, pfx, vm->msr_filter);
	for (j = 0; j < vm->n_vcpus; j++)
		flatten_vcpu(l, pfx, &vm->vcpus[j]);
}

static void flatten_caps(struct kv_list *l, const struct nc_caps *c)
{
	char buf[1024] = "";
	size_t n = 0;
	uint32_t i;

	kv(l, nc_vendor_name(c->vendor), "caps.vendor");
	for (i = 0; i < c->n_vmx_msrs; i++)
		kv(l, hex(c->vmx_msrs[i].data), "caps.vmx_msr.%s",
		   hex(c->vmx_msrs[i].index));
	if (c->have_svm_leaf) {
		kv(l, hex(c->svm_leaf.eax), "caps.svm_cpuid_8000000a.eax");
		kv(l, hex(c->svm_leaf.ebx), "caps.svm_cpuid_8000000a.ebx");
		kv(l, hex(c->svm_leaf.edx), "caps.svm_cpuid_8000000a.edx");
	}
	if (c->have_src_svm_leaf)
		kv(l, hex(c->src_svm_leaf.edx), "caps.source_kvm_8000000a.edx");
	for (i = 0; i < c->n_kvm_caps && n < sizeof(buf) - 8; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? " " : "",
			      c->kvm_caps[i]);
	kv(l, buf, "caps.kvm_caps");
	kv(l, dec(c->nested_state_size), "caps.nested_state_size");
	kv(l, dec(c->xsave_size), "caps.xsave_size");
}

int nc_image_flatten(const struct nc_image *img, struct nc_kv **out, size_t *n)
{
	struct kv_list l = { NULL, 0, 0 };
	char ver[32];
	uint32_t i;

	snprintf(ver, sizeof(ver), "%u.%u", img->format_major, img->format_minor);
	kv(&l, ver, "format");
	kv(&l, img->producer, "producer");
	kv(&l, nc_vendor_name(img->vendor), "vendor");
	kv(&l, dec(img->file_size), "size");
	for (i = 0; i < img->n_components; i++) {
		const struct nc_component_info *c = &img->components[i];
		const char *kn = nc_component_kind_name(c->kind);
		char d[160];

		snprintf(d, sizeof(d), "%s at %s, %s bytes%s%s", kn ? kn : "unknown",
			 dec(c->offset), dec(c->length),
			 c->must_understand ? ", must-understand" : "",
			 c->skipped ? ", skipped" : "");
		kv(&l, d, "components.%s", c->name);
	}
	if (img->note[0])
		kv(&l, img->note, "note");
	flatten_caps(&l, &img->caps);
	for (i = 0; i < img->n_vms; i++)
		flatten_vm(&l, i, &img->vms[i]);
	*out = l.v;
	*n = l.n;
	return l.v ? 0 : -1;
}

void nc_image_print_text(FILE *f, const struct nc_image *img)
{
	struct nc_kv *v;
	size_t n, i;

	if (nc_image_flatten(img, &v, &n))
		return;
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s%s\n", v[i].key, v[i].value[0] ? ": " : "", v[i].value);
	free(v);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Split @key at dots into @parts (in place in @buf); the count. */
static int split(const char *key, char *buf, size_t size, char **parts, int max)
{
	int n = 0;
	char *p;

	snprintf(buf, size, "%s", key);
	for (p = buf; n < max; ) {
		parts[n++] = p;
		p = strchr(p, '.');
		if (!p)
			break;
		*p++ = 0;
	}
	return n;
}

#define JSON_DEPTH 8

/* Dotted keys become nested objects; keys arrive grouped by prefix. */
void nc_image_print_json(FILE *f, const struct nc_image *img)
{
	char open_buf[JSON_DEPTH][128], kbuf[256], *parts[JSON_DEPTH];
	int depth = 0, n, common, d;
	bool first[JSON_DEPTH + 1] = { true };
	struct nc_kv *v;
	size_t cnt, i;

	if (nc_image_flatten(img, &v, &cnt))
		return;
	fputs("{", f);
	for (i = 0; i < cnt; i++) {
		n = split(v[i].key, kbuf, sizeof(kbuf), parts, JSON_DEPTH);
		for (common = 0; common < depth && common < n - 1 &&
		     !strcmp(open_buf[common], parts[common]); common++)
			;
		for (; depth > common; depth--)
			fputs("}", f);
		for (d = depth; d < n - 1; d++) {
			fputs(first[d] ? "" : ",", f);
			first[d] = false;
			json_str(f, parts[d]);
			fputs(":{", f);
			snprintf(open_buf[d], sizeof(open_buf[d]), "%s", parts[d]);
			first[d + 1] = true;
		}
		depth = n - 1;
		fputs(first[depth] ? "" : ",", f);
		first[depth] = false;
		json_str(f, parts[n - 1]);
		fputc(':', f);
		json_str(f, v[i].value);
	}
	for (; depth > 0; depth--)
		fputs("}", f);
	fputs("}\n", f);
	free(v);
}

int nc_image_diff(FILE *f, const struct nc_image *a, const struct nc_image *b)
{
	struct nc_kv *va, *vb;
	size_t na, nb, i, j;
	int diffs = 0;

	if (nc_image_flatten(a, &va, &na))
		return -1;
	if (nc_image_flatten(b, &vb, &nb)) {
		free(va);
		return -1;
	}
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && strcmp(va[i].key, vb[j].key); j++)
			;
		if (j == nb) {
			fprintf(f, "- %s: %s\n", va[i].key, va[i].value);
			diffs++;
		} else if (strcmp(va[i].value, vb[j].value)) {
			fprintf(f, "~ %s: %s -> %s\n", va[i].key, va[i].value, vb[j].value);
			diffs++;
		}
	}
	for (j = 0; j < nb; j++) {
		for (i = 0; i < na && strcmp(va[i].key, vb[j].key); i++)
			;
		if (i == na) {
			fprintf(f, "+ %s: %s\n", vb[j].key, vb[j].value);
			diffs++;
		}
	}
	free(va);
	free(vb);
	return diffs;
}

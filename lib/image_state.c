// SPDX-License-Identifier: GPL-2.0
/*
 * Component codecs: KVM uapi structs (struct nc_vm_state, nc_vcpu_state,
 * nc_caps) <-> the protobuf messages of image.proto. Unpacking validates
 * every count and size against the uapi struct it fills, so a decoded image
 * can be handed to KVM ioctls without further checks. Nested state goes
 * through the vendor conversions (vmcs12.c, svm_state.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.pb-c.h"
#include "image_internal.h"
#include "nested.h"

#define NESTED_HDR_SIZE		128
#define MAX_XSAVE_SIZE		(1u << 20)
#define MAX_MSRS		4096
#define MAX_CPUID		1024
#define MAX_VM_ITEMS		65536	/* memslots, routes, bindings, ... */

/* Allocate a zeroed array of @n pointers to @n zeroed messages of @size. */
static void **msg_array(size_t n, size_t size)
{
	void **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = calloc(1, size);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void msg_array_free(void **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Pack @msg into a malloc'd buffer. */
static int pack_msg(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	*len = protobuf_c_message_pack(msg, *out);
	return 0;
}

/* ---- small messages ------------------------------------------------------- */

static void cpuid_to_pb(NcCpuidEntry *e, const struct kvm_cpuid_entry2 *k)
{
	nc_cpuid_entry__init(e);
	e->function = k->function;
	e->index = k->index;
	e->flags = k->flags;
	e->eax = k->eax;
	e->ebx = k->ebx;
	e->ecx = k->ecx;
	e->edx = k->edx;
}

static void cpuid_from_pb(struct kvm_cpuid_entry2 *k, const NcCpuidEntry *e)
{
	memset(k, 0, sizeof(*k));
	k->function = e->function;
	k->index = e->index;
	k->flags = e->flags;
	k->eax = e->eax;
	k->ebx = e->ebx;
	k->ecx = e->ecx;
	k->edx = e->edx;
}

static NcMsr **msrs_to_pb(const struct kvm_msr_entry *e, size_t n)
{
	NcMsr **v = (NcMsr **)msg_array(n, sizeof(NcMsr));
	size_t i;

	for (i = 0; v && i < n; i++) {
		nc_msr__init(v[i]);
		v[i]->index = e[i].index;
		v[i]->data = e[i].data;
	}
	return v;
}

/* ---- capabilities --------------------------------------------------------- */

int nc_caps_pack(const struct nc_caps *c, uint8_t **out, size_t *len)
{
	NcCaps m = NC_CAPS__INIT;
	NcCpuidEntry svm, ext, src_svm, src_ext;
	int rc;

	m.vendor = c->vendor;
	m.n_vmx_msrs = c->n_vmx_msrs;
	m.vmx_msrs = msrs_to_pb(c->vmx_msrs, c->n_vmx_msrs);
	if (!m.vmx_msrs)
		return -ENOMEM;
	if (c->have_svm_leaf) {
		cpuid_to_pb(&svm, &c->svm_leaf);
		m.svm_leaf = &svm;
	}
	if (c->have_ext_leaf) {
		cpuid_to_pb(&ext, &c->ext_leaf);
		m.ext_leaf = &ext;
	}
	if (c->have_src_svm_leaf) {
		cpuid_to_pb(&src_svm, &c->src_svm_leaf);
		m.src_svm_leaf = &src_svm;
	}
	if (c->have_src_ext_leaf) {
		cpuid_to_pb(&src_ext, &c->src_ext_leaf);
		m.src_ext_leaf = &src_ext;
	}
	m.n_kvm_caps = c->n_kvm_caps;
	m.kvm_caps = (uint32_t *)c->kvm_caps;
	m.has_nested_state_size = m.has_xsave_size = 1;
	m.nested_state_size = c->nested_state_size;
	m.xsave_size = c->xsave_size;
	rc = pack_msg(&m.base, out, len);
	msg_array_free((void **)m.vmx_msrs, m.n_vmx_msrs);
	return rc;
}

int nc_caps_unpack(const uint8_t *b, size_t len, struct nc_caps *c,
		   struct nc_why *why)
{
	NcCaps *m = nc_caps__unpack(NULL, len, b);
	size_t i;
	int rc = 0;

	if (!m)
		return nc_why_set(why, "cannot decode (%zu bytes)", len);
	memset(c, 0, sizeof(*c));
	if (m->n_vmx_msrs > NC_CAPS_MAX_MSRS || m->n_kvm_caps > NC_CAPS_MAX_KVM) {
		rc = nc_why_set(why, "%zu VMX MSRs / %zu KVM capabilities: more "
				"than %d / %d", m->n_vmx_msrs, m->n_kvm_caps,
				NC_CAPS_MAX_MSRS, NC_CAPS_MAX_KVM);
		goto out;
	}
	c->vendor = m->vendor;
	c->n_vmx_msrs = m->n_vmx_msrs;
	for (i = 0; i < m->n_vmx_msrs; i++) {
		c->vmx_msrs[i].index = m->vmx_msrs[i]->index;
		c->vmx_msrs[i].data = m->vmx_msrs[i]->data;
	}
	if (m->svm_leaf) {
		c->have_svm_leaf = true;
		cpuid_from_pb(&c->svm_leaf, m->svm_leaf);
	}
	if (m->ext_leaf) {
		c->have_ext_leaf = true;
		cpuid_from_pb(&c->ext_leaf, m->ext_leaf);
	}
	if (m->src_svm_leaf) {
		c->have_src_svm_leaf = true;
		cpuid_from_pb(&c->src_svm_leaf, m->src_svm_leaf);
	}
	if (m->src_ext_leaf) {
		c->have_src_ext_leaf = true;
		cpuid_from_pb(&c->src_ext_leaf, m->src_ext_leaf);
	}
	c->n_kvm_caps = m->n_kvm_caps;
	if (m->n_kvm_caps)
		memcpy(c->kvm_caps, m->kvm_caps, m->n_kvm_caps * sizeof(uint32_t));
	c->nested_state_size = m->nested_state_size;
	c->xsave_size = m->xsave_size;
out:
	nc_caps__free_unpacked(m, NULL);
	return rc;
}

/* ---- note ----------------------------------------------------------------- */

int nc_note_pack(const char *text, uint8_t **out, size_t *len)
{
	NcNote m = NC_NOTE__INIT;

	m.text = (char *)text;
	return pack_msg(&m.base, out, len);
}

int nc_note_unpack(const uint8_t *b, size_t len, char *text, size_t size,
		   struct nc_why *why)
{
	NcNote *m = nc_note__unpack(NULL, len, b);

	if (!m)
		return nc_why_set(why, "cannot decode (%zu bytes)", len);
	snprintf(text, size, "%s", m->text);
	nc_note__free_unpacked(m, NULL);
	return 0;
}

/* ---- VM ------------------------------------------------------------------- */

/* A raw uapi struct: present only if its size is exactly the struct's. */
static int raw_in(const ProtobufCBinaryData *d, void *dst, size_t size,
		  const char *what, struct nc_why *why)
{
	if (d->len != size)
		return nc_why_set(why, "%s is %zu bytes, struct is %zu", what,
				  d->len, size);
	memcpy(dst, d->data, size);
	return 0;
}

static ProtobufCBinaryData raw_out(const void *p, size_t size)
{
	ProtobufCBinaryData d = { size, (uint8_t *)p };

	return d;
}

struct vm_msgs {
	NcMemslot **slots;
	NcIrqfd **irqfds;
	NcIoeventfd **ioeventfds;
	NcRoute **routes;
	NcCoalescedZone **zones;
	NcEnabledCap **caps;
};

static void vm_msgs_free(struct vm_msgs *v, const NcVm *m)
{
	msg_array_free((void **)v->slots, m->n_memslots);
	msg_array_free((void **)v->irqfds, m->n_irqfds);
	msg_array_free((void **)v->ioeventfds, m->n_ioeventfds);
	msg_array_free((void **)v->routes, m->n_routes);
	msg_array_free((void **)v->zones, m->n_coalesced);
	msg_array_free((void **)v->caps, m->n_enabled_caps);
}

static void route_to_pb(NcRoute *r, const struct kvm_irq_routing_entry *e,
			uint32_t *u32)
{
	nc_route__init(r);
	r->gsi = e->gsi;
	r->type = e->type;
	r->flags = e->flags;
	r->u32 = u32;
	if (e->type == KVM_IRQ_ROUTING_IRQCHIP) {
		u32[0] = e->u.irqchip.irqchip;
		u32[1] = e->u.irqchip.pin;
		r->n_u32 = 2;
	} else if (e->type == KVM_IRQ_ROUTING_MSI) {
		u32[0] = e->u.msi.address_lo;
		u32[1] = e->u.msi.address_hi;
		u32[2] = e->u.msi.data;
		u32[3] = e->u.msi.devid;
		r->n_u32 = 4;
	} else {
		r->has_raw = 1;
		r->raw = raw_out(&e->u, sizeof(e->u));
	}
}

static int route_from_pb(struct kvm_irq_routing_entry *e, const NcRoute *r,
			 struct nc_why *why)
{
	memset(e, 0, sizeof(*e));
	e->gsi = r->gsi;
	e->type = r->type;
	e->flags = r->flags;
	if (r->type == KVM_IRQ_ROUTING_IRQCHIP && r->n_u32 == 2) {
		e->u.irqchip.irqchip = r->u32[0];
		e->u.irqchip.pin = r->u32[1];
	} else if (r->type == KVM_IRQ_ROUTING_MSI && r->n_u32 == 4) {
		e->u.msi.address_lo = r->u32[0];
		e->u.msi.address_hi = r->u32[1];
		e->u.msi.data = r->u32[2];
		e->u.msi.devid = r->u32[3];
	} else if (r->has_raw && r->n_u32 == 0) {
		return raw_in(&r->raw, &e->u, sizeof(e->u), "route", why);
	} else {
		return nc_why_set(why, "route for gsi %u: type %u with %zu values",
				  r->gsi, r->type, r->n_u32);
	}
	return 0;
}

int nc_vm_pack(const struct nc_vm_state *vm, uint32_t index, uint8_t **out,
	       size_t *len, struct nc_why *why)
{
	NcVm m = NC_VM__INIT;
	NcClock clock = NC_CLOCK__INIT;
	struct vm_msgs v;
	uint32_t *route_u32 = calloc(vm->n_routes * 4 + 1, sizeof(uint32_t));
	uint32_t i;
	int rc = -ENOMEM;

	(void)why;
	m.index = index;
	m.nr_vcpus = vm->n_vcpus;
	m.n_memslots = vm->n_memslots;
	m.n_irqfds = vm->n_irqfds;
	m.n_ioeventfds = vm->n_ioeventfds;
	m.n_routes = vm->n_routes;
	m.n_coalesced = vm->n_coalesced;
	m.n_enabled_caps = vm->n_enabled_caps;
	v.slots = (NcMemslot **)msg_array(vm->n_memslots, sizeof(NcMemslot));
	v.irqfds = (NcIrqfd **)msg_array(vm->n_irqfds, sizeof(NcIrqfd));
	v.ioeventfds = (NcIoeventfd **)msg_array(vm->n_ioeventfds, sizeof(NcIoeventfd));
	v.routes = (NcRoute **)msg_array(vm->n_routes, sizeof(NcRoute));
	v.zones = (NcCoalescedZone **)msg_array(vm->n_coalesced, sizeof(NcCoalescedZone));
	v.caps = (NcEnabledCap **)msg_array(vm->n_enabled_caps, sizeof(NcEnabledCap));
	if (!route_u32 || !v.slots || !v.irqfds || !v.ioeventfds || !v.routes ||
	    !v.zones || !v.caps)
		goto out;
	for (i = 0; i < vm->n_memslots; i++) {
		const struct kvm_userspace_memory_region *s = &vm->memslots[i];

		nc_memslot__init(v.slots[i]);
		v.slots[i]->slot = s->slot;
		v.slots[i]->flags = s->flags;
		v.slots[i]->guest_phys_addr = s->guest_phys_addr;
		v.slots[i]->memory_size = s->memory_size;
		v.slots[i]->userspace_addr = s->userspace_addr;
	}
	for (i = 0; i < vm->n_irqfds; i++) {
		nc_irqfd__init(v.irqfds[i]);
		v.irqfds[i]->fd = vm->irqfds[i].fd;
		v.irqfds[i]->gsi = vm->irqfds[i].gsi;
		v.irqfds[i]->flags = vm->irqfds[i].flags;
		v.irqfds[i]->has_resamplefd = vm->irqfds[i].resamplefd >= 0;
		v.irqfds[i]->resamplefd = vm->irqfds[i].resamplefd;
	}
	for (i = 0; i < vm->n_ioeventfds; i++) {
		nc_ioeventfd__init(v.ioeventfds[i]);
		v.ioeventfds[i]->fd = vm->ioeventfds[i].fd;
		v.ioeventfds[i]->addr = vm->ioeventfds[i].addr;
		v.ioeventfds[i]->len = vm->ioeventfds[i].len;
		v.ioeventfds[i]->datamatch = vm->ioeventfds[i].datamatch;
		v.ioeventfds[i]->flags = vm->ioeventfds[i].flags;
	}
	for (i = 0; i < vm->n_routes; i++)
		route_to_pb(v.routes[i], &vm->routes[i], route_u32 + 4 * i);
	for (i = 0; i < vm->n_coalesced; i++) {
		nc_coalesced_zone__init(v.zones[i]);
		v.zones[i]->addr = vm->coalesced[i].addr;
		v.zones[i]->size = vm->coalesced[i].size;
		v.zones[i]->pio = vm->coalesced[i].pio;
	}
	for (i = 0; i < vm->n_enabled_caps; i++) {
		nc_enabled_cap__init(v.caps[i]);
		v.caps[i]->cap = vm->enabled_caps[i].cap;
		v.caps[i]->flags = vm->enabled_caps[i].flags;
		v.caps[i]->n_args = 4;
		v.caps[i]->args = (uint64_t *)vm->enabled_caps[i].args;
	}
	m.memslots = v.slots;
	m.irqfds = v.irqfds;
	m.ioeventfds = v.ioeventfds;
	m.routes = v.routes;
	m.coalesced = v.zones;
	m.enabled_caps = v.caps;
	if (vm->have & NC_VM_CLOCK) {
		clock.clock = vm->clock.clock;
		clock.flags = vm->clock.flags;
		clock.has_realtime = clock.has_host_tsc = 1;
		clock.realtime = vm->clock.realtime;
		clock.host_tsc = vm->clock.host_tsc;
		m.clock = &clock;
	}
	if (vm->have & NC_VM_IRQCHIP) {
		m.has_pic_master = m.has_pic_slave = m.has_ioapic = 1;
		m.pic_master = raw_out(&vm->chip[0].chip.pic, sizeof(struct kvm_pic_state));
		m.pic_slave = raw_out(&vm->chip[1].chip.pic, sizeof(struct kvm_pic_state));
		m.ioapic = raw_out(&vm->chip[2].chip.ioapic, sizeof(struct kvm_ioapic_state));
	}
	if (vm->have & NC_VM_PIT2) {
		m.has_pit2 = 1;
		m.pit2 = raw_out(&vm->pit2, sizeof(vm->pit2));
	}
	rc = pack_msg(&m.base, out, len);
out:
	vm_msgs_free(&v, &m);
	free(route_u32);
	return rc;
}

/* calloc for @n items of @size, at least one byte; NULL on failure. */
static void *items(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static int vm_arrays_from_pb(struct nc_vm_state *vm, const NcVm *m,
			     struct nc_why *why)
{
	size_t i;
	int rc;

	if (m->n_memslots > MAX_VM_ITEMS || m->n_irqfds > MAX_VM_ITEMS ||
	    m->n_ioeventfds > MAX_VM_ITEMS || m->n_routes > MAX_VM_ITEMS ||
	    m->n_coalesced > MAX_VM_ITEMS || m->n_enabled_caps > MAX_VM_ITEMS)
		return nc_why_set(why, "more than %d items in a list", MAX_VM_ITEMS);
	vm->memslots = items(m->n_memslots, sizeof(*vm->memslots));
	vm->irqfds = items(m->n_irqfds, sizeof(*vm->irqfds));
	vm->ioeventfds = items(m->n_ioeventfds, sizeof(*vm->ioeventfds));
	vm->routes = items(m->n_routes, sizeof(*vm->routes));
	vm->coalesced = items(m->n_coalesced, sizeof(*vm->coalesced));
	vm->enabled_caps = items(m->n_enabled_caps, sizeof(*vm->enabled_caps));
	if (!vm->memslots || !vm->irqfds || !vm->ioeventfds || !vm->routes ||
	    !vm->coalesced || !vm->enabled_caps)
		return -ENOMEM;
	for (i = 0; i < m->n_memslots; i++) {
		vm->memslots[i].slot = m->memslots[i]->slot;
		vm->memslots[i].flags = m->memslots[i]->flags;
		vm->memslots[i].guest_phys_addr = m->memslots[i]->guest_phys_addr;
		vm->memslots[i].memory_size = m->memslots[i]->memory_size;
		vm->memslots[i].userspace_addr = m->memslots[i]->userspace_addr;
	}
	vm->n_memslots = m->n_memslots;
	for (i = 0; i < m->n_irqfds; i++) {
		vm->irqfds[i].fd = m->irqfds[i]->fd;
		vm->irqfds[i].gsi = m->irqfds[i]->gsi;
		vm->irqfds[i].flags = m->irqfds[i]->flags;
		vm->irqfds[i].resamplefd = m->irqfds[i]->has_resamplefd ?
					   m->irqfds[i]->resamplefd : -1;
	}
	vm->n_irqfds = m->n_irqfds;
	for (i = 0; i < m->n_ioeventfds; i++) {
		vm->ioeventfds[i].fd = m->ioeventfds[i]->fd;
		vm->ioeventfds[i].addr = m->ioeventfds[i]->addr;
		vm->ioeventfds[i].len = m->ioeventfds[i]->len;
		vm->ioeventfds[i].datamatch = m->ioeventfds[i]->datamatch;
		vm->ioeventfds[i].flags = m->ioeventfds[i]->flags;
	}
	vm->n_ioeventfds = m->n_ioeventfds;
	for (i = 0; i < m->n_routes; i++) {
		rc = route_from_pb(&vm->routes[i], m->routes[i], why);
		if (rc)
			return rc;
	}
	vm->n_routes = m->n_routes;
	for (i = 0; i < m->n_coalesced; i++) {
		vm->coalesced[i].addr = m->coalesced[i]->addr;
		vm->coalesced[i].size = m->coalesced[i]->size;
		vm->coalesced[i].pio = m->coalesced[i]->pio;
	}
	vm->n_coalesced = m->n_coalesced;
	for (i = 0; i < m->n_enabled_caps; i++) {
		if (m->enabled_caps[i]->n_args != 4)
			return nc_why_set(why, "enabled capability %u has %zu "
					  "arguments, not 4", m->enabled_caps[i]->cap,
					  m->enabled_caps[i]->n_args);
		vm->enabled_caps[i].cap = m->enabled_caps[i]->cap;
		vm->enabled_caps[i].flags = m->enabled_caps[i]->flags;
		memcpy(vm->enabled_caps[i].args, m->enabled_caps[i]->args,
		       sizeof(vm->enabled_caps[i].args));
	}
	vm->n_enabled_caps = m->n_enabled_caps;
	return 0;
}

int nc_vm_unpack(const uint8_t *b, size_t len, struct nc_vm_state *vm,
		 uint32_t *index, uint32_t *nr_vcpus, struct nc_why *why)
{
	NcVm *m = nc_vm__unpack(NULL, len, b);
	int rc;

	if (!m)
		return nc_why_set(why, "cannot decode (%zu bytes)", len);
	memset(vm, 0, sizeof(*vm));
	*index = m->index;
	*nr_vcpus = m->nr_vcpus;
	rc = m->nr_vcpus > 4096 ? nc_why_set(why, "%u vCPUs", m->nr_vcpus) : 0;
	if (!rc)
		rc = vm_arrays_from_pb(vm, m, why);
	if (!rc && m->clock) {
		vm->have |= NC_VM_CLOCK;
		vm->clock.clock = m->clock->clock;
		vm->clock.flags = m->clock->flags;
		vm->clock.realtime = m->clock->realtime;
		vm->clock.host_tsc = m->clock->host_tsc;
	}
	if (!rc && (m->has_pic_master || m->has_pic_slave || m->has_ioapic)) {
		vm->have |= NC_VM_IRQCHIP;
		vm->chip[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
		vm->chip[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
		vm->chip[2].chip_id = KVM_IRQCHIP_IOAPIC;
		rc = raw_in(&m->pic_master, &vm->chip[0].chip.pic,
			    sizeof(struct kvm_pic_state), "PIC master", why);
		if (!rc)
			rc = raw_in(&m->pic_slave, &vm->chip[1].chip.pic,
				    sizeof(struct kvm_pic_state), "PIC slave", why);
		if (!rc)
			rc = raw_in(&m->ioapic, &vm->chip[2].chip.ioapic,
				    sizeof(struct kvm_ioapic_state), "IOAPIC", why);
	}
	if (!rc && m->has_pit2) {
		vm->have |= NC_VM_PIT2;
		rc = raw_in(&m->pit2, &vm->pit2, sizeof(vm->pit2), "PIT", why);
	}
	nc_vm__free_unpacked(m, NULL);
	if (rc)
		nc_vm_state_free(vm);
	return rc;
}

/* ---- vCPU: registers ------------------------------------------------------ */

#define KVM_REGS_GPRS	16	/* struct kvm_regs: 16 GPRs, rip, rflags */

static uint32_t seg_attr(const struct kvm_segment *s)
{
	return (s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
	       (s->present & 1) << 7 | (s->avl & 1) << 8 | (s->l & 1) << 9 |
	       (s->db & 1) << 10 | (s->g & 1) << 11 | (s->unusable & 1) << 16;
}

static void seg_from_pb(struct kvm_segment *s, const NcSegment *p)
{
	memset(s, 0, sizeof(*s));
	s->base = p->seg_base;
	s->limit = p->limit;
	s->selector = p->selector;
	s->type = p->attr & 0xf;
	s->s = p->attr >> 4 & 1;
	s->dpl = p->attr >> 5 & 3;
	s->present = p->attr >> 7 & 1;
	s->avl = p->attr >> 8 & 1;
	s->l = p->attr >> 9 & 1;
	s->db = p->attr >> 10 & 1;
	s->g = p->attr >> 11 & 1;
	s->unusable = p->attr >> 16 & 1;
}

/* kvm_sregs' segments in their struct order. */
static struct kvm_segment *sreg_seg(struct kvm_sregs *s, int i)
{
	struct kvm_segment *const segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};

	return segs[i];
}

#define NR_SREG_SEGS	8

struct vcpu_msgs {
	NcRegs regs;
	NcSregs sregs;
	NcSegment seg[NR_SREG_SEGS], *segp[NR_SREG_SEGS];
	NcXcrs xcrs;
	NcMsr **xcr;
	NcDebugregs dbg;
	NcMsr **msrs;
	NcCpuidEntry **cpuid;
	NcNested nested;
	NcVmxNested vmx;
	NcVmcs12 vmcs12[2];
	NcVmcsField **fields[2];
	NcSvmNested svm;
	struct nc_vmcs12 *v12[2];
	struct nc_svm_clean *clean;
};

static void regs_to_pb(struct vcpu_msgs *w, const struct nc_vcpu_state *v,
		       NcVcpu *m)
{
	nc_regs__init(&w->regs);
	w->regs.n_gpr = KVM_REGS_GPRS;
	w->regs.gpr = (uint64_t *)&v->regs;	/* rax..r15 lead struct kvm_regs */
	w->regs.rip = v->regs.rip;
	w->regs.rflags = v->regs.rflags;
	m->regs = &w->regs;
}

static void sregs_to_pb(struct vcpu_msgs *w, const struct nc_vcpu_state *v,
			NcVcpu *m)
{
	struct kvm_sregs *s = (struct kvm_sregs *)&v->sregs;
	int i;

	nc_sregs__init(&w->sregs);
	for (i = 0; i < NR_SREG_SEGS; i++) {
		const struct kvm_segment *k = sreg_seg(s, i);

		nc_segment__init(&w->seg[i]);
		w->seg[i].seg_base = k->base;
		w->seg[i].limit = k->limit;
		w->seg[i].selector = k->selector;
		w->seg[i].attr = seg_attr(k);
		w->segp[i] = &w->seg[i];
	}
	w->sregs.n_seg = NR_SREG_SEGS;
	w->sregs.seg = w->segp;
	w->sregs.gdt_base = s->gdt.base;
	w->sregs.gdt_limit = s->gdt.limit;
	w->sregs.idt_base = s->idt.base;
	w->sregs.idt_limit = s->idt.limit;
	w->sregs.cr0 = s->cr0;
	w->sregs.cr2 = s->cr2;
	w->sregs.cr3 = s->cr3;
	w->sregs.cr4 = s->cr4;
	w->sregs.cr8 = s->cr8;
	w->sregs.efer = s->efer;
	w->sregs.apic_base = s->apic_base;
	w->sregs.n_interrupt_bitmap = sizeof(s->interrupt_bitmap) / sizeof(uint64_t);
	w->sregs.interrupt_bitmap = (uint64_t *)s->interrupt_bitmap;
	if (v->have & NC_VCPU_PDPTRS) {
		w->sregs.n_pdptrs = 4;
		w->sregs.pdptrs = (uint64_t *)v->pdptrs;
	}
	m->sregs = &w->sregs;
}

static int sregs_from_pb(struct nc_vcpu_state *v, const NcSregs *p,
			 struct nc_why *why)
{
	struct kvm_sregs *s = &v->sregs;
	int i;

	if (p->n_seg != NR_SREG_SEGS || p->n_interrupt_bitmap !=
	    sizeof(s->interrupt_bitmap) / sizeof(uint64_t) ||
	    (p->n_pdptrs != 0 && p->n_pdptrs != 4) ||
	    p->gdt_limit > 0xffff || p->idt_limit > 0xffff)
		return nc_why_set(why, "sregs: %zu segments, %zu interrupt bitmap "
				  "words, %zu PDPTRs", p->n_seg,
				  p->n_interrupt_bitmap, p->n_pdptrs);
	for (i = 0; i < NR_SREG_SEGS; i++)
		seg_from_pb(sreg_seg(s, i), p->seg[i]);
	s->gdt.base = p->gdt_base;
	s->gdt.limit = p->gdt_limit;
	s->idt.base = p->idt_base;
	s->idt.limit = p->idt_limit;
	s->cr0 = p->cr0;
	s->cr2 = p->cr2;
	s->cr3 = p->cr3;
	s->cr4 = p->cr4;
	s->cr8 = p->cr8;
	s->efer = p->efer;
	s->apic_base = p->apic_base;
	memcpy(s->interrupt_bitmap, p->interrupt_bitmap, sizeof(s->interrupt_bitmap));
	v->have |= NC_VCPU_SREGS;
	if (p->n_pdptrs == 4) {
		memcpy(v->pdptrs, p->pdptrs, sizeof(v->pdptrs));
		v->have |= NC_VCPU_PDPTRS;
	}
	return 0;
}

/* ---- vCPU: nested state --------------------------------------------------- */

static int vmcs12_to_pb(NcVmcs12 *m, NcVmcsField ***fields,
			const struct nc_vmcs12 *v)
{
	uint32_t i;

	nc_vmcs12__init(m);
	m->revision = v->revision;
	m->abort = v->abort;
	m->launch_state = v->launch_state;
	*fields = (NcVmcsField **)msg_array(v->n, sizeof(NcVmcsField));
	if (!*fields)
		return -ENOMEM;
	for (i = 0; i < v->n; i++) {
		nc_vmcs_field__init((*fields)[i]);
		(*fields)[i]->encoding = v->f[i].encoding;
		(*fields)[i]->value = v->f[i].value;
	}
	m->n_fields = v->n;
	m->fields = *fields;
	return 0;
}

static int vmx_nested_to_pb(struct vcpu_msgs *w, const struct kvm_nested_state *ns,
			    struct nc_why *why)
{
	const uint8_t *data = (const uint8_t *)ns + NESTED_HDR_SIZE;
	NcVmcs12 **slot[2] = { &w->vmx.vmcs12, &w->vmx.shadow_vmcs12 };
	int i, rc;

	nc_vmx_nested__init(&w->vmx);
	w->vmx.vmxon_pa = ns->hdr.vmx.vmxon_pa;
	w->vmx.vmcs12_pa = ns->hdr.vmx.vmcs12_pa;
	w->vmx.smm_flags = ns->hdr.vmx.smm.flags;
	w->vmx.flags = ns->hdr.vmx.flags;
	w->vmx.has_preemption_timer_deadline = 1;
	w->vmx.preemption_timer_deadline = ns->hdr.vmx.preemption_timer_deadline;
	for (i = 0; i < 2; i++) {
		if (ns->size < (uint32_t)(NESTED_HDR_SIZE + (i + 1) * NC_VMCS12_PAGE))
			break;
		w->v12[i] = malloc(sizeof(*w->v12[i]));
		if (!w->v12[i])
			return -ENOMEM;
		rc = nc_vmcs12_from_kvm(data + i * NC_VMCS12_PAGE, NC_VMCS12_PAGE,
					w->v12[i], why);
		if (rc)
			return rc;
		rc = vmcs12_to_pb(&w->vmcs12[i], &w->fields[i], w->v12[i]);
		if (rc)
			return rc;
		*slot[i] = &w->vmcs12[i];
	}
	w->nested.vmx = &w->vmx;
	return 0;
}

static int svm_nested_to_pb(struct vcpu_msgs *w, const struct nc_vcpu_state *v,
			    struct nc_why *why)
{
	struct nc_svm_clean *c = malloc(sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	w->clean = c;
	rc = nc_svm_clean_from_kvm(v->nested, v, c, why);
	if (rc)
		return rc;
	nc_svm_nested__init(&w->svm);
	w->svm.vmcb12_pa = c->vmcb12_pa;
	w->svm.gif = c->gif;
	if (c->guest_mode) {
		w->svm.has_l1_save = w->svm.has_vmcb12_control = 1;
		w->svm.has_vmcb12_save = 1;
		w->svm.l1_save = raw_out(c->l1_save, sizeof(c->l1_save));
		w->svm.vmcb12_control = raw_out(c->vmcb12_control,
						sizeof(c->vmcb12_control));
		w->svm.vmcb12_save = raw_out(c->vmcb12_save, sizeof(c->vmcb12_save));
		w->svm.has_l1_cr0 = w->svm.has_l1_cr3 = 1;
		w->svm.has_l1_cr4 = w->svm.has_l1_efer = 1;
		w->svm.l1_cr0 = c->l1_cr0;
		w->svm.l1_cr3 = c->l1_cr3;
		w->svm.l1_cr4 = c->l1_cr4;
		w->svm.l1_efer = c->l1_efer;
	}
	w->nested.svm = &w->svm;
	return 0;
}

static int nested_to_pb(struct vcpu_msgs *w, const struct nc_vcpu_state *v,
			NcVcpu *m, struct nc_why *why)
{
	const struct kvm_nested_state *ns = v->nested;
	int rc;

	if (ns->size < NESTED_HDR_SIZE)
		return nc_why_set(why, "nested state of %u bytes", ns->size);
	nc_nested__init(&w->nested);
	w->nested.format = ns->format;
	w->nested.kvm_flags = ns->flags;
	w->nested.kvm_size = ns->size;
	if (v->have & NC_VCPU_RECORD) {
		w->nested.has_record_flags = 1;
		w->nested.record_flags = v->rec.flags;
	}
	if (ns->format == KVM_STATE_NESTED_FORMAT_VMX)
		rc = vmx_nested_to_pb(w, ns, why);
	else if (ns->format == KVM_STATE_NESTED_FORMAT_SVM)
		rc = svm_nested_to_pb(w, v, why);
	else
		rc = nc_why_set(why, "nested state format %u is unknown", ns->format);
	m->nested = &w->nested;
	return rc;
}

static int vmcs12_from_pb(struct nc_vmcs12 *v, const NcVmcs12 *m,
			  struct nc_why *why)
{
	size_t i;

	if (m->n_fields > NC_VMCS12_MAX_FIELDS)
		return nc_why_set(why, "vmcs12: %zu fields, at most %d",
				  m->n_fields, NC_VMCS12_MAX_FIELDS);
	memset(v, 0, sizeof(*v));
	v->revision = m->revision;
	v->abort = m->abort;
	v->launch_state = m->launch_state;
	v->n = m->n_fields;
	for (i = 0; i < m->n_fields; i++) {
		v->f[i].encoding = m->fields[i]->encoding;
		v->f[i].value = m->fields[i]->value;
	}
	return 0;
}

/* The image's VMX record -> KVM's blob in this library's (the host's) layout. */
static int vmx_nested_from_pb(struct nc_vcpu_state *v, const NcNested *n,
			      struct nc_why *why)
{
	const NcVmxNested *x = n->vmx;
	const NcVmcs12 *pages[2] = { x->vmcs12, x->shadow_vmcs12 };
	struct kvm_nested_state *ns;
	struct nc_vmcs12 *tmp;
	size_t size = NESTED_HDR_SIZE;
	int i, rc = 0;

	if (x->shadow_vmcs12 && !x->vmcs12)
		return nc_why_set(why, "VMX: shadow vmcs12 without a vmcs12");
	if ((n->kvm_flags & KVM_STATE_NESTED_GUEST_MODE) && !x->vmcs12)
		return nc_why_set(why, "VMX: guest mode without a vmcs12");
	size += (x->vmcs12 ? NC_VMCS12_PAGE : 0) +
		(x->shadow_vmcs12 ? NC_VMCS12_PAGE : 0);
	ns = calloc(1, size);
	tmp = malloc(sizeof(*tmp));
	if (!ns || !tmp) {
		free(ns);
		free(tmp);
		return -ENOMEM;
	}
	ns->format = KVM_STATE_NESTED_FORMAT_VMX;
	ns->flags = n->kvm_flags;
	ns->size = size;
	ns->hdr.vmx.vmxon_pa = x->vmxon_pa;
	ns->hdr.vmx.vmcs12_pa = x->vmcs12_pa;
	ns->hdr.vmx.smm.flags = x->smm_flags;
	ns->hdr.vmx.flags = x->flags;
	ns->hdr.vmx.preemption_timer_deadline = x->preemption_timer_deadline;
	for (i = 0; i < 2 && pages[i] && !rc; i++) {
		rc = vmcs12_from_pb(tmp, pages[i], why);
		if (!rc)
			rc = nc_vmcs12_to_kvm(tmp, &nc_vmcs12_layout_11e57ed0,
					      (uint8_t *)ns + NESTED_HDR_SIZE +
					      i * NC_VMCS12_PAGE, NC_VMCS12_PAGE, why);
	}
	free(tmp);
	if (rc) {
		free(ns);
		return rc;
	}
	v->nested = ns;
	v->rec.vmxon_pa = x->vmxon_pa;
	v->rec.vmcs12_pa = x->vmcs12_pa;
	return 0;
}

static int svm_nested_from_pb(struct nc_vcpu_state *v, const NcNested *n,
			      struct nc_why *why)
{
	const NcSvmNested *s = n->svm;
	struct nc_svm_clean *c = calloc(1, sizeof(*c));
	int rc = 0;

	if (!c)
		return -ENOMEM;
	c->guest_mode = n->kvm_flags & KVM_STATE_NESTED_GUEST_MODE;
	c->run_pending = n->kvm_flags & KVM_STATE_NESTED_RUN_PENDING;
	c->gif = s->gif;
	c->vmcb12_pa = s->vmcb12_pa;
	if (c->guest_mode) {
		if (!s->has_l1_cr0 || !s->has_l1_cr3 || !s->has_l1_cr4 ||
		    !s->has_l1_efer)
			rc = nc_why_set(why, "SVM guest mode without L1's "
					"guest-visible CR0/CR3/CR4/EFER");
		if (!rc)
			rc = raw_in(&s->l1_save, c->l1_save, sizeof(c->l1_save),
				    "SVM L1 save area", why);
		if (!rc)
			rc = raw_in(&s->vmcb12_control, c->vmcb12_control,
				    sizeof(c->vmcb12_control), "VMCB12 control area", why);
		if (!rc)
			rc = raw_in(&s->vmcb12_save, c->vmcb12_save,
				    sizeof(c->vmcb12_save), "VMCB12 save area", why);
		c->l1_cr0 = s->l1_cr0;
		c->l1_cr3 = s->l1_cr3;
		c->l1_cr4 = s->l1_cr4;
		c->l1_efer = s->l1_efer;
	}
	if (!rc)
		rc = nc_svm_clean_to_kvm(c, &v->nested, why);
	free(c);
	v->rec.vmcb12_pa = s->vmcb12_pa;
	return rc;
}

static int nested_from_pb(struct nc_vcpu_state *v, const NcNested *n,
			  struct nc_why *why)
{
	int rc;

	if (n->format == KVM_STATE_NESTED_FORMAT_VMX && n->vmx && !n->svm)
		rc = vmx_nested_from_pb(v, n, why);
	else if (n->format == KVM_STATE_NESTED_FORMAT_SVM && n->svm && !n->vmx)
		rc = svm_nested_from_pb(v, n, why);
	else
		return nc_why_set(why, "nested state format %u without its "
				  "vendor record", n->format);
	if (rc)
		return rc;
	if (n->has_record_flags) {
		v->have |= NC_VCPU_RECORD;
		v->rec.flags = n->record_flags;
	}
	return 0;
}

/* ---- vCPU ------------------------------------------------------------------ */

static void vcpu_msgs_free(struct vcpu_msgs *w, const NcVcpu *m)
{
	int i;

	msg_array_free((void **)w->xcr, w->xcrs.n_xcr);
	msg_array_free((void **)w->msrs, m->n_msrs);
	msg_array_free((void **)w->cpuid, m->n_cpuid);
	for (i = 0; i < 2; i++) {
		msg_array_free((void **)w->fields[i], w->vmcs12[i].n_fields);
		free(w->v12[i]);
	}
	free(w->clean);
}

static int vcpu_lists_to_pb(struct vcpu_msgs *w, const struct nc_vcpu_state *v,
			    NcVcpu *m)
{
	uint32_t i;

	if (v->msrs) {
		w->msrs = msrs_to_pb(v->msrs->entries, v->msrs->nmsrs);
		if (!w->msrs)
			return -ENOMEM;
		m->n_msrs = v->msrs->nmsrs;
		m->msrs = w->msrs;
	}
	if (v->cpuid) {
		w->cpuid = (NcCpuidEntry **)msg_array(v->cpuid->nent, sizeof(NcCpuidEntry));
		if (!w->cpuid)
			return -ENOMEM;
		for (i = 0; i < v->cpuid->nent; i++)
			cpuid_to_pb(w->cpuid[i], &v->cpuid->entries[i]);
		m->n_cpuid = v->cpuid->nent;
		m->cpuid = w->cpuid;
	}
	if (v->have & NC_VCPU_XCRS) {
		uint32_t n = v->xcrs.nr_xcrs < KVM_MAX_XCRS ? v->xcrs.nr_xcrs : KVM_MAX_XCRS;

		nc_xcrs__init(&w->xcrs);
		w->xcrs.flags = v->xcrs.flags;
		w->xcr = (NcMsr **)msg_array(n, sizeof(NcMsr));
		if (!w->xcr)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			nc_msr__init(w->xcr[i]);
			w->xcr[i]->index = v->xcrs.xcrs[i].xcr;
			w->xcr[i]->data = v->xcrs.xcrs[i].value;
		}
		w->xcrs.n_xcr = n;
		w->xcrs.xcr = w->xcr;
		m->xcrs = &w->xcrs;
	}
	return 0;
}

int nc_vcpu_pack(const struct nc_vcpu_state *v, uint32_t vm_index,
		 uint8_t **out, size_t *len, struct nc_why *why)
{
	NcVcpu m = NC_VCPU__INIT;
	struct vcpu_msgs w;
	int rc;

	memset(&w, 0, sizeof(w));
	m.vm_index = vm_index;
	m.id = v->id;
	if (v->have & NC_VCPU_REGS)
		regs_to_pb(&w, v, &m);
	if (v->have & NC_VCPU_SREGS)
		sregs_to_pb(&w, v, &m);
	if (v->xsave) {
		m.has_xsave = 1;
		m.xsave = raw_out(v->xsave, v->xsave_size);
	}
	if (v->have & NC_VCPU_LAPIC) {
		m.has_lapic = 1;
		m.lapic = raw_out(&v->lapic, sizeof(v->lapic));
	}
	if (v->have & NC_VCPU_EVENTS) {
		m.has_events = 1;
		m.events = raw_out(&v->events, sizeof(v->events));
	}
	if (v->have & NC_VCPU_DEBUGREGS) {
		nc_debugregs__init(&w.dbg);
		w.dbg.n_db = 4;
		w.dbg.db = (uint64_t *)v->debugregs.db;
		w.dbg.dr6 = v->debugregs.dr6;
		w.dbg.dr7 = v->debugregs.dr7;
		w.dbg.flags = v->debugregs.flags;
		m.debugregs = &w.dbg;
	}
	if (v->have & NC_VCPU_MP_STATE) {
		m.has_mp_state = 1;
		m.mp_state = v->mp_state.mp_state;
	}
	if (v->have & NC_VCPU_TSC_KHZ) {
		m.has_tsc_khz = 1;
		m.tsc_khz = v->tsc_khz;
	}
	rc = vcpu_lists_to_pb(&w, v, &m);
	if (!rc && v->nested)
		rc = nested_to_pb(&w, v, &m, why);
	if (!rc)
		rc = pack_msg(&m.base, out, len);
	vcpu_msgs_free(&w, &m);
	return rc;
}

static int vcpu_lists_from_pb(struct nc_vcpu_state *v, const NcVcpu *m,
			      struct nc_why *why)
{
	size_t i;

	if (m->n_msrs > MAX_MSRS || m->n_cpuid > MAX_CPUID)
		return nc_why_set(why, "%zu MSRs / %zu CPUID entries: more than "
				  "%d / %d", m->n_msrs, m->n_cpuid, MAX_MSRS, MAX_CPUID);
	if (m->n_msrs) {
		v->msrs = calloc(1, sizeof(*v->msrs) +
				 m->n_msrs * sizeof(v->msrs->entries[0]));
		if (!v->msrs)
			return -ENOMEM;
		v->msrs->nmsrs = m->n_msrs;
		for (i = 0; i < m->n_msrs; i++) {
			v->msrs->entries[i].index = m->msrs[i]->index;
			v->msrs->entries[i].data = m->msrs[i]->data;
		}
	}
	if (m->n_cpuid) {
		v->cpuid = calloc(1, sizeof(*v->cpuid) +
				  m->n_cpuid * sizeof(v->cpuid->entries[0]));
		if (!v->cpuid)
			return -ENOMEM;
		v->cpuid->nent = m->n_cpuid;
		for (i = 0; i < m->n_cpuid; i++)
			cpuid_from_pb(&v->cpuid->entries[i], m->cpuid[i]);
	}
	if (m->xcrs) {
		if (m->xcrs->n_xcr > KVM_MAX_XCRS)
			return nc_why_set(why, "%zu XCRs, at most %d",
					  m->xcrs->n_xcr, KVM_MAX_XCRS);
		v->have |= NC_VCPU_XCRS;
		v->xcrs.flags = m->xcrs->flags;
		v->xcrs.nr_xcrs = m->xcrs->n_xcr;
		for (i = 0; i < m->xcrs->n_xcr; i++) {
			v->xcrs.xcrs[i].xcr = m->xcrs->xcr[i]->index;
			v->xcrs.xcrs[i].value = m->xcrs->xcr[i]->data;
		}
	}
	return 0;
}

static int vcpu_fields_from_pb(struct nc_vcpu_state *v, const NcVcpu *m,
			       struct nc_why *why)
{
	int rc;

	v->id = m->id;
	if (m->regs) {
		if (m->regs->n_gpr != KVM_REGS_GPRS)
			return nc_why_set(why, "regs: %zu GPRs, not %d",
					  m->regs->n_gpr, KVM_REGS_GPRS);
		memcpy(&v->regs, m->regs->gpr, KVM_REGS_GPRS * sizeof(uint64_t));
		v->regs.rip = m->regs->rip;
		v->regs.rflags = m->regs->rflags;
		v->have |= NC_VCPU_REGS;
	}
	if (m->sregs && (rc = sregs_from_pb(v, m->sregs, why)))
		return rc;
	if (m->has_xsave) {
		if (m->xsave.len < sizeof(struct kvm_xsave) ||
		    m->xsave.len > MAX_XSAVE_SIZE || m->xsave.len % 64)
			return nc_why_set(why, "XSAVE area of %zu bytes", m->xsave.len);
		v->xsave = malloc(m->xsave.len);
		if (!v->xsave)
			return -ENOMEM;
		memcpy(v->xsave, m->xsave.data, m->xsave.len);
		v->xsave_size = m->xsave.len;
	}
	if (m->has_lapic) {
		if ((rc = raw_in(&m->lapic, &v->lapic, sizeof(v->lapic), "LAPIC", why)))
			return rc;
		v->have |= NC_VCPU_LAPIC;
	}
	if (m->has_events) {
		if ((rc = raw_in(&m->events, &v->events, sizeof(v->events),
				 "vcpu events", why)))
			return rc;
		v->have |= NC_VCPU_EVENTS;
	}
	if (m->debugregs) {
		if (m->debugregs->n_db != 4)
			return nc_why_set(why, "debugregs: %zu DRs, not 4",
					  m->debugregs->n_db);
		memcpy(v->debugregs.db, m->debugregs->db, sizeof(v->debugregs.db));
		v->debugregs.dr6 = m->debugregs->dr6;
		v->debugregs.dr7 = m->debugregs->dr7;
		v->debugregs.flags = m->debugregs->flags;
		v->have |= NC_VCPU_DEBUGREGS;
	}
	if (m->has_mp_state) {
		v->mp_state.mp_state = m->mp_state;
		v->have |= NC_VCPU_MP_STATE;
	}
	if (m->has_tsc_khz) {
		v->tsc_khz = m->tsc_khz;
		v->have |= NC_VCPU_TSC_KHZ;
	}
	return vcpu_lists_from_pb(v, m, why);
}

int nc_vcpu_unpack(const uint8_t *b, size_t len, struct nc_vcpu_state *v,
		   uint32_t *vm_index, struct nc_why *why)
{
	NcVcpu *m = nc_vcpu__unpack(NULL, len, b);
	int rc;

	if (!m)
		return nc_why_set(why, "cannot decode (%zu bytes)", len);
	memset(v, 0, sizeof(*v));
	*vm_index = m->vm_index;
	rc = vcpu_fields_from_pb(v, m, why);
	if (!rc && m->nested)
		rc = nested_from_pb(v, m->nested, why);
	nc_vcpu__free_unpacked(m, NULL);
	if (rc)
		nc_vcpu_state_free(v);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The state of a VM that no KVM ioctl returns, read from the structures of
 * KVM's public headers (struct kvm, struct kvm_kernel_irqfd, the routing
 * table) under the locks KVM itself takes for them:
 *  - memslots the VMM set (not KVM's internal ones), per address space;
 *  - irqfds, their GSI, and the VMM's fd numbers of their eventfds, found
 *    by matching eventfd contexts against the VMM's file table;
 *  - the GSI routing table, back in KVM_SET_GSI_ROUTING's form;
 *  - the capabilities the VMM enabled with KVM_ENABLE_CAP, from the fields
 *    of struct kvm_arch they set, as the KVM_ENABLE_CAP that sets them.
 *  - ioeventfds and coalesced-MMIO zones, which live in structures private
 *    to virt/kvm: their layout comes from KVM's BTF (kvm_btf.c), and every
 *    entry is checked against KVM's public I/O bus tables, which must hold
 *    the very device at the address and length read, before it is used.
 *    Pointers read through those layouts are never dereferenced.
 *  - the MSR filter (kvm->arch.msr_filter, struct kvm_x86_msr_filter of
 *    asm/kvm_host.h), copied under kvm->srcu as KVM's own readers do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/kvm_irqfd.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "nck.h"

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define NCK_ADDRESS_SPACES	KVM_MAX_NR_ADDRESS_SPACES
#else
#define NCK_ADDRESS_SPACES	KVM_ADDRESS_SPACE_NUM
#endif

#define NCK_MAX_IRQFDS	4096
#define NCK_MAX_ROUTES	KVM_MAX_IRQ_ROUTES
#define NCK_MAX_CAPS	16
/* Above what KVM's buses can hold (NR_IOBUS_DEVS each): more is corrupt. */
#define NCK_MAX_IOEVENTFDS	4096
#define NCK_MAX_ZONES		2048
#define NCK_VM_STATE_MAX_LEN	(16U << 20)

struct nck_vm_lists {
	struct kvm_userspace_memory_region *slots;
	u32 nr_slots;
	struct nestckpt_irqfd *irqfds;
	struct eventfd_ctx **ctx, **rctx;	/* identity only, never dereferenced */
	u32 nr_irqfds;
	struct kvm_irq_routing_entry *routes;
	u32 nr_routes;
	struct kvm_enable_cap caps[NCK_MAX_CAPS];
	u32 nr_caps;
	struct kvm_ioeventfd *ioeventfds;
	struct eventfd_ctx **ioctx;		/* identity only */
	u32 nr_ioeventfds;
	struct kvm_coalesced_mmio_zone *zones;
	u32 nr_zones;
	struct nestckpt_msr_filter *filter;
	u32 nr_filters;				/* 0: the VM has none */
};

static int nck_read_memslots(struct kvm *kvm, struct nck_vm_lists *l)
{
	struct kvm_memory_slot *slot;
	u32 n = 0, max;
	int as, idx, bkt;

	max = NCK_ADDRESS_SPACES * KVM_USER_MEM_SLOTS;
	l->slots = kvcalloc(max, sizeof(*l->slots), GFP_KERNEL);
	if (!l->slots)
		return -ENOMEM;
	idx = srcu_read_lock(&kvm->srcu);
	for (as = 0; as < NCK_ADDRESS_SPACES; as++) {
		struct kvm_memslots *slots = __kvm_memslots(kvm, as);

		kvm_for_each_memslot(slot, bkt, slots) {
			if (slot->id >= KVM_USER_MEM_SLOTS || n == max)
				continue;	/* KVM's own (APIC access page, TSS) */
			l->slots[n++] = (struct kvm_userspace_memory_region){
				.slot = (as << 16) | slot->id,
				.flags = slot->flags,
				.guest_phys_addr = slot->base_gfn << PAGE_SHIFT,
				.memory_size = slot->npages << PAGE_SHIFT,
				.userspace_addr = slot->userspace_addr,
			};
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	l->nr_slots = n;
	return 0;
}

struct nck_fd_match {
	struct nck_vm_lists *l;
};

/* Under the file table's lock: match eventfd contexts to fd numbers. */
static int nck_match_eventfd(const void *arg, struct file *file, unsigned int fd)
{
	const struct nck_fd_match *m = arg;
	struct eventfd_ctx *ctx = eventfd_ctx_fileget(file);
	u32 i;

	if (IS_ERR(ctx))
		return 0;
	for (i = 0; i < m->l->nr_irqfds; i++) {
		if (m->l->ctx[i] == ctx && m->l->irqfds[i].fd < 0)
			m->l->irqfds[i].fd = fd;
		if (m->l->rctx[i] == ctx && m->l->irqfds[i].resample_fd < 0)
			m->l->irqfds[i].resample_fd = fd;
	}
	for (i = 0; i < m->l->nr_ioeventfds; i++)
		if (m->l->ioctx[i] == ctx && m->l->ioeventfds[i].fd < 0)
			m->l->ioeventfds[i].fd = fd;
	eventfd_ctx_put(ctx);	/* the file still holds its own reference */
	return 0;
}

/* The VMM's fd numbers of the eventfds collected so far (lowest first). */
static void nck_match_fds(struct task_struct *leader, struct nck_vm_lists *l)
{
	struct nck_fd_match m = { .l = l };

	task_lock(leader);
	if (leader->files)
		iterate_fd(leader->files, 0, nck_match_eventfd, &m);
	task_unlock(leader);
}

static int nck_read_irqfds(struct kvm *kvm, struct nck_vm_lists *l)
{
	struct kvm_kernel_irqfd *irqfd;
	u32 n = 0;

	l->irqfds = kvcalloc(NCK_MAX_IRQFDS, sizeof(*l->irqfds), GFP_KERNEL);
	l->ctx = kvcalloc(NCK_MAX_IRQFDS, sizeof(*l->ctx), GFP_KERNEL);
	l->rctx = kvcalloc(NCK_MAX_IRQFDS, sizeof(*l->rctx), GFP_KERNEL);
	if (!l->irqfds || !l->ctx || !l->rctx)
		return -ENOMEM;

	spin_lock_irq(&kvm->irqfds.lock);
	list_for_each_entry(irqfd, &kvm->irqfds.items, list) {
		if (n == NCK_MAX_IRQFDS)
			break;
		l->ctx[n] = irqfd->eventfd;
		l->rctx[n] = irqfd->resamplefd;
		l->irqfds[n] = (struct nestckpt_irqfd){
			.fd = -1,
			.resample_fd = -1,
			.gsi = irqfd->gsi,
			.flags = irqfd->resamplefd ? KVM_IRQFD_FLAG_RESAMPLE : 0,
		};
		n++;
	}
	spin_unlock_irq(&kvm->irqfds.lock);
	l->nr_irqfds = n;
	return 0;
}

/*
 * The range of KVM's bus @idx that holds device @dev, or NULL.  Under
 * kvm->slots_lock, which KVM holds to change the buses.
 */
static const struct kvm_io_range *nck_bus_range(struct kvm *kvm, u32 idx,
						const void *dev)
{
	struct kvm_io_bus *bus;
	int i;

	if (idx >= KVM_NR_BUSES)
		return NULL;
	bus = kvm_get_bus(kvm, idx);
	for (i = 0; bus && i < bus->dev_count; i++)
		if (bus->range[i].dev == dev)
			return &bus->range[i];
	return NULL;
}

static bool nck_warned_ioev, nck_warned_cmmio;

/* Refuse a component whose entries KVM's buses do not confirm; say it once. */
static int nck_refuse(bool *warned, const char *what, const char *why)
{
	if (!READ_ONCE(*warned)) {
		WRITE_ONCE(*warned, true);
		pr_warn("%s read by KVM's BTF does not match its I/O bus (%s): not reported\n",
			what, why);
	}
	return -EPROTO;
}

#define nck_refuse_ioev(why) \
	nck_refuse(&nck_warned_ioev, "struct _ioeventfd", why)
#define nck_refuse_cmmio(why) \
	nck_refuse(&nck_warned_cmmio, "struct kvm_coalesced_mmio_dev", why)

/*
 * ioeventfds (struct _ioeventfd on kvm->ioeventfds, under slots_lock).
 * Each entry's device must sit on its bus at its address and length, and
 * each bus must count as many ioeventfds as the list holds for it.
 */
static int nck_read_ioeventfds(struct kvm *kvm, const struct nck_ioev_layout *lo,
			       struct nck_vm_lists *l)
{
	u32 per_bus[KVM_NR_BUSES] = {}, seen = 0, n = 0, b;
	struct list_head *pos;
	int ret = 0;

	l->ioeventfds = kvcalloc(NCK_MAX_IOEVENTFDS, sizeof(*l->ioeventfds),
				 GFP_KERNEL);
	l->ioctx = kvcalloc(NCK_MAX_IOEVENTFDS, sizeof(*l->ioctx), GFP_KERNEL);
	if (!l->ioeventfds || !l->ioctx)
		return -ENOMEM;

	if (mutex_lock_killable(&kvm->slots_lock))
		return -EINTR;
	list_for_each(pos, &kvm->ioeventfds) {
		const u8 *p = (const u8 *)pos - lo->list;
		const struct kvm_io_range *r;
		u64 addr, datamatch;
		u8 bus, wildcard;
		int len;

		if (++seen > NCK_MAX_IOEVENTFDS) {
			ret = nck_refuse_ioev("too many");
			break;
		}
		memcpy(&addr, p + lo->addr, sizeof(addr));
		memcpy(&len, p + lo->length, sizeof(len));
		memcpy(&datamatch, p + lo->datamatch, sizeof(datamatch));
		bus = p[lo->bus_idx];
		wildcard = p[lo->wildcard];
		r = nck_bus_range(kvm, bus, p + lo->dev);
		if (!r || r->addr != addr || r->len != len || wildcard > 1) {
			ret = nck_refuse_ioev(r ? "address" : "device");
			break;
		}
		per_bus[bus]++;
		/* KVM_IOEVENTFD put a len-0 MMIO one on both MMIO buses. */
		if (bus == KVM_FAST_MMIO_BUS && !len)
			continue;
		if (bus == KVM_FAST_MMIO_BUS) {
			ret = nck_refuse_ioev("fast MMIO length");
			break;
		}
		memcpy(&l->ioctx[n], p + lo->eventfd, sizeof(l->ioctx[n]));
		l->ioeventfds[n] = (struct kvm_ioeventfd){
			.datamatch = wildcard ? 0 : datamatch,
			.addr = addr,
			.len = len,
			.fd = -1,
			.flags = (wildcard ? 0 : KVM_IOEVENTFD_FLAG_DATAMATCH) |
				 (bus == KVM_PIO_BUS ? KVM_IOEVENTFD_FLAG_PIO : 0) |
				 (bus == KVM_VIRTIO_CCW_NOTIFY_BUS ?
				  KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY : 0),
		};
		n++;
	}
	for (b = 0; !ret && b < KVM_NR_BUSES; b++) {
		struct kvm_io_bus *bus = kvm_get_bus(kvm, b);
		u32 count = bus ? bus->ioeventfd_count : 0;

		if (count != per_bus[b])
			ret = nck_refuse_ioev("count");
	}
	mutex_unlock(&kvm->slots_lock);
	l->nr_ioeventfds = ret ? 0 : n;
	return ret;
}

/* Coalesced zones (struct kvm_coalesced_mmio_dev on kvm->coalesced_zones). */
static int nck_read_zones(struct kvm *kvm, const struct nck_cmmio_layout *lo,
			  struct nck_vm_lists *l)
{
	struct list_head *pos;
	u32 n = 0;
	int ret = 0;

	l->zones = kvcalloc(NCK_MAX_ZONES, sizeof(*l->zones), GFP_KERNEL);
	if (!l->zones)
		return -ENOMEM;

	if (mutex_lock_killable(&kvm->slots_lock))
		return -EINTR;
	list_for_each(pos, &kvm->coalesced_zones) {
		const u8 *p = (const u8 *)pos - lo->list;
		struct kvm_coalesced_mmio_zone z;
		const struct kvm_io_range *r;

		if (n == NCK_MAX_ZONES) {
			ret = nck_refuse_cmmio("too many");
			break;
		}
		memcpy(&z, p + lo->zone, sizeof(z));
		r = z.pio > 1 ? NULL :
		    nck_bus_range(kvm, z.pio ? KVM_PIO_BUS : KVM_MMIO_BUS,
				  p + lo->dev);
		if (!r || r->addr != z.addr || r->len != (int)z.size) {
			ret = nck_refuse_cmmio(r ? "address" : "device");
			break;
		}
		l->zones[n++] = z;
	}
	mutex_unlock(&kvm->slots_lock);
	l->nr_zones = ret ? 0 : n;
	return ret;
}

static int nck_read_routing(struct kvm *kvm, struct nck_vm_lists *l)
{
	struct kvm_irq_routing_table *table;
	struct kvm_kernel_irq_routing_entry *e;
	u32 n = 0, gsi;
	int idx;

	l->routes = kvcalloc(NCK_MAX_ROUTES, sizeof(*l->routes), GFP_KERNEL);
	if (!l->routes)
		return -ENOMEM;
	idx = srcu_read_lock(&kvm->irq_srcu);
	table = srcu_dereference(kvm->irq_routing, &kvm->irq_srcu);
	for (gsi = 0; table && gsi < table->nr_rt_entries; gsi++) {
		hlist_for_each_entry(e, &table->map[gsi], link) {
			struct kvm_irq_routing_entry *r = &l->routes[n];

			if (n == NCK_MAX_ROUTES)
				break;
			memset(r, 0, sizeof(*r));
			r->gsi = e->gsi;
			r->type = e->type;
			switch (e->type) {
			case KVM_IRQ_ROUTING_IRQCHIP:
				r->u.irqchip.irqchip = e->irqchip.irqchip;
				r->u.irqchip.pin = e->irqchip.pin;
				/* KVM numbers the slave PIC's pins 8-15 inside, 0-7 in its ABI. */
				if (e->irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE &&
				    r->u.irqchip.pin >= 8)
					r->u.irqchip.pin -= 8;
				break;
			case KVM_IRQ_ROUTING_MSI:
				r->flags = e->msi.flags;
				r->u.msi.address_lo = e->msi.address_lo;
				r->u.msi.address_hi = e->msi.address_hi;
				r->u.msi.data = e->msi.data;
				r->u.msi.devid = e->msi.devid;
				break;
			case KVM_IRQ_ROUTING_HV_SINT:
				r->u.hv_sint.vcpu = e->hv_sint.vcpu;
				r->u.hv_sint.sint = e->hv_sint.sint;
				break;
			default:
				break;	/* type alone: Xen and s390 routes */
			}
			n++;
		}
	}
	srcu_read_unlock(&kvm->irq_srcu, idx);
	l->nr_routes = n;
	return 0;
}

static void nck_cap(struct nck_vm_lists *l, u32 cap, u64 arg0)
{
	if (l->nr_caps < NCK_MAX_CAPS)
		l->caps[l->nr_caps++] = (struct kvm_enable_cap){
			.cap = cap, .args = { arg0 },
		};
}

/* Capabilities whose fields differ from what a new VM starts with. */
static void nck_read_caps(struct kvm *kvm, struct nck_vm_lists *l)
{
	struct kvm_arch *a = &kvm->arch;
	u64 exits = 0, x2apic = 0;

	if (a->irqchip_mode == KVM_IRQCHIP_SPLIT)
		nck_cap(l, KVM_CAP_SPLIT_IRQCHIP, a->nr_reserved_ioapic_pins);
	x2apic |= a->x2apic_format ? KVM_X2APIC_API_USE_32BIT_IDS : 0;
	x2apic |= a->x2apic_broadcast_quirk_disabled ?
		  KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK : 0;
	if (x2apic)
		nck_cap(l, KVM_CAP_X2APIC_API, x2apic);
#ifdef NCK_KVM_DISABLED_EXITS
	/* The capability's own argument bits, as the VMM passed them. */
	exits = a->disabled_exits;
#else
	exits |= a->mwait_in_guest ? KVM_X86_DISABLE_EXITS_MWAIT : 0;
	exits |= a->hlt_in_guest ? KVM_X86_DISABLE_EXITS_HLT : 0;
	exits |= a->pause_in_guest ? KVM_X86_DISABLE_EXITS_PAUSE : 0;
	exits |= a->cstate_in_guest ? KVM_X86_DISABLE_EXITS_CSTATE : 0;
#endif
	if (exits)
		nck_cap(l, KVM_CAP_X86_DISABLE_EXITS, exits);
	if (!a->guest_can_read_msr_platform_info)
		nck_cap(l, KVM_CAP_MSR_PLATFORM_INFO, 0);
	if (a->exception_payload_enabled)
		nck_cap(l, KVM_CAP_EXCEPTION_PAYLOAD, 1);
	if (a->triple_fault_event)
		nck_cap(l, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1);
	if (a->bus_lock_detection_enabled)
		nck_cap(l, KVM_CAP_X86_BUS_LOCK_EXIT, KVM_BUS_LOCK_DETECTION_EXIT);
	if (a->notify_vmexit_flags)
		nck_cap(l, KVM_CAP_X86_NOTIFY_VMEXIT,
			(u64)a->notify_window << 32 | a->notify_vmexit_flags);
	if (a->exit_on_emulation_error)
		nck_cap(l, KVM_CAP_EXIT_ON_EMULATION_FAILURE, 1);
	if (a->user_space_msr_mask)
		nck_cap(l, KVM_CAP_X86_USER_SPACE_MSR, a->user_space_msr_mask);
	if (a->hypercall_exit_enabled)
		nck_cap(l, KVM_CAP_EXIT_HYPERCALL, a->hypercall_exit_enabled);
	if (a->max_vcpu_ids && a->max_vcpu_ids != KVM_MAX_VCPU_IDS)
		nck_cap(l, KVM_CAP_MAX_VCPU_ID, a->max_vcpu_ids);
	if (a->disable_nx_huge_pages)
		nck_cap(l, KVM_CAP_VM_DISABLE_NX_HUGE_PAGES, 0);
}

/* Our ABI mirrors KVM's limits: a KVM that grew them must not build. */
static_assert(NESTCKPT_MSR_FILTER_RANGES == KVM_MSR_FILTER_MAX_RANGES);
static_assert(NESTCKPT_MSR_FILTER_BITMAP == KVM_MSR_FILTER_MAX_BITMAP_SIZE);
#ifdef NCK_MSR_FILTER_PUBLIC
static_assert(ARRAY_SIZE(((struct kvm_x86_msr_filter *)0)->ranges) ==
	      NESTCKPT_MSR_FILTER_RANGES);
#endif

/*
 * The MSR filter, as the KVM_X86_SET_MSR_FILTER that recreates it.  KVM
 * replaces the filter as a whole under kvm->lock and frees the old one only
 * after synchronize_srcu(&kvm->srcu), so one SRCU read section sees one
 * consistent filter.  Everything is copied into our buffer there; a count
 * or size beyond what KVM itself accepts refuses the component.
 */
#ifndef NCK_MSR_FILTER_PUBLIC
/*
 * This kernel keeps the filter's layout private to KVM: a VM without a
 * filter has nothing to report; one with a filter is refused, named.
 */
static int nck_read_msr_filter(struct kvm *kvm, struct nck_vm_lists *l)
{
	if (!rcu_access_pointer(kvm->arch.msr_filter))
		return 0;
	pr_warn_once("this kernel's MSR filter layout is private to KVM: a VM with a filter cannot be reported\n");
	return -EOPNOTSUPP;
}
#else
static int nck_read_msr_filter(struct kvm *kvm, struct nck_vm_lists *l)
{
	const struct kvm_x86_msr_filter *f;
	struct nestckpt_msr_filter *out;
	int idx, ret = 0;
	u32 i;

	out = kvzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	l->filter = out;
	idx = srcu_read_lock(&kvm->srcu);
	f = srcu_dereference(kvm->arch.msr_filter, &kvm->srcu);
	if (!f)
		goto unlock;
	if (f->count > NESTCKPT_MSR_FILTER_RANGES) {
		ret = -EPROTO;
		goto unlock;
	}
	/* Allow is 0 (6.12 no longer names it). */
	out->flags = f->default_allow ? 0 : KVM_MSR_FILTER_DEFAULT_DENY;
	for (i = 0; i < f->count; i++) {
		const struct msr_bitmap_range *r = &f->ranges[i];
		struct nestckpt_msr_filter_range *o = &out->ranges[i];
		size_t len = BITS_TO_LONGS((size_t)r->nmsrs) * sizeof(long);

		/* KVM allocated @len bytes for @nmsrs bits, at most this. */
		if (!r->nmsrs || len > NESTCKPT_MSR_FILTER_BITMAP ||
		    (r->flags & ~(u32)(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)) ||
		    !r->bitmap) {
			ret = -EPROTO;
			goto unlock;
		}
		o->flags = r->flags;
		o->nmsrs = r->nmsrs;
		o->base = r->base;
		o->bitmap_len = len;
		memcpy(o->bitmap, r->bitmap, len);
	}
	out->nr_ranges = f->count;
	l->nr_filters = 1;
unlock:
	srcu_read_unlock(&kvm->srcu, idx);
	if (ret)
		pr_warn_once("kvm->arch.msr_filter out of KVM's own limits: not reported\n");
	return ret;
}
#endif

static void nck_vm_lists_free(struct nck_vm_lists *l)
{
	kvfree(l->filter);
	kvfree(l->slots);
	kvfree(l->irqfds);
	kvfree(l->ctx);
	kvfree(l->rctx);
	kvfree(l->routes);
	kvfree(l->ioeventfds);
	kvfree(l->ioctx);
	kvfree(l->zones);
}

/* Append one record; @*off advances even past @len, to tell the size needed. */
static int nck_put_record(void __user *ubuf, u32 len, u32 *off, u32 type,
			  const void *entries, u32 count, u32 entry_size)
{
	struct nestckpt_vm_record rec = {
		.type = type, .count = count, .entry_size = entry_size,
	};
	u32 bytes = sizeof(rec) + count * entry_size;

	if (*off + bytes <= len &&
	    (copy_to_user(ubuf + *off, &rec, sizeof(rec)) ||
	     copy_to_user(ubuf + *off + sizeof(rec), entries, count * entry_size)))
		return -EFAULT;
	*off += bytes;
	return 0;
}

long nck_ioctl_vm_state(void __user *uarg)
{
	const struct nck_kvm_layout *lo = NULL;
	struct nestckpt_vm_state arg;
	struct nck_vm_lists l = {};
	struct task_struct *leader;
	struct nck_freeze *fz;
	struct pid *tgid;
	void __user *ubuf;
	struct kvm *kvm;
	u32 usize, off = 0;
	long ret;

	ret = nck_copy_in(&arg, sizeof(arg), NESTCKPT_VM_STATE_SIZE_VER0, uarg, &usize);
	if (ret)
		return ret;
	if ((arg.flags & ~NESTCKPT_VMS_ALL) || arg.reserved ||
	    arg.buf_len > NCK_VM_STATE_MAX_LEN || (arg.buf_len && !arg.buf))
		return -EINVAL;
	ret = nck_find_target(arg.pid, &tgid);
	if (ret)
		return ret;
	fz = nck_freeze_find(tgid) ?: nck_freeze_new(tgid);
	put_pid(tgid);
	if (IS_ERR(fz))
		return PTR_ERR(fz);
	leader = get_pid_task(fz->tgid, PIDTYPE_TGID);
	if (!leader || arg.vm >= fz->nr_vms) {
		ret = leader ? -ENOENT : -ESRCH;
		goto out;
	}
	kvm = fz->vms[arg.vm].kvm;

	if (arg.flags & (NESTCKPT_VMS_IOEVENTFDS | NESTCKPT_VMS_COALESCED))
		ret = nck_kvm_layout(&lo);
	if (!ret && (arg.flags & NESTCKPT_VMS_MEMSLOTS))
		ret = nck_read_memslots(kvm, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_IRQFDS))
		ret = nck_read_irqfds(kvm, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_ROUTING))
		ret = nck_read_routing(kvm, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_CAPS))
		nck_read_caps(kvm, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_IOEVENTFDS))
		ret = nck_read_ioeventfds(kvm, &lo->ioev, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_COALESCED))
		ret = nck_read_zones(kvm, &lo->cmmio, &l);
	if (!ret && (arg.flags & NESTCKPT_VMS_MSR_FILTER))
		ret = nck_read_msr_filter(kvm, &l);
	if (ret)
		goto out;
	if (arg.flags & (NESTCKPT_VMS_IRQFDS | NESTCKPT_VMS_IOEVENTFDS))
		nck_match_fds(leader, &l);

	ubuf = u64_to_user_ptr(arg.buf);
	if (arg.flags & NESTCKPT_VMS_MEMSLOTS)
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_MEMSLOTS,
				     l.slots, l.nr_slots, sizeof(*l.slots));
	if (!ret && (arg.flags & NESTCKPT_VMS_IRQFDS))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_IRQFDS,
				     l.irqfds, l.nr_irqfds, sizeof(*l.irqfds));
	if (!ret && (arg.flags & NESTCKPT_VMS_ROUTING))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_ROUTING,
				     l.routes, l.nr_routes, sizeof(*l.routes));
	if (!ret && (arg.flags & NESTCKPT_VMS_CAPS))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_CAPS,
				     l.caps, l.nr_caps, sizeof(*l.caps));
	if (!ret && (arg.flags & NESTCKPT_VMS_IOEVENTFDS))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_IOEVENTFDS,
				     l.ioeventfds, l.nr_ioeventfds,
				     sizeof(*l.ioeventfds));
	if (!ret && (arg.flags & NESTCKPT_VMS_COALESCED))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_COALESCED,
				     l.zones, l.nr_zones, sizeof(*l.zones));
	if (!ret && (arg.flags & NESTCKPT_VMS_MSR_FILTER))
		ret = nck_put_record(ubuf, arg.buf_len, &off, NESTCKPT_VMS_MSR_FILTER,
				     l.filter, l.nr_filters, sizeof(*l.filter));
	if (ret)
		goto out;
	/* Too short: what was written is incomplete; say what is needed. */
	ret = off > arg.buf_len ? -ENOSPC : 0;
	if (ret)
		arg.flags = 0;
	arg.buf_len = off;
	if (nck_copy_out(uarg, &arg, sizeof(arg), usize))
		ret = -EFAULT;
out:
	if (leader)
		put_task_struct(leader);
	nck_vm_lists_free(&l);
	nck_freeze_put(fz);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a frozen VMM's whole KVM state into an image, from outside the
 * VMM (the CRIU plugin's dumper, nestckptctl): every read is a KVM ioctl
 * the module runs in the VMM's mm (NESTCKPT_IOC_KVM_OP), plus the state no
 * ioctl returns (NESTCKPT_IOC_VM_STATE).  The per-vCPU reads of all vCPUs
 * form one batch, so with io_uring a 64-vCPU VMM costs a few system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libnestckpt.h"

#define NC_CPUID_MAX	256	/* the module's limit for KVM_GET_CPUID2 */
#define NC_MSRS_PER_OP	255	/* KVM takes fewer than 256 per call */

/* The reads of one vCPU, in flight together. */
struct vcpu_reads {
	struct nc_vcpu_state *v;
	struct nestckpt_kvm_op op[16];
	int ret[16];
	unsigned int n;
	struct kvm_sregs2 sregs2;
	struct kvm_cpuid2 *cpuid;
	struct kvm_msrs *part;		/* the MSRs still to read */
	uint32_t msr_next;		/* index list position of part */
	uint32_t msr_asked;		/* entries of part asked for */
	uint32_t nested_alloc;		/* bytes allocated for v->nested */
	uint32_t msr_out;
	int msr_op;			/* slot of the MSR op, -1 when done */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct nestckpt_kvm_op *op_slot(struct vcpu_reads *r, pid_t pid,
				       uint32_t vm, int32_t vcpu_id,
				       uint32_t req, void *buf, uint32_t len)
{
	struct nestckpt_kvm_op *op = &r->op[r->n];

	*op = (struct nestckpt_kvm_op){
		.size = sizeof(*op), .pid = pid, .vm = vm, .vcpu_id = vcpu_id,
		.kvm_ioctl = req, .len = len, .buf = (uintptr_t)buf,
	};
	r->n++;
	return op;
}

/* Queue KVM_GET_MSRS for the next (at most NC_MSRS_PER_OP) indices. */
static int queue_msrs(struct nc_op_batch *b, struct vcpu_reads *r, pid_t pid,
		      uint32_t vm, const uint32_t *idx, uint32_t nidx)
{
	uint32_t n = nidx - r->msr_next, i;

	if (!n) {
		r->msr_op = -1;
		return 0;
	}
	if (n > NC_MSRS_PER_OP)
		n = NC_MSRS_PER_OP;
	r->part->nmsrs = n;
	r->part->pad = 0;
	r->msr_asked = n;
	for (i = 0; i < n; i++)
		r->part->entries[i] = (struct kvm_msr_entry){ .index = idx[r->msr_next + i] };
	r->msr_op = r->n;
	op_slot(r, pid, vm, r->v->id, KVM_GET_MSRS, r->part,
		sizeof(*r->part) + n * sizeof(r->part->entries[0]));
	return nc_op_batch_add(b, &r->op[r->msr_op], &r->ret[r->msr_op]);
}

/*
 * Take what KVM_GET_MSRS returned; KVM stops at the first MSR it cannot
 * read, so that one is skipped and the rest asked for again.  The count is
 * bounded by what this side asked for, never by the nmsrs the buffer came
 * back with (it passed through the VMM's memory), and the total by the
 * index list the output was sized for.
 */
static int collect_msrs(struct vcpu_reads *r, uint32_t nidx)
{
	struct nestckpt_kvm_op *op = &r->op[r->msr_op];
	uint32_t got, i;
	int rc;

	if (r->ret[r->msr_op] < 0)
		return r->ret[r->msr_op];
	rc = nc_msr_reply_count(op->result, r->msr_asked, r->msr_out, nidx);
	if (rc < 0)
		return rc;
	got = rc;
	r->part->nmsrs = r->msr_asked;
	for (i = 0; i < got; i++)
		r->v->msrs->entries[r->msr_out++] = r->part->entries[i];
	r->msr_next += got;
	if (got < r->part->nmsrs)
		r->msr_next++;		/* unreadable: skip it */
	r->v->msrs->nmsrs = r->msr_out;
	if (r->msr_next >= nidx)
		r->msr_op = -1;
	r->n = r->msr_op < 0 ? r->n : (uint32_t)r->msr_op;	/* reuse the slot */
	return 0;
}

static int queue_vcpu(struct nc_op_batch *b, struct vcpu_reads *r, pid_t pid,
		      uint32_t vm, uint32_t xsave_size, uint32_t nested_size,
		      bool irqchip)
{
	struct nc_vcpu_state *v = r->v;
	int32_t id = v->id;
	unsigned int i;
	int rc;

	v->xsave = calloc(1, xsave_size);
	v->xsave_size = xsave_size;
	r->cpuid = calloc(1, sizeof(*r->cpuid) + NC_CPUID_MAX * sizeof(r->cpuid->entries[0]));
	if (!v->xsave || !r->cpuid)
		return -ENOMEM;
	nc_cpuid_prefill(r->cpuid, NC_CPUID_MAX);
	if (nested_size) {
		v->nested = calloc(1, nested_size);
		if (!v->nested)
			return -ENOMEM;
		v->nested->size = nested_size;
		r->nested_alloc = nested_size;
	}
	op_slot(r, pid, vm, id, KVM_GET_REGS, &v->regs, sizeof(v->regs));
	op_slot(r, pid, vm, id, KVM_GET_SREGS, &v->sregs, sizeof(v->sregs));
	op_slot(r, pid, vm, id, KVM_GET_SREGS2, &r->sregs2, sizeof(r->sregs2));
	op_slot(r, pid, vm, id, xsave_size > sizeof(struct kvm_xsave) ?
		KVM_GET_XSAVE2 : KVM_GET_XSAVE, v->xsave, xsave_size);
	op_slot(r, pid, vm, id, KVM_GET_XCRS, &v->xcrs, sizeof(v->xcrs));
	op_slot(r, pid, vm, id, KVM_GET_VCPU_EVENTS, &v->events, sizeof(v->events));
	op_slot(r, pid, vm, id, KVM_GET_DEBUGREGS, &v->debugregs, sizeof(v->debugregs));
	op_slot(r, pid, vm, id, KVM_GET_MP_STATE, &v->mp_state, sizeof(v->mp_state));
	op_slot(r, pid, vm, id, KVM_GET_CPUID2, r->cpuid, sizeof(*r->cpuid) +
		NC_CPUID_MAX * sizeof(r->cpuid->entries[0]));
	op_slot(r, pid, vm, id, KVM_GET_TSC_KHZ, NULL, 0);
	if (irqchip)
		op_slot(r, pid, vm, id, KVM_GET_LAPIC, &v->lapic, sizeof(v->lapic));
	if (nested_size)
		op_slot(r, pid, vm, id, KVM_GET_NESTED_STATE, v->nested, nested_size);
	for (i = 0; i < r->n; i++) {
		rc = nc_op_batch_add(b, &r->op[i], &r->ret[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *req_name(uint32_t req)
{
	switch (req) {
	case KVM_GET_REGS: return "KVM_GET_REGS";
	case KVM_GET_SREGS: return "KVM_GET_SREGS";
	case KVM_GET_SREGS2: return "KVM_GET_SREGS2";
	case KVM_GET_XSAVE: return "KVM_GET_XSAVE";
	case KVM_GET_XSAVE2: return "KVM_GET_XSAVE2";
	case KVM_GET_XCRS: return "KVM_GET_XCRS";
	case KVM_GET_VCPU_EVENTS: return "KVM_GET_VCPU_EVENTS";
	case KVM_GET_DEBUGREGS: return "KVM_GET_DEBUGREGS";
	case KVM_GET_MP_STATE: return "KVM_GET_MP_STATE";
	case KVM_GET_CPUID2: return "KVM_GET_CPUID2";
	case KVM_GET_TSC_KHZ: return "KVM_GET_TSC_KHZ";
	case KVM_GET_LAPIC: return "KVM_GET_LAPIC";
	case KVM_GET_NESTED_STATE: return "KVM_GET_NESTED_STATE";
	case KVM_GET_MSRS: return "KVM_GET_MSRS";
	default: return "KVM ioctl";
	}
}

/* Move the replies of one vCPU into its state. */
static int collect_vcpu(struct vcpu_reads *r, uint32_t vm, struct nc_err *err)
{
	struct nc_vcpu_state *v = r->v;
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		struct nestckpt_kvm_op *op = &r->op[i];

		if ((int)i == r->msr_op)
			continue;
		if (r->ret[i] < 0)
			return nc_errf(err, r->ret[i], "vm%u/vcpu%u: %s: %s", vm,
					v->id, req_name(op->kvm_ioctl),
					strerror(-r->ret[i]));
		switch (op->kvm_ioctl) {
		case KVM_GET_REGS: v->have |= NC_VCPU_REGS; break;
		case KVM_GET_SREGS: v->have |= NC_VCPU_SREGS; break;
		case KVM_GET_SREGS2:
			if (r->sregs2.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID) {
				memcpy(v->pdptrs, r->sregs2.pdptrs, sizeof(v->pdptrs));
				v->have |= NC_VCPU_PDPTRS;
			}
			break;
		case KVM_GET_XCRS: v->have |= NC_VCPU_XCRS; break;
		case KVM_GET_VCPU_EVENTS: v->have |= NC_VCPU_EVENTS; break;
		case KVM_GET_DEBUGREGS: v->have |= NC_VCPU_DEBUGREGS; break;
		case KVM_GET_MP_STATE: v->have |= NC_VCPU_MP_STATE; break;
		case KVM_GET_LAPIC: v->have |= NC_VCPU_LAPIC; break;
		case KVM_GET_TSC_KHZ:
			v->tsc_khz = op->result;
			v->have |= NC_VCPU_TSC_KHZ;
			break;
		case KVM_GET_CPUID2:
			/* The entries the VMM set: no fill, no padding. */
			r->cpuid->nent = nc_cpuid_count(r->cpuid, NC_CPUID_MAX);
			nc_cpuid_trim(r->cpuid);
			v->cpuid = r->cpuid;
			r->cpuid = NULL;
			break;
		case KVM_GET_NESTED_STATE:
			/* op->len is what the module echoed: bound by ours. */
			if (v->nested->size < sizeof(*v->nested) ||
			    v->nested->size > r->nested_alloc)
				return nc_errf(err, -EPROTO, "vm%u/vcpu%u: nested state of "
						"%u bytes", vm, v->id, v->nested->size);
			break;
		}
	}
	return 0;
}

static void vcpu_record(struct nc_vcpu_state *v, const struct nestckpt_vcpu_status *s)
{
	v->have |= NC_VCPU_RECORD;
	if (s->flags & NESTCKPT_VCPU_IN_L2)
		v->rec.flags |= NC_NESTED_GUEST_MODE;
	if (s->flags & NESTCKPT_VCPU_RUN_PENDING)
		v->rec.flags |= NC_NESTED_RUN_PENDING;
	if (s->flags & NESTCKPT_VCPU_GIF)
		v->rec.flags |= NC_NESTED_GIF;
	if (s->format == KVM_STATE_NESTED_FORMAT_VMX && s->vmxon_pa != ~0ull)
		v->rec.flags |= NC_NESTED_VMXON;
	v->rec.vmxon_pa = s->vmxon_pa;
	if (s->format == KVM_STATE_NESTED_FORMAT_SVM) {
		v->rec.vmcb12_pa = s->vmcs12_pa;
		v->rec.vmcs12_pa = ~0ull;
	} else {
		v->rec.vmcs12_pa = s->vmcs12_pa;
		v->rec.vmcb12_pa = ~0ull;
	}
}

/* A VM-wide read through the module, one ioctl. */
static int vm_op(int dev, pid_t pid, uint32_t vm, uint32_t req, void *buf,
		 uint32_t len, int64_t *result)
{
	struct nestckpt_kvm_op op = {
		.size = sizeof(op), .pid = pid, .vm = vm, .vcpu_id = -1,
		.kvm_ioctl = req, .len = len, .buf = (uintptr_t)buf,
	};

	if (ioctl(dev, NESTCKPT_IOC_KVM_OP, &op))
		return -errno;
	if (result)
		*result = op.result;
	return 0;
}

static void *copy_entries(const void *buf, uint32_t len, uint32_t type,
			  size_t want_size, uint32_t *count)
{
	const struct nestckpt_vm_record *rec = nc_vm_record(buf, len, type);
	void *out;
	uint32_t i;

	*count = 0;
	if (!rec || !rec->count || rec->entry_size < want_size)
		return NULL;
	out = calloc(rec->count, want_size);
	if (!out)
		return NULL;
	for (i = 0; i < rec->count; i++)
		memcpy((char *)out + i * want_size,
		       (const char *)(rec + 1) + (size_t)i * rec->entry_size, want_size);
	*count = rec->count;
	return out;
}

/* The VM's MSR filter record: none, or one filter. */
static int dump_msr_filter(const void *buf, uint32_t len, struct nc_vm_state *s)
{
	const struct nestckpt_vm_record *rec =
		nc_vm_record(buf, len, NESTCKPT_VMS_MSR_FILTER);

	if (!rec)
		return -ENOMSG;
	if (!rec->count)
		return 0;
	if (rec->count != 1 || rec->entry_size < sizeof(struct nestckpt_msr_filter))
		return -EPROTO;
	return nc_msr_filter_from_module((const void *)(rec + 1), &s->msr_filter);
}

/* Memslots, bindings, routing, zones and caps: what no KVM ioctl returns. */
int nc_vm_tables_read(int dev, pid_t pid, uint32_t vm, struct nc_vm_state *s,
		      struct nc_err *err)
{
	struct nestckpt_irqfd *irqfds;
	struct kvm_ioeventfd *iofds;
	uint32_t len, n, i;
	void *buf;
	int rc;

	rc = nc_vm_state(dev, pid, vm, NESTCKPT_VMS_ALL, &buf, &len);
	if (rc)
		return nc_errf(err, rc, "vm%u: state only the module reads: %s", vm,
				nc_vm_state_strerror(-rc));
	s->memslots = copy_entries(buf, len, NESTCKPT_VMS_MEMSLOTS,
				   sizeof(*s->memslots), &s->n_memslots);
	s->routes = copy_entries(buf, len, NESTCKPT_VMS_ROUTING,
				 sizeof(*s->routes), &s->n_routes);
	s->coalesced = copy_entries(buf, len, NESTCKPT_VMS_COALESCED,
				    sizeof(*s->coalesced), &s->n_coalesced);
	s->enabled_caps = copy_entries(buf, len, NESTCKPT_VMS_CAPS,
				       sizeof(*s->enabled_caps), &s->n_enabled_caps);
	irqfds = copy_entries(buf, len, NESTCKPT_VMS_IRQFDS, sizeof(*irqfds), &n);
	if (n) {
		s->irqfds = calloc(n, sizeof(*s->irqfds));
		for (i = 0; s->irqfds && i < n; i++)
			s->irqfds[i] = (struct nc_irqfd_binding){
				.fd = irqfds[i].fd, .gsi = irqfds[i].gsi,
				.flags = irqfds[i].flags,
				.resamplefd = irqfds[i].resample_fd,
			};
		s->n_irqfds = s->irqfds ? n : 0;
	}
	free(irqfds);
	iofds = copy_entries(buf, len, NESTCKPT_VMS_IOEVENTFDS, sizeof(*iofds), &n);
	if (n) {
		s->ioeventfds = calloc(n, sizeof(*s->ioeventfds));
		for (i = 0; s->ioeventfds && i < n; i++)
			s->ioeventfds[i] = (struct nc_ioeventfd_binding){
				.fd = iofds[i].fd, .addr = iofds[i].addr,
				.len = iofds[i].len, .datamatch = iofds[i].datamatch,
				.flags = iofds[i].flags,
			};
		s->n_ioeventfds = s->ioeventfds ? n : 0;
	}
	free(iofds);
	rc = dump_msr_filter(buf, len, s);
	free(buf);
	if (rc)
		return nc_errf(err, rc, "vm%u: MSR filter: %s", vm, rc == -ENOMSG ?
			       "not reported by the module" :
			       "one KVM_X86_SET_MSR_FILTER would not take back");
	for (i = 0; i < s->n_irqfds; i++)
		if (s->irqfds[i].fd < 0)
			return nc_errf(err, -EBADF, "vm%u: irqfd for GSI %u: the VMM no "
					"longer holds its eventfd", vm, s->irqfds[i].gsi);
	for (i = 0; i < s->n_ioeventfds; i++)
		if (s->ioeventfds[i].fd < 0)
			return nc_errf(err, -EBADF, "vm%u: ioeventfd at 0x%llx: the VMM no "
					"longer holds its eventfd", vm,
					(unsigned long long)s->ioeventfds[i].addr);
	return 0;
}

static int dump_vm_chips(int dev, pid_t pid, uint32_t vm, struct nc_vm_state *s,
			 struct nc_err *err)
{
	int rc, i;

	rc = vm_op(dev, pid, vm, KVM_GET_CLOCK, &s->clock, sizeof(s->clock), NULL);
	if (rc)
		return nc_errf(err, rc, "vm%u: KVM_GET_CLOCK: %s", vm, strerror(-rc));
	s->have |= NC_VM_CLOCK;
	for (i = 0; i < 3; i++) {
		s->chip[i].chip_id = i;
		rc = vm_op(dev, pid, vm, KVM_GET_IRQCHIP, &s->chip[i],
			   sizeof(s->chip[i]), NULL);
		if (rc == -ENXIO && i == 0)
			break;		/* no in-kernel irqchip */
		if (rc)
			return nc_errf(err, rc, "vm%u: KVM_GET_IRQCHIP %d: %s", vm, i,
					strerror(-rc));
	}
	if (i == 3)
		s->have |= NC_VM_IRQCHIP;
	rc = vm_op(dev, pid, vm, KVM_GET_PIT2, &s->pit2, sizeof(s->pit2), NULL);
	if (!rc)
		s->have |= NC_VM_PIT2;
	else if (rc != -ENXIO)
		return nc_errf(err, rc, "vm%u: KVM_GET_PIT2: %s", vm, strerror(-rc));
	return 0;
}

/* KVM_CHECK_EXTENSION on /dev/kvm (a system ioctl: any process may ask). */
static int host_extension(long cap)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	close(fd);
	return r < 0 ? -errno : r;
}

/* Append @n entries to *@m (malloc'd, nmsrs entries). */
static int append_msrs(struct kvm_msrs **m, const struct kvm_msr_entry *e, uint32_t n)
{
	uint32_t have = *m ? (*m)->nmsrs : 0;
	struct kvm_msrs *v = realloc(*m, sizeof(*v) + (have + n) * sizeof(v->entries[0]));

	if (!v)
		return -ENOMEM;
	memcpy(&v->entries[have], e, n * sizeof(*e));
	v->nmsrs = have + n;
	*m = v;
	return 0;
}

static int mce_read_banks(struct nc_op_batch *b, pid_t pid, struct nc_vcpu_state **vcpus,
			  const uint32_t *vm, uint32_t n, struct nc_err *err)
{
	struct nestckpt_kvm_op *ops = calloc(n ? n : 1, sizeof(*ops));
	struct kvm_msrs **parts = calloc(n ? n : 1, sizeof(*parts));
	int *ret = calloc(n ? n : 1, sizeof(*ret));
	uint32_t idx[NC_MCE_MAX_BANK_MSRS], i, k, nidx;
	uint64_t cap;
	int rc = ops && parts && ret ? 0 : -ENOMEM;

	for (i = 0; !rc && i < n; i++) {
		if (!nc_mce_cap(vcpus[i], &cap))
			continue;
		nidx = nc_mce_bank_msrs(cap, idx);
		parts[i] = calloc(1, sizeof(*parts[i]) + nidx * sizeof(parts[i]->entries[0]));
		if (!parts[i]) {
			rc = -ENOMEM;
			break;
		}
		parts[i]->nmsrs = nidx;
		for (k = 0; k < nidx; k++)
			parts[i]->entries[k].index = idx[k];
		ops[i] = (struct nestckpt_kvm_op){
			.size = sizeof(ops[i]), .pid = pid, .vm = vm[i],
			.vcpu_id = vcpus[i]->id, .kvm_ioctl = KVM_GET_MSRS,
			.len = sizeof(*parts[i]) + nidx * sizeof(parts[i]->entries[0]),
			.buf = (uintptr_t)parts[i],
		};
		rc = nc_op_batch_add(b, &ops[i], &ret[i]);
	}
	if (!rc)
		rc = nc_op_batch_run(b);
	if (rc)
		nc_errf(err, rc, "machine-check banks: %s", strerror(-rc));
	for (i = 0; !rc && i < n; i++) {
		if (!parts[i])
			continue;
		/* Every bank MCG_CAP announces is KVM's to read: one missing is lost state. */
		if (ret[i] < 0 || ops[i].result != parts[i]->nmsrs) {
			rc = ret[i] < 0 ? ret[i] : -EIO;
			nc_errf(err, rc, "vm%u/vcpu%u: KVM_GET_MSRS of machine-check bank MSR "
				"0x%x: %s", vm[i], vcpus[i]->id,
				ret[i] < 0 || ops[i].result >= parts[i]->nmsrs ? 0 :
				parts[i]->entries[ops[i].result].index,
				ret[i] < 0 ? strerror(-ret[i]) : "not readable");
			break;
		}
		rc = append_msrs(&vcpus[i]->msrs, parts[i]->entries, parts[i]->nmsrs);
		if (rc)
			nc_errf(err, rc, "out of memory");
	}
	for (i = 0; parts && i < n; i++)
		free(parts[i]);
	free(parts);
	free(ops);
	free(ret);
	return rc;
}

/* Each vCPU's machine-check banks, as far as its MCG_CAP (now read) goes. */
static int read_mce_banks(struct nc_op_batch *b, pid_t pid, struct vcpu_reads *reads,
			  const struct nestckpt_vcpu_status *vs, uint32_t nvs,
			  struct nc_err *err)
{
	struct nc_vcpu_state **v = calloc(nvs ? nvs : 1, sizeof(*v));
	uint32_t *vm = calloc(nvs ? nvs : 1, sizeof(*vm)), i;
	int rc = v && vm ? 0 : -ENOMEM;

	for (i = 0; !rc && i < nvs; i++) {
		v[i] = reads[i].v;
		vm[i] = vs[i].vm;
	}
	if (!rc)
		rc = mce_read_banks(b, pid, v, vm, nvs, err);
	free(v);
	free(vm);
	return rc;
}

static int dump_vcpus(int dev, pid_t pid, enum nc_batch_mode mode,
		      struct nc_image *img, const struct nestckpt_vcpu_status *vs,
		      uint32_t nvs, struct nc_dump_stats *stats, struct nc_err *err)
{
	uint32_t *msr_idx = NULL, nmsr = 0, i, pending;
	int nested_size = host_extension(KVM_CAP_NESTED_STATE);
	struct vcpu_reads *reads;
	struct nc_op_batch b;
	uint64_t t0;
	int rc;

	rc = nc_kvm_msr_list(&msr_idx, &nmsr);
	if (!rc)
		rc = nc_mce_add_cap_index(&msr_idx, &nmsr);
	if (rc)
		return nc_errf(err, rc, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-rc));
	if (nested_size < 0)
		nested_size = 0;
	reads = calloc(nvs ? nvs : 1, sizeof(*reads));
	rc = reads ? nc_op_batch_init(&b, dev, mode) : -ENOMEM;
	if (rc) {
		free(reads);
		free(msr_idx);
		return nc_errf(err, rc, "op batch: %s", strerror(-rc));
	}
	for (i = 0; i < nvs && !rc; i++) {
		struct nc_vm_state *vm = &img->vms[vs[i].vm];
		struct vcpu_reads *r = &reads[i];
		int64_t xs = 0;

		r->v = &vm->vcpus[vm->n_vcpus++];
		r->v->id = vs[i].vcpu_id;
		vcpu_record(r->v, &vs[i]);
		rc = vm_op(dev, pid, vs[i].vm, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_XSAVE2,
			   0, &xs);
		if (rc || xs < (int64_t)sizeof(struct kvm_xsave))
			xs = sizeof(struct kvm_xsave);
		r->part = calloc(1, sizeof(*r->part) + NC_MSRS_PER_OP * sizeof(r->part->entries[0]));
		r->v->msrs = calloc(1, sizeof(*r->v->msrs) + nmsr * sizeof(r->v->msrs->entries[0]));
		rc = r->part && r->v->msrs ? 0 : -ENOMEM;
		if (!rc)
			rc = queue_vcpu(&b, r, pid, vs[i].vm, xs, nested_size,
					img->vms[vs[i].vm].have & NC_VM_IRQCHIP);
		if (!rc)
			rc = queue_msrs(&b, r, pid, vs[i].vm, msr_idx, nmsr);
	}
	t0 = now_ns();
	if (!rc)
		rc = nc_op_batch_run(&b);
	for (i = 0; i < nvs && !rc; i++)
		rc = collect_vcpu(&reads[i], vs[i].vm, err);
	/* MSRs KVM could not read make further rounds, all vCPUs together. */
	for (pending = 1; !rc && pending;) {
		pending = 0;
		for (i = 0; i < nvs && !rc; i++) {
			if (reads[i].msr_op < 0)
				continue;
			rc = collect_msrs(&reads[i], nmsr);
			if (rc)
				nc_errf(err, rc, "vm%u/vcpu%u: KVM_GET_MSRS: %s", vs[i].vm,
					 vs[i].vcpu_id, strerror(-rc));
			else if (reads[i].msr_op >= 0 &&
				 !(rc = queue_msrs(&b, &reads[i], pid, vs[i].vm, msr_idx, nmsr)))
				pending++;
		}
		if (!rc && pending)
			rc = nc_op_batch_run(&b);
	}
	if (!rc)
		rc = read_mce_banks(&b, pid, reads, vs, nvs, err);
	if (stats) {
		stats->vcpu_ns = now_ns() - t0;
		stats->ops = b.ops;
		stats->syscalls = b.syscalls;
		stats->mode = b.mode;
		stats->vcpus = nvs;
	}
	if (rc && !err->msg[0])
		nc_errf(err, rc, "vCPU reads: %s", strerror(-rc));
	for (i = 0; i < nvs; i++) {
		free(reads[i].cpuid);
		free(reads[i].part);
	}
	nc_op_batch_fini(&b);
	free(reads);
	free(msr_idx);
	return rc;
}

int nc_vmm_dump(int dev, pid_t pid, enum nc_batch_mode mode,
		struct nc_image *img, struct nc_dump_stats *stats,
		struct nc_err *err)
{
	struct nestckpt_vcpu_status *vs = NULL;
	struct nestckpt_status st;
	struct nc_info info;
	uint32_t i;
	int rc;

	memset(img, 0, sizeof(*img));
	err->msg[0] = 0;
	rc = nc_get_info(dev, &info);
	if (rc)
		return nc_errf(err, rc, "/dev/nestckpt: GET_INFO: %s", strerror(-rc));
	rc = nc_status(dev, pid, &st, &vs);
	if (rc)
		return nc_errf(err, rc, "VMM %d: %s", pid, nc_freeze_strerror(-rc));
	if (st.state != NESTCKPT_STATE_FROZEN) {
		free(vs);
		return nc_errf(err, -EBUSY, "VMM %d is not frozen", pid);
	}
	img->format_major = NC_IMAGE_FORMAT_MAJOR;
	img->format_minor = NC_IMAGE_FORMAT_MINOR;
	img->vendor = info.raw.vendor;
	snprintf(img->note, sizeof(img->note), "VMM pid %d: %u VM(s), %u vCPU(s)",
		 pid, st.nr_vms, st.nr_vcpus);
	img->vms = calloc(st.nr_vms ? st.nr_vms : 1, sizeof(*img->vms));
	rc = img->vms ? 0 : -ENOMEM;
	img->n_vms = img->vms ? st.nr_vms : 0;
	for (i = 0; !rc && i < st.nr_vms; i++) {
		img->vms[i].vcpus = calloc(st.nr_vcpus ? st.nr_vcpus : 1,
					   sizeof(*img->vms[i].vcpus));
		if (!img->vms[i].vcpus)
			rc = -ENOMEM;
	}
	for (i = 0; !rc && i < st.nr_vcpus; i++)
		if (vs[i].vm >= st.nr_vms)
			rc = nc_errf(err, -EPROTO, "vCPU %u: VM index %u of %u", i,
				      vs[i].vm, st.nr_vms);
	if (rc && !err->msg[0])
		nc_errf(err, rc, "out of memory");
	for (i = 0; !rc && i < st.nr_vms; i++) {
		rc = dump_vm_chips(dev, pid, i, &img->vms[i], err);
		if (!rc)
			rc = nc_vm_tables_read(dev, pid, i, &img->vms[i], err);
	}
	if (!rc)
		rc = dump_vcpus(dev, pid, mode, img, vs, st.nr_vcpus, stats, err);
	/* Better a failed dump, the VMM left running, than an unusable image. */
	if (!rc)
		rc = nc_image_check_vcpus(img, err);
	free(vs);
	if (!rc) {
		nc_image_record_caps(img);
		rc = nc_image_check_source(img, err);
	}
	if (rc) {
		nc_image_free(img);
		return rc;
	}
	if (!img->vendor)
		img->vendor = info.raw.vendor;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Capabilities: what a checkpoint relies on, and whether a host offers it.
 *
 * At dump the image records the nested features L1 was shown (VMX
 * capability MSRs, SVM CPUID 0x8000000A and the SVM bit of 0x80000001, from
 * the vCPU's own MSRs and CPUID), what the dumping host's KVM offered (SVM
 * leaves of KVM_GET_SUPPORTED_CPUID) and the KVM capabilities the saved
 * state needs. Before a restore touches any process, the destination's KVM
 * must offer what the VM relied on; every missing feature is named, because
 * "incompatible" alone tells an operator nothing (seed 000).
 *
 * Like is compared with like: what the VM relied on against what this
 * host's KVM can give it.  KVM_SET_CPUID2 takes whatever CPUID a VMM sets,
 * so a guest-visible value alone is no requirement; what a restore needs is
 * what KVM itself emulates for L1 (per field, in compare_svm/compare_vmx).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "compat.h"
#include "libnestckpt.h"

#define MSR_VMX_FIRST		0x480
#define MSR_VMX_LAST		0x491
#define CPUID_EXT_FEATURES	0x80000001
#define CPUID_SVM_FEATURES	0x8000000a
#define CPUID_SVM_BIT		(1u << 2)	/* 0x80000001 ECX */
#define CPUID_VMX_BIT		(1u << 5)	/* 0x00000001 ECX */

/* ---- names ---------------------------------------------------------------- */

struct bit_name {
	uint8_t bit;
	const char *name;
};

static const struct bit_name pinbased[] = {
	{ 0, "external-interrupt exiting" }, { 3, "NMI exiting" },
	{ 5, "virtual NMIs" }, { 6, "VMX-preemption timer" },
	{ 7, "posted interrupts" }, { 0, NULL },
};
static const struct bit_name procbased[] = {
	{ 2, "interrupt-window exiting" }, { 3, "use TSC offsetting" },
	{ 7, "HLT exiting" }, { 9, "INVLPG exiting" }, { 10, "MWAIT exiting" },
	{ 11, "RDPMC exiting" }, { 12, "RDTSC exiting" },
	{ 15, "CR3-load exiting" }, { 16, "CR3-store exiting" },
	{ 17, "activate tertiary controls" }, { 19, "CR8-load exiting" },
	{ 20, "CR8-store exiting" }, { 21, "use TPR shadow" },
	{ 22, "NMI-window exiting" }, { 23, "MOV-DR exiting" },
	{ 24, "unconditional I/O exiting" }, { 25, "use I/O bitmaps" },
	{ 27, "monitor trap flag" }, { 28, "use MSR bitmaps" },
	{ 29, "MONITOR exiting" }, { 30, "PAUSE exiting" },
	{ 31, "activate secondary controls" }, { 0, NULL },
};
static const struct bit_name secondary[] = {
	{ 0, "virtualize APIC accesses" }, { 1, "enable EPT" },
	{ 2, "descriptor-table exiting" }, { 3, "enable RDTSCP" },
	{ 4, "virtualize x2APIC mode" }, { 5, "enable VPID" },
	{ 6, "WBINVD exiting" }, { 7, "unrestricted guest" },
	{ 8, "APIC-register virtualization" }, { 9, "virtual-interrupt delivery" },
	{ 10, "PAUSE-loop exiting" }, { 11, "RDRAND exiting" },
	{ 12, "enable INVPCID" }, { 13, "enable VM functions" },
	{ 14, "VMCS shadowing" }, { 15, "enable ENCLS exiting" },
	{ 16, "RDSEED exiting" }, { 17, "enable PML" },
	{ 18, "EPT-violation #VE" }, { 19, "conceal VMX from PT" },
	{ 20, "enable XSAVES/XRSTORS" }, { 22, "mode-based execute control for EPT" },
	{ 23, "sub-page write permissions for EPT" },
	{ 24, "Intel PT uses guest physical addresses" }, { 25, "use TSC scaling" },
	{ 26, "enable user wait and pause" }, { 28, "enable ENCLV exiting" },
	{ 0, NULL },
};
static const struct bit_name exitctl[] = {
	{ 2, "save debug controls" }, { 9, "host address-space size" },
	{ 12, "load IA32_PERF_GLOBAL_CTRL" }, { 15, "acknowledge interrupt on exit" },
	{ 18, "save IA32_PAT" }, { 19, "load IA32_PAT" }, { 20, "save IA32_EFER" },
	{ 21, "load IA32_EFER" }, { 22, "save VMX-preemption timer value" },
	{ 23, "clear IA32_BNDCFGS" }, { 24, "conceal VMX from PT" },
	{ 25, "clear IA32_RTIT_CTL" }, { 28, "load CET state" },
	{ 29, "load PKRS" }, { 0, NULL },
};
static const struct bit_name entryctl[] = {
	{ 2, "load debug controls" }, { 9, "IA-32e mode guest" },
	{ 10, "entry to SMM" }, { 11, "deactivate dual-monitor treatment" },
	{ 13, "load IA32_PERF_GLOBAL_CTRL" }, { 14, "load IA32_PAT" },
	{ 15, "load IA32_EFER" }, { 16, "load IA32_BNDCFGS" },
	{ 17, "conceal VMX from PT" }, { 18, "load IA32_RTIT_CTL" },
	{ 20, "load CET state" }, { 22, "load PKRS" }, { 0, NULL },
};
static const struct bit_name ept_vpid[] = {
	{ 0, "EPT execute-only translations" }, { 6, "EPT page-walk length 4" },
	{ 7, "EPT page-walk length 5" }, { 8, "EPT uncacheable memory type" },
	{ 14, "EPT write-back memory type" }, { 16, "EPT 2-MByte pages" },
	{ 17, "EPT 1-GByte pages" }, { 20, "INVEPT" },
	{ 21, "EPT accessed and dirty flags" },
	{ 22, "advanced VM-exit information for EPT violations" },
	{ 23, "supervisor shadow-stack control" },
	{ 25, "single-context INVEPT" }, { 26, "all-context INVEPT" },
	{ 32, "INVVPID" }, { 40, "individual-address INVVPID" },
	{ 41, "single-context INVVPID" }, { 42, "all-context INVVPID" },
	{ 43, "single-context-retaining-globals INVVPID" }, { 0, NULL },
};
static const struct bit_name misc[] = {
	{ 5, "store EFER.LMA on VM exit" }, { 6, "activity state HLT" },
	{ 7, "activity state shutdown" }, { 8, "activity state wait-for-SIPI" },
	{ 14, "Intel PT in VMX operation" }, { 15, "RDMSR of IA32_SMBASE in SMM" },
	{ 28, "SMM monitor control" }, { 29, "VMWRITE to any VMCS field" },
	{ 30, "VM entry with zero-length instruction injection" }, { 0, NULL },
};
static const struct bit_name basic[] = {
	{ 54, "VM-exit instruction information for INS/OUTS" },
	{ 55, "TRUE capability MSRs" },
	{ 56, "VM entry without error code for hardware exceptions" },
	{ 0, NULL },
};
static const struct bit_name vmfunc[] = {
	{ 0, "EPTP switching" }, { 0, NULL },
};
static const struct bit_name svm_edx[] = {
	{ 0, "NPT (nested paging)" }, { 1, "LBR virtualization" },
	{ 2, "SVM lock" }, { 3, "NRIP save" }, { 4, "TSC rate MSR" },
	{ 5, "VMCB clean bits" }, { 6, "flush by ASID" },
	{ 7, "decode assists" }, { 10, "pause filter" },
	{ 12, "pause filter threshold" }, { 13, "AVIC" },
	{ 15, "virtual VMLOAD/VMSAVE" }, { 16, "virtual GIF" },
	{ 17, "guest mode execute trap" }, { 20, "SPEC_CTRL virtualization" },
	{ 25, "VNMI" }, { 28, "IBS virtualization" }, { 0, NULL },
};

static const char *bit_name(const struct bit_name *t, unsigned int bit,
			    char *buf, size_t len)
{
	for (; t->name; t++)
		if (t->bit == bit)
			return t->name;
	snprintf(buf, len, "bit %u", bit);
	return buf;
}

static const struct {
	uint32_t cap;
	const char *name;
} kvm_cap_names[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel PIC/IOAPIC/LAPIC)" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel PIT)" },
	{ KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
	{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK" },
	{ KVM_CAP_XSAVE, "KVM_CAP_XSAVE" },
	{ KVM_CAP_XSAVE2, "KVM_CAP_XSAVE2 (XSAVE area beyond 4 KiB)" },
	{ KVM_CAP_XCRS, "KVM_CAP_XCRS" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	{ KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ" },
	{ KVM_CAP_TSC_CONTROL, "KVM_CAP_TSC_CONTROL (set the guest TSC rate)" },
	{ KVM_CAP_NESTED_STATE, "KVM_CAP_NESTED_STATE" },
	{ KVM_CAP_SREGS2, "KVM_CAP_SREGS2 (PDPTRs)" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IRQFD_RESAMPLE, "KVM_CAP_IRQFD_RESAMPLE" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_COALESCED_MMIO, "KVM_CAP_COALESCED_MMIO" },
	{ KVM_CAP_COALESCED_PIO, "KVM_CAP_COALESCED_PIO" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_ENABLE_CAP_VM, "KVM_CAP_ENABLE_CAP_VM" },
	{ KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER" },
	{ KVM_CAP_MCE, "KVM_CAP_MCE (KVM_X86_SETUP_MCE)" },
};

const char *nc_kvm_cap_name(uint32_t cap)
{
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(kvm_cap_names) / sizeof(kvm_cap_names[0]); i++)
		if (kvm_cap_names[i].cap == cap)
			return kvm_cap_names[i].name;
	snprintf(buf, sizeof(buf), "KVM capability %u", cap);
	return buf;
}

/* ---- recording at dump ----------------------------------------------------- */

static void add_cap(struct nc_caps *c, uint32_t cap)
{
	uint32_t i;

	for (i = 0; i < c->n_kvm_caps; i++)
		if (c->kvm_caps[i] == cap)
			return;
	if (c->n_kvm_caps < NC_CAPS_MAX_KVM)
		c->kvm_caps[c->n_kvm_caps++] = cap;
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid2 *cp,
						uint32_t function)
{
	uint32_t i;

	for (i = 0; cp && i < cp->nent; i++)
		if (cp->entries[i].function == function)
			return &cp->entries[i];
	return NULL;
}

/* Nested features L1 was shown: taken from the first vCPU that has them. */
static void record_vcpu_features(struct nc_caps *c, const struct nc_vcpu_state *v)
{
	const struct kvm_cpuid_entry2 *e;
	uint32_t i;

	if (!c->have_ext_leaf && (e = find_leaf(v->cpuid, CPUID_EXT_FEATURES))) {
		c->have_ext_leaf = true;
		c->ext_leaf = *e;
		if (e->ecx & CPUID_SVM_BIT)
			c->vendor = NESTCKPT_VENDOR_SVM;
	}
	if (!c->have_svm_leaf && (e = find_leaf(v->cpuid, CPUID_SVM_FEATURES)) &&
	    c->vendor == NESTCKPT_VENDOR_SVM) {
		c->have_svm_leaf = true;
		c->svm_leaf = *e;
	}
	if ((e = find_leaf(v->cpuid, 1)) && (e->ecx & CPUID_VMX_BIT))
		c->vendor = NESTCKPT_VENDOR_VMX;
	if (c->n_vmx_msrs || !v->msrs || c->vendor != NESTCKPT_VENDOR_VMX)
		return;
	for (i = 0; i < v->msrs->nmsrs && c->n_vmx_msrs < NC_CAPS_MAX_MSRS; i++)
		if (v->msrs->entries[i].index >= MSR_VMX_FIRST &&
		    v->msrs->entries[i].index <= MSR_VMX_LAST)
			c->vmx_msrs[c->n_vmx_msrs++] = v->msrs->entries[i];
}

static void record_vcpu_caps(struct nc_caps *c, const struct nc_vcpu_state *v)
{
	if (v->xsave) {
		add_cap(c, KVM_CAP_XSAVE);
		if (v->xsave_size > sizeof(struct kvm_xsave))
			add_cap(c, KVM_CAP_XSAVE2);
		if (v->xsave_size > c->xsave_size)
			c->xsave_size = v->xsave_size;
	}
	/* KVM returns no XCRs where the host has no XSAVE (e.g. under Bochs) */
	if ((v->have & NC_VCPU_XCRS) && v->xcrs.nr_xcrs)
		add_cap(c, KVM_CAP_XCRS);
	if (v->have & NC_VCPU_EVENTS)
		add_cap(c, KVM_CAP_VCPU_EVENTS);
	if (v->have & NC_VCPU_DEBUGREGS)
		add_cap(c, KVM_CAP_DEBUGREGS);
	if (v->have & NC_VCPU_MP_STATE)
		add_cap(c, KVM_CAP_MP_STATE);
	if (v->have & NC_VCPU_TSC_KHZ)
		add_cap(c, KVM_CAP_GET_TSC_KHZ);
	if (v->have & NC_VCPU_PDPTRS)
		add_cap(c, KVM_CAP_SREGS2);
	if (v->nested) {
		add_cap(c, KVM_CAP_NESTED_STATE);
		if (v->nested->size > c->nested_state_size)
			c->nested_state_size = v->nested->size;
	}
}

void nc_image_record_caps(struct nc_image *img)
{
	struct nc_caps *c = &img->caps;
	uint32_t i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < img->n_vms; i++) {
		const struct nc_vm_state *vm = &img->vms[i];

		add_cap(c, KVM_CAP_USER_MEMORY);
		if (vm->have & NC_VM_IRQCHIP)
			add_cap(c, KVM_CAP_IRQCHIP);
		if (vm->have & NC_VM_PIT2) {
			add_cap(c, KVM_CAP_PIT2);
			add_cap(c, KVM_CAP_PIT_STATE2);
		}
		if (vm->have & NC_VM_CLOCK)
			add_cap(c, KVM_CAP_ADJUST_CLOCK);
		if (vm->n_routes)
			add_cap(c, KVM_CAP_IRQ_ROUTING);
		if (vm->n_irqfds)
			add_cap(c, KVM_CAP_IRQFD);
		for (j = 0; j < vm->n_irqfds; j++)
			if (vm->irqfds[j].flags & KVM_IRQFD_FLAG_RESAMPLE)
				add_cap(c, KVM_CAP_IRQFD_RESAMPLE);
		if (vm->n_ioeventfds)
			add_cap(c, KVM_CAP_IOEVENTFD);
		for (j = 0; j < vm->n_coalesced; j++)
			add_cap(c, vm->coalesced[j].pio ? KVM_CAP_COALESCED_PIO :
				KVM_CAP_COALESCED_MMIO);
		if (vm->n_enabled_caps)
			add_cap(c, KVM_CAP_ENABLE_CAP_VM);
		for (j = 0; j < vm->n_enabled_caps; j++)
			add_cap(c, vm->enabled_caps[j].cap);
		if (vm->msr_filter)
			add_cap(c, KVM_CAP_X86_MSR_FILTER);
		for (j = 0; j < vm->n_vcpus; j++) {
			uint64_t mcg_cap;

			if (nc_mce_cap(&vm->vcpus[j], &mcg_cap))
				add_cap(c, KVM_CAP_MCE);
			record_vcpu_features(c, &vm->vcpus[j]);
			record_vcpu_caps(c, &vm->vcpus[j]);
		}
	}
	img->vendor = c->vendor;
}

/* ---- the local host -------------------------------------------------------- */

int nc_caps_probe_kvm(int kvm_fd, const struct nc_caps *want, struct nc_caps *host)
{
	struct kvm_cpuid2 *cp;
	uint32_t i, n = 256;
	int r;

	memset(host, 0, sizeof(*host));
	for (;;) {
		cp = calloc(1, sizeof(*cp) + n * sizeof(cp->entries[0]));
		if (!cp)
			return -ENOMEM;
		cp->nent = n;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cp))
			break;
		r = -errno;
		free(cp);
		if (r != -E2BIG || n >= 4096)
			return r;
		n *= 2;
	}
	for (i = 0; i < cp->nent && i < n; i++) {
		const struct kvm_cpuid_entry2 *e = &cp->entries[i];

		if (e->function == CPUID_EXT_FEATURES) {
			host->have_ext_leaf = true;
			host->ext_leaf = *e;
			if (e->ecx & CPUID_SVM_BIT)
				host->vendor = NESTCKPT_VENDOR_SVM;
		} else if (e->function == CPUID_SVM_FEATURES) {
			host->have_svm_leaf = true;
			host->svm_leaf = *e;
		} else if (e->function == 1 && (e->ecx & CPUID_VMX_BIT)) {
			host->vendor = NESTCKPT_VENDOR_VMX;
		}
	}
	free(cp);
	/* IA32_VMX_* are feature MSRs of the system fd when KVM offers VMX. */
	for (i = MSR_VMX_FIRST; i <= MSR_VMX_LAST; i++) {
		/* struct kvm_msrs with room for one entry */
		uint64_t m[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
		struct kvm_msrs *msrs = (struct kvm_msrs *)m;

		msrs->nmsrs = 1;
		msrs->entries[0].index = i;
		if (ioctl(kvm_fd, KVM_GET_MSRS, msrs) == 1 &&
		    host->n_vmx_msrs < NC_CAPS_MAX_MSRS)
			host->vmx_msrs[host->n_vmx_msrs++] = msrs->entries[0];
	}
	for (i = 0; want && i < want->n_kvm_caps; i++)
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, want->kvm_caps[i]) > 0)
			add_cap(host, want->kvm_caps[i]);
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	host->nested_state_size = r > 0 ? r : 0;
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	host->xsave_size = r > (int)sizeof(struct kvm_xsave) ? (uint32_t)r :
			   sizeof(struct kvm_xsave);
	return 0;
}

int nc_caps_probe_host(const struct nc_caps *want, struct nc_caps *host,
		       struct nc_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err->msg, sizeof(err->msg), "/dev/kvm: %s", strerror(-rc));
		return rc;
	}
	rc = nc_caps_probe_kvm(fd, want, host);
	close(fd);
	if (rc)
		snprintf(err->msg, sizeof(err->msg), "KVM_GET_SUPPORTED_CPUID: %s",
			 strerror(-rc));
	return rc;
}

void nc_caps_record_source(struct nc_caps *img, const struct nc_caps *host)
{
	img->have_src_svm_leaf = host->have_svm_leaf;
	img->src_svm_leaf = host->svm_leaf;
	img->have_src_ext_leaf = host->have_ext_leaf;
	img->src_ext_leaf = host->ext_leaf;
}

/* ---- comparison ------------------------------------------------------------- */

static void missing(struct nc_compat_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void missing(struct nc_compat_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n_missing >= NC_COMPAT_MAX) {
		r->truncated = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->missing[r->n_missing++], sizeof(r->missing[0]), fmt, ap);
	va_end(ap);
}

static bool find_msr(const struct nc_caps *c, uint32_t index, uint64_t *v)
{
	uint32_t i;

	for (i = 0; i < c->n_vmx_msrs; i++) {
		if (c->vmx_msrs[i].index == index) {
			*v = c->vmx_msrs[i].data;
			return true;
		}
	}
	return false;
}

/* Bits set in @need but not in @have, each named from @t with @what before it. */
static void subset(struct nc_compat_report *r, uint64_t need, uint64_t have,
		   const struct bit_name *t, const char *what)
{
	char buf[16];
	unsigned int b;

	for (b = 0; b < 64; b++)
		if ((need >> b & 1) && !(have >> b & 1))
			missing(r, "%s: %s", what, bit_name(t, b, buf, sizeof(buf)));
}

static const struct {
	uint32_t index;
	const char *what;
	const struct bit_name *names;
} vmx_ctls[] = {
	{ 0x481, "pin-based control", pinbased },
	{ 0x482, "primary exec control", procbased },
	{ 0x483, "VM-exit control", exitctl },
	{ 0x484, "VM-entry control", entryctl },
	{ 0x48b, "secondary exec control", secondary },
	{ 0x48d, "pin-based control (TRUE)", pinbased },
	{ 0x48e, "primary exec control (TRUE)", procbased },
	{ 0x48f, "VM-exit control (TRUE)", exitctl },
	{ 0x490, "VM-entry control (TRUE)", entryctl },
};

/*
 * VMX: the image holds the vCPU's VMX capability MSRs, which KVM itself
 * validated against what it supports when the VMM set them (and a VMM that
 * set none holds KVM's own): they are what L1 relies on, and KVM_SET_MSRS on
 * the destination takes them only within what that KVM supports, which its
 * system-fd MSRs report.  So image against host is like with like here.
 */
static void compare_vmx(const struct nc_caps *img, const struct nc_caps *host,
			struct nc_compat_report *r)
{
	char forced[80];
	uint64_t a, b;
	size_t i;

	if (!img->n_vmx_msrs)
		return;
	if (!host->n_vmx_msrs) {
		missing(r, "VMX: this host's KVM offers no VMX capability MSRs "
			"(kvm_intel nested=0?)");
		return;
	}
	for (i = 0; i < img->n_vmx_msrs; i++)
		if (!find_msr(host, img->vmx_msrs[i].index, &b))
			missing(r, "VMX capability MSR 0x%x: not offered by this host",
				img->vmx_msrs[i].index);
	if (find_msr(img, 0x480, &a) && find_msr(host, 0x480, &b)) {
		if ((a & 0x7fffffff) != (b & 0x7fffffff))
			missing(r, "IA32_VMX_BASIC: VMCS revision 0x%llx, this host "
				"uses 0x%llx", (unsigned long long)(a & 0x7fffffff),
				(unsigned long long)(b & 0x7fffffff));
		subset(r, a & (7ull << 54), b, basic, "IA32_VMX_BASIC");
	}
	for (i = 0; i < sizeof(vmx_ctls) / sizeof(vmx_ctls[0]); i++) {
		if (!find_msr(img, vmx_ctls[i].index, &a) ||
		    !find_msr(host, vmx_ctls[i].index, &b))
			continue;
		/* allowed-1 (high half): L1 may have set any of them */
		subset(r, a >> 32, b >> 32, vmx_ctls[i].names, vmx_ctls[i].what);
		/* allowed-0 (low half): a bit this host forces L1 never had to set */
		snprintf(forced, sizeof(forced), "%s this host forces to 1",
			 vmx_ctls[i].what);
		subset(r, b & 0xffffffff, a & 0xffffffff, vmx_ctls[i].names, forced);
	}
	if (find_msr(img, 0x485, &a) && find_msr(host, 0x485, &b)) {
		subset(r, a & 0x7000c1e0ull, b, misc, "IA32_VMX_MISC");
		if ((a & 0x1f) != (b & 0x1f))
			missing(r, "IA32_VMX_MISC: VMX-preemption timer rate %u, this "
				"host %u", (unsigned int)(a & 0x1f),
				(unsigned int)(b & 0x1f));
	}
	if (find_msr(img, 0x486, &a) && find_msr(host, 0x486, &b) && (b & ~a))
		missing(r, "IA32_VMX_CR0_FIXED0: this host requires CR0 bits 0x%llx",
			(unsigned long long)(b & ~a));
	if (find_msr(img, 0x487, &a) && find_msr(host, 0x487, &b) && (a & ~b))
		missing(r, "IA32_VMX_CR0_FIXED1: CR0 bits 0x%llx not allowed here",
			(unsigned long long)(a & ~b));
	if (find_msr(img, 0x488, &a) && find_msr(host, 0x488, &b) && (b & ~a))
		missing(r, "IA32_VMX_CR4_FIXED0: this host requires CR4 bits 0x%llx",
			(unsigned long long)(b & ~a));
	if (find_msr(img, 0x489, &a) && find_msr(host, 0x489, &b) && (a & ~b))
		missing(r, "IA32_VMX_CR4_FIXED1: CR4 bits 0x%llx not allowed here",
			(unsigned long long)(a & ~b));
	if (find_msr(img, 0x48a, &a) && find_msr(host, 0x48a, &b) &&
	    (a & 0x3fe) > (b & 0x3fe))
		missing(r, "IA32_VMX_VMCS_ENUM: highest field index %u, this host %u",
			(unsigned int)(a >> 1 & 0x1ff), (unsigned int)(b >> 1 & 0x1ff));
	if (find_msr(img, 0x48c, &a) && find_msr(host, 0x48c, &b))
		subset(r, a, b, ept_vpid, "EPT/VPID capability");
	if (find_msr(img, 0x491, &a) && find_msr(host, 0x491, &b))
		subset(r, a, b, vmfunc, "VM function");
}

/*
 * SVM, per field of what L1 was shown:
 *  - 0x80000001 ECX.SVM and 0x8000000A EDX (features): KVM emulates one for
 *    L1 only where L1's CPUID has it and KVM supports it (e.g. NRIPS, vGIF,
 *    LBRV in svm_vcpu_after_set_cpuid), so L1 relied on the bits in both the
 *    image and the source's KVM_GET_SUPPORTED_CPUID; those this host's KVM
 *    does not support are missing.  Older images without the source's
 *    leaves: the image's bits.
 *  - EBX (number of ASIDs): KVM runs L2 under ASIDs of its own whatever L1
 *    was told, and only checks that vmcb12's ASID is not zero; QEMU shows 16
 *    where KVM suggests 8.  Not a requirement.
 *  - EAX (SVM revision): informational, KVM does not act on it.
 */
static void compare_svm(const struct nc_caps *img, const struct nc_caps *host,
			struct nc_compat_report *r)
{
	uint32_t need;

	if (!img->have_ext_leaf || !(img->ext_leaf.ecx & CPUID_SVM_BIT))
		return;
	if (img->have_src_ext_leaf && !(img->src_ext_leaf.ecx & CPUID_SVM_BIT))
		return;		/* the source's KVM never emulated SVM for L1 */
	if (!host->have_ext_leaf || !(host->ext_leaf.ecx & CPUID_SVM_BIT)) {
		missing(r, "SVM: this host's KVM does not offer SVM to guests "
			"(kvm_amd nested=0?)");
		return;
	}
	if (!img->have_svm_leaf)
		return;
	if (!host->have_svm_leaf) {
		missing(r, "SVM: this host reports no CPUID 0x8000000A");
		return;
	}
	need = img->svm_leaf.edx;
	if (img->have_src_svm_leaf)
		need &= img->src_svm_leaf.edx;
	subset(r, need, host->svm_leaf.edx, svm_edx, "SVM feature");
	/* Test only (fault.c): the ASID count compared as it once was. */
	if (nc_fault("asid") && img->svm_leaf.ebx > host->svm_leaf.ebx)
		missing(r, "SVM: %u ASIDs, this host offers %u", img->svm_leaf.ebx,
			host->svm_leaf.ebx);
}

void nc_caps_compare(const struct nc_caps *img, const struct nc_caps *host,
		     struct nc_compat_report *r)
{
	uint32_t i, j;

	memset(r, 0, sizeof(*r));
	/* A host offering no nesting at all is named by the vendor checks. */
	if (img->vendor != NESTCKPT_VENDOR_NONE &&
	    host->vendor != NESTCKPT_VENDOR_NONE && img->vendor != host->vendor)
		missing(r, "vendor: the image needs %s, this host's KVM offers %s "
			"to guests", nc_vendor_name(img->vendor),
			nc_vendor_name(host->vendor));
	else if (img->vendor == NESTCKPT_VENDOR_VMX)
		compare_vmx(img, host, r);
	else if (img->vendor == NESTCKPT_VENDOR_SVM)
		compare_svm(img, host, r);
	for (i = 0; i < img->n_kvm_caps; i++) {
		for (j = 0; j < host->n_kvm_caps; j++)
			if (host->kvm_caps[j] == img->kvm_caps[i])
				break;
		if (j == host->n_kvm_caps)
			missing(r, "KVM capability: %s", nc_kvm_cap_name(img->kvm_caps[i]));
	}
	if (img->nested_state_size > host->nested_state_size)
		missing(r, "KVM_CAP_NESTED_STATE: nested state of %u bytes, this "
			"host takes at most %u", img->nested_state_size,
			host->nested_state_size);
	if (img->xsave_size > host->xsave_size)
		missing(r, "XSAVE area of %u bytes, this host's KVM takes %u",
			img->xsave_size, host->xsave_size);
}

int nc_image_check_source(struct nc_image *img, struct nc_err *err)
{
	struct nc_compat_report *r = malloc(sizeof(*r));
	struct nc_caps host;
	int rc;

	if (!r)
		return nc_errf(err, -ENOMEM, "out of memory");
	rc = nc_caps_probe_host(&img->caps, &host, err);
	if (!rc) {
		nc_caps_record_source(&img->caps, &host);
		nc_caps_compare(&img->caps, &host, r);
		if (r->n_missing)
			rc = nc_errf(err, -ENOTSUP, "this host would refuse its own "
				     "image: missing: %s%s", r->missing[0],
				     r->n_missing > 1 ? " (and more)" : "");
	}
	free(r);
	return rc;
}

int nc_image_check_host(const struct nc_image *img, struct nc_compat_report *r,
			struct nc_err *err)
{
	struct nc_caps host;
	int rc = nc_caps_probe_host(&img->caps, &host, err);

	if (rc)
		return rc;
	nc_caps_compare(&img->caps, &host, r);
	return r->n_missing ? -ENOTSUP : 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checkpoint image of the KVM side of one VMM process (DESIGN.md, "The
 * image"): the in-memory model the plugin fills from KVM's uapi structs,
 * and its encoding (image.c, image.proto). Included by libnestckpt.h.
 */
#ifndef NC_IMAGE_H
#define NC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define NC_IMAGE_FORMAT_MAJOR	1	/* a reader refuses another major */
#define NC_IMAGE_FORMAT_MINOR	0	/* grows with optional additions */
#define NC_IMAGE_FILE_PREFIX	"nestckpt-kvm-"	/* DIR/nestckpt-kvm-ID.img */

/* Error text for the caller; functions also return -errno. */
struct nc_err {
	char msg[512];
};

/* Write the reason into @err and return @rc (image.c). */
int nc_errf(struct nc_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Little-endian 32-bit fields of the image and file-record headers. */
void nc_put_le32(uint8_t *p, uint32_t v);
uint32_t nc_get_le32(const uint8_t *p);

/* One eventfd bound to a VM, as the VMM registered it (fd numbers are the VMM's). */
struct nc_irqfd_binding {
	int32_t fd;
	uint32_t gsi;
	uint32_t flags;		/* KVM_IRQFD_FLAG_* */
	int32_t resamplefd;	/* -1: none */
};

struct nc_ioeventfd_binding {
	int32_t fd;
	uint64_t addr;
	uint32_t len;
	uint64_t datamatch;
	uint32_t flags;		/* KVM_IOEVENTFD_FLAG_* */
};

/* nestckpt's nested record (the module's view, beside KVM's blob). */
#define NC_NESTED_GUEST_MODE	(1u << 0)	/* vCPU was in L2 */
#define NC_NESTED_RUN_PENDING	(1u << 1)	/* VMLAUNCH/VMRUN not yet completed */
#define NC_NESTED_GIF		(1u << 2)	/* SVM global interrupt flag */
#define NC_NESTED_VMXON		(1u << 3)	/* VMX operation entered */

struct nc_nested_record {
	uint32_t flags;
	uint64_t vmxon_pa;
	uint64_t vmcs12_pa;	/* VMX current_vmptr; -1ull when none */
	uint64_t vmcb12_pa;
};

/* Which optional items of a vCPU are present (struct nc_vcpu_state.have). */
enum {
	NC_VCPU_REGS = 1u << 0,
	NC_VCPU_SREGS = 1u << 1,
	NC_VCPU_PDPTRS = 1u << 2,	/* from KVM_GET_SREGS2 */
	NC_VCPU_XCRS = 1u << 3,
	NC_VCPU_LAPIC = 1u << 4,
	NC_VCPU_EVENTS = 1u << 5,
	NC_VCPU_DEBUGREGS = 1u << 6,
	NC_VCPU_MP_STATE = 1u << 7,
	NC_VCPU_TSC_KHZ = 1u << 8,
	NC_VCPU_RECORD = 1u << 9,	/* nested record from the module */
};

struct nc_vcpu_state {
	uint32_t id;
	uint32_t have;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t pdptrs[4];
	void *xsave;			/* malloc'd, xsave_size bytes (>= 4096) */
	uint32_t xsave_size;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs;		/* malloc'd, nmsrs entries */
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	struct kvm_cpuid2 *cpuid;	/* malloc'd, nent entries */
	uint32_t tsc_khz;
	struct kvm_nested_state *nested;	/* malloc'd, nested->size bytes */
	struct nc_nested_record rec;
};

/*
 * The VM's MSR filter (KVM_X86_SET_MSR_FILTER), as the module read it:
 * kept per VM in its own must-understand component (msr_filter.c).
 */
#define NC_MSR_FILTER_RANGES	16	/* KVM_MSR_FILTER_MAX_RANGES */
#define NC_MSR_FILTER_BITMAP	0x600	/* KVM_MSR_FILTER_MAX_BITMAP_SIZE */
struct nc_msr_filter_range {
	uint32_t flags;		/* KVM_MSR_FILTER_READ | _WRITE */
	uint32_t base;
	uint32_t nmsrs;
	uint32_t bitmap_len;	/* BITS_TO_LONGS(nmsrs) * 8, as KVM holds it */
	uint8_t bitmap[NC_MSR_FILTER_BITMAP];
};
struct nc_msr_filter {
	uint32_t flags;		/* KVM_MSR_FILTER_DEFAULT_DENY or 0 */
	uint32_t nr_ranges;
	struct nc_msr_filter_range ranges[NC_MSR_FILTER_RANGES];
};
/* NULL, or why @f is not a filter KVM_X86_SET_MSR_FILTER accepts. */
const char *nc_msr_filter_invalid(const struct nc_msr_filter *f);

enum {
	NC_VM_CLOCK = 1u << 0,
	NC_VM_IRQCHIP = 1u << 1,	/* chip[0..2]: PIC master, slave, IOAPIC */
	NC_VM_PIT2 = 1u << 2,
};

struct nc_vm_state {
	uint32_t have;
	struct kvm_clock_data clock;
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit2;
	struct kvm_userspace_memory_region *memslots;
	uint32_t n_memslots;
	struct nc_irqfd_binding *irqfds;
	uint32_t n_irqfds;
	struct nc_ioeventfd_binding *ioeventfds;
	uint32_t n_ioeventfds;
	struct kvm_irq_routing_entry *routes;
	uint32_t n_routes;
	struct kvm_coalesced_mmio_zone *coalesced;
	uint32_t n_coalesced;
	struct kvm_enable_cap *enabled_caps;
	uint32_t n_enabled_caps;
	struct nc_msr_filter *msr_filter;	/* malloc'd; NULL: the VM has none */
	struct nc_vcpu_state *vcpus;
	uint32_t n_vcpus;
};

/*
 * Nested capabilities: recorded at dump (what L1 sees and the VM uses),
 * or probed on the local host (what KVM offers), and compared by compat.c.
 */
#define NC_CAPS_MAX_MSRS	32
#define NC_CAPS_MAX_KVM		64
struct nc_caps {
	uint32_t vendor;			/* NESTCKPT_VENDOR_* */
	uint32_t n_vmx_msrs;
	struct kvm_msr_entry vmx_msrs[NC_CAPS_MAX_MSRS];
	bool have_svm_leaf, have_ext_leaf;
	struct kvm_cpuid_entry2 svm_leaf;	/* 0x8000000A */
	struct kvm_cpuid_entry2 ext_leaf;	/* 0x80000001 */
	/*
	 * The same leaves as the dumping host's KVM offered them
	 * (KVM_GET_SUPPORTED_CPUID): KVM emulates a nested SVM feature only
	 * where L1 was shown it and KVM supports it, so L1 relied on the
	 * intersection.  Absent in older images.
	 */
	bool have_src_svm_leaf, have_src_ext_leaf;
	struct kvm_cpuid_entry2 src_svm_leaf, src_ext_leaf;
	uint32_t n_kvm_caps;
	uint32_t kvm_caps[NC_CAPS_MAX_KVM];	/* KVM_CAP_* relied upon */
	uint32_t nested_state_size;		/* largest nested blob */
	uint32_t xsave_size;
};

#define NC_IMAGE_MAX_SKIPPED	8
/* One entry of the component table, as decoded (for inspect). */
struct nc_component_info {
	char name[64];
	uint32_t kind;
	bool must_understand;
	bool skipped;		/* unknown optional kind */
	uint64_t offset, length;
};

struct nc_image {
	uint32_t format_major, format_minor;
	char producer[64];
	uint32_t vendor;
	struct nc_caps caps;
	struct nc_vm_state *vms;
	uint32_t n_vms;
	char note[256];
	/* Optional components of unknown kind this reader skipped. */
	uint32_t n_skipped;
	char skipped[NC_IMAGE_MAX_SKIPPED][80];
	struct nc_component_info *components;	/* set by decode */
	uint32_t n_components;
	uint64_t file_size;
};

/* A component the encoder adds verbatim (for kinds this writer does not model). */
struct nc_extra_component {
	uint32_t kind;
	const char *name;
	bool must_understand;
	const void *data;
	size_t len;
};

/* Encode @img into a malloc'd buffer (*@buf, *@len). */
int nc_image_encode(const struct nc_image *img,
		    const struct nc_extra_component *extra, size_t n_extra,
		    uint8_t **buf, size_t *len, struct nc_err *err);
/*
 * Decode and validate: magic, format version, checksums, every component;
 * converts nested state to this host's KVM layout. On error @err names the
 * component and the file offset. @img is freed with nc_image_free either way.
 */
int nc_image_decode(const uint8_t *buf, size_t len, struct nc_image *img,
		    struct nc_err *err);
/* Recompute every checksum in place (tests and the fuzzer edit images). */
int nc_image_reseal(uint8_t *buf, size_t len);
/*
 * Refuse vCPU states KVM_SET_NESTED_STATE would reject (vcpu_check.c):
 * 0, or -EINVAL naming the vCPU and the rule in @err.
 */
int nc_image_check_vcpus(const struct nc_image *img, struct nc_err *err);
void nc_image_free(struct nc_image *img);
void nc_vm_state_free(struct nc_vm_state *vm);
void nc_vcpu_state_free(struct nc_vcpu_state *v);

int nc_image_write_file(const char *path, const struct nc_image *img,
			struct nc_err *err);
int nc_image_read_file(const char *path, struct nc_image *img,
		       struct nc_err *err);
/* The image file in checkpoint directory @dir (first nestckpt-kvm-*.img). */
int nc_image_find(const char *dir, char *path, size_t size, struct nc_err *err);

uint32_t nc_crc32c(uint32_t crc, const void *buf, size_t len);

const char *nc_component_kind_name(uint32_t kind);	/* NULL if unknown */

/* Capture directory of nestvmm --capture (capture_dir.c). */
int nc_capture_load(const char *dir, struct nc_image *img, struct nc_err *err);
/* Fill img->caps from the VM states (what L1 sees, KVM caps used). */
void nc_image_record_caps(struct nc_image *img);

#endif /* NC_IMAGE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Portable forms of KVM's nested state and their conversions (DESIGN.md):
 *  - VMX: vmcs12 by architectural field encoding (vmcs12.c), translated
 *    from/to KVM's in-memory layout of a known VMCS12_REVISION;
 *  - SVM: the clean form of seeds/003 (svm_state.c): L1 save area, L1's
 *    guest-visible CR0/CR3/CR4/EFER and the full VMCB12, from/to KVM's
 *    stitched blob (vmcb12 control + L1 save area; L2 state in the vCPU).
 */
#ifndef NC_NESTED_H
#define NC_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct nc_vcpu_state;

/* Why a conversion failed (callers prefix where). */
struct nc_why {
	char msg[384];
};

/* ---- VMX ------------------------------------------------------------------ */

#define NC_VMCS12_PAGE		4096	/* KVM_STATE_NESTED_VMX_VMCS_SIZE */
#define NC_VMCS12_MAX_FIELDS	256

struct nc_vmcs12_field_loc {
	uint16_t encoding;	/* SDM field encoding (the "full" one for 64-bit) */
	uint16_t offset;	/* in KVM's vmcs12 page */
	uint8_t width;		/* bytes: 2, 4 or 8 */
	const char *member;	/* KVM's name of the field */
};

struct nc_vmcs12_layout {
	uint32_t revision;
	uint32_t n;
	struct nc_vmcs12_field_loc fields[];
};

extern const struct nc_vmcs12_layout nc_vmcs12_layout_11e57ed0;

struct nc_vmcs_field {
	uint32_t encoding;
	uint64_t value;
};

/* A vmcs12 as the image holds it. */
struct nc_vmcs12 {
	uint32_t revision;		/* of the layout it was read from */
	uint32_t abort;
	uint32_t launch_state;
	uint32_t n;
	struct nc_vmcs_field f[NC_VMCS12_MAX_FIELDS];
};

/* The layout KVM uses for @revision, or NULL when this library has none. */
const struct nc_vmcs12_layout *nc_vmcs12_layout_find(uint32_t revision);
/* Every field of a KVM vmcs12 page; -EPROTONOSUPPORT for an unknown revision. */
int nc_vmcs12_from_kvm(const uint8_t *page, size_t len, struct nc_vmcs12 *out,
		       struct nc_why *why);
/*
 * Write @in into a KVM vmcs12 page of @layout's revision (zeroing the rest);
 * a field the layout has no place for is -ENOENT, named in @why.
 */
int nc_vmcs12_to_kvm(const struct nc_vmcs12 *in,
		     const struct nc_vmcs12_layout *layout, uint8_t *page,
		     size_t len, struct nc_why *why);
/* Value of one field; false when absent. */
bool nc_vmcs12_get(const struct nc_vmcs12 *v, uint32_t encoding, uint64_t *value);
/* SDM name of a field encoding ("GUEST_RIP"), or NULL. */
const char *nc_vmcs_field_name(uint32_t encoding);

/* ---- SVM ------------------------------------------------------------------ */

#define NC_VMCB_CONTROL_SIZE	0x400
#define NC_VMCB_SAVE_SIZE	(4096 - NC_VMCB_CONTROL_SIZE)

/* VMCB offsets used here (AMD APM vol. 2, appendix B). */
#define VMCB_CTL_INTERCEPT_CR		0x000
#define VMCB_CTL_INTERCEPT_EXC		0x008
#define VMCB_CTL_INTERCEPT_VEC3		0x00c
#define VMCB_CTL_INTERCEPT_VEC4		0x010
#define VMCB_CTL_INTERCEPT_VEC5		0x014
#define VMCB_CTL_PAUSE_THRESH		0x03c
#define VMCB_CTL_PAUSE_COUNT		0x03e
#define VMCB_CTL_IOPM_BASE		0x040
#define VMCB_CTL_MSRPM_BASE		0x048
#define VMCB_CTL_TSC_OFFSET		0x050
#define VMCB_CTL_ASID			0x058
#define VMCB_CTL_TLB_CTL		0x05c
#define VMCB_CTL_INT_CTL		0x060
#define VMCB_CTL_INT_VECTOR		0x064
#define VMCB_CTL_INT_STATE		0x068
#define VMCB_CTL_EXIT_CODE		0x070
#define VMCB_CTL_EXIT_CODE_HI		0x074
#define VMCB_CTL_EXIT_INFO_1		0x078
#define VMCB_CTL_EXIT_INFO_2		0x080
#define VMCB_CTL_EXIT_INT_INFO		0x088
#define VMCB_CTL_EXIT_INT_INFO_ERR	0x08c
#define VMCB_CTL_NESTED_CTL		0x090
#define VMCB_CTL_EVENT_INJ		0x0a8
#define VMCB_CTL_EVENT_INJ_ERR		0x0ac
#define VMCB_CTL_NESTED_CR3		0x0b0
#define VMCB_CTL_VIRT_EXT		0x0b8
#define VMCB_CTL_NEXT_RIP		0x0c8

#define VMCB_SAVE_ES		0x000	/* selector u16, attrib u16, limit u32, base u64 */
#define VMCB_SAVE_CS		0x010
#define VMCB_SAVE_SS		0x020
#define VMCB_SAVE_DS		0x030
#define VMCB_SAVE_FS		0x040
#define VMCB_SAVE_GS		0x050
#define VMCB_SAVE_GDTR		0x060
#define VMCB_SAVE_LDTR		0x070
#define VMCB_SAVE_IDTR		0x080
#define VMCB_SAVE_TR		0x090
#define VMCB_SAVE_CPL		0x0cb
#define VMCB_SAVE_EFER		0x0d0
#define VMCB_SAVE_CR4		0x148
#define VMCB_SAVE_CR3		0x150
#define VMCB_SAVE_CR0		0x158
#define VMCB_SAVE_DR7		0x160
#define VMCB_SAVE_DR6		0x168
#define VMCB_SAVE_RFLAGS	0x170
#define VMCB_SAVE_RIP		0x178
#define VMCB_SAVE_RSP		0x1d8
#define VMCB_SAVE_RAX		0x1f8
#define VMCB_SAVE_STAR		0x200
#define VMCB_SAVE_LSTAR		0x208
#define VMCB_SAVE_CSTAR		0x210
#define VMCB_SAVE_SFMASK	0x218
#define VMCB_SAVE_KERNEL_GS_BASE 0x220
#define VMCB_SAVE_SYSENTER_CS	0x228
#define VMCB_SAVE_SYSENTER_ESP	0x230
#define VMCB_SAVE_SYSENTER_EIP	0x238
#define VMCB_SAVE_CR2		0x240
#define VMCB_SAVE_G_PAT		0x268
#define VMCB_SAVE_DBGCTL	0x270

struct nc_svm_clean {
	uint64_t vmcb12_pa;
	bool guest_mode;
	bool run_pending;
	bool gif;
	/* L1: its VMCB save area (host state) and guest-visible registers. */
	uint8_t l1_save[NC_VMCB_SAVE_SIZE];
	uint64_t l1_cr0, l1_cr3, l1_cr4, l1_efer;
	/* The full VMCB12: control area and L2's save area. */
	uint8_t vmcb12_control[NC_VMCB_CONTROL_SIZE];
	uint8_t vmcb12_save[NC_VMCB_SAVE_SIZE];
};

/*
 * KVM's stitched blob @ns plus the vCPU's L2 register state @v (regs, sregs,
 * debugregs, MSRs) -> clean form.
 */
int nc_svm_clean_from_kvm(const struct kvm_nested_state *ns,
			  const struct nc_vcpu_state *v, struct nc_svm_clean *c,
			  struct nc_why *why);
/* Clean form -> KVM's stitched blob (malloc'd, (*ns)->size bytes). */
int nc_svm_clean_to_kvm(const struct nc_svm_clean *c,
			struct kvm_nested_state **ns, struct nc_why *why);
/* L2's registers as the VMCB12 save area holds them, into @v's regs/sregs/debugregs/MSRs. */
void nc_svm_l2_to_vcpu(const struct nc_svm_clean *c, struct nc_vcpu_state *v);

/* Little-endian field access into VMCB areas (and any byte buffer). */
uint64_t nc_le_get(const uint8_t *p, unsigned int width);
void nc_le_put(uint8_t *p, unsigned int width, uint64_t v);

#endif /* NC_NESTED_H */

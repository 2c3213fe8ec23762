// SPDX-License-Identifier: GPL-2.0
/*
 * Machine-check state of a vCPU.  A VMM sets MCG_CAP with KVM_X86_SETUP_MCE
 * (QEMU: the banks and MCG_CTL_P KVM_X86_GET_MCE_CAP_SUPPORTED offers), and
 * KVM takes MCG_CTL all ones, and bank MSRs, only within that MCG_CAP.
 * KVM_GET_MSRS reads MCG_CAP and the banks (x86.c get_msr_mce), but
 * KVM_GET_MSR_INDEX_LIST names neither, and KVM_SET_MSRS cannot write
 * MCG_CAP.  So the dump adds MCG_CAP to the MSRs it reads and then reads
 * each vCPU's banks (MCi_CTL/STATUS/ADDR/MISC and MCi_CTL2) as its MCG_CAP
 * says; the restore replays KVM_X86_SETUP_MCE with the recorded MCG_CAP at
 * vCPU creation, before KVM_SET_MSRS puts MCG_CTL, MCG_STATUS and the banks
 * back.  Pending injected machine checks (KVM_X86_SET_MCE) are bank state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libnestckpt.h"

#define MSR_MC0_CTL		0x400	/* 4 per bank: CTL, STATUS, ADDR, MISC */
#define MSR_MC0_CTL2		0x280	/* 1 per bank */
#define MCG_CAP_COUNT		0xffull
#define MCG_CAP_EXT_COUNT	0xff0000ull	/* KVM lets these through */

static bool find_msr(const struct kvm_msrs *m, uint32_t index, uint64_t *data)
{
	uint32_t i;

	for (i = 0; m && i < m->nmsrs; i++)
		if (m->entries[i].index == index) {
			*data = m->entries[i].data;
			return true;
		}
	return false;
}

bool nc_mce_cap(const struct nc_vcpu_state *v, uint64_t *mcg_cap)
{
	return find_msr(v->msrs, NC_MSR_MCG_CAP, mcg_cap);
}

bool nc_mce_setup_only(uint32_t index)
{
	return index == NC_MSR_MCG_CAP;
}

int nc_mce_add_cap_index(uint32_t **idx, uint32_t *n)
{
	uint32_t *v, i;

	for (i = 0; i < *n; i++)
		if ((*idx)[i] == NC_MSR_MCG_CAP)
			return 0;
	v = realloc(*idx, (*n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[(*n)++] = NC_MSR_MCG_CAP;
	*idx = v;
	return 0;
}

uint32_t nc_mce_bank_msrs(uint64_t mcg_cap, uint32_t idx[NC_MCE_MAX_BANK_MSRS])
{
	uint32_t banks = mcg_cap & MCG_CAP_COUNT, n = 0, b, k;

	if (banks > NC_MCE_MAX_BANKS)
		banks = NC_MCE_MAX_BANKS;
	for (b = 0; b < banks; b++)
		for (k = 0; k < 4; k++)
			idx[n++] = MSR_MC0_CTL + 4 * b + k;
	for (b = 0; b < banks; b++)
		idx[n++] = MSR_MC0_CTL2 + b;
	return n;
}

const char *nc_mce_invalid(uint64_t mcg_cap, uint64_t supported)
{
	uint32_t banks = mcg_cap & MCG_CAP_COUNT;

	if (!banks || banks > NC_MCE_MAX_BANKS)
		return "a bank count KVM_X86_SETUP_MCE refuses";
	if (mcg_cap & ~(supported | MCG_CAP_COUNT | MCG_CAP_EXT_COUNT))
		return "MCG_CAP bits this host's KVM does not support";
	return NULL;
}

/* KVM_X86_GET_MCE_CAP_SUPPORTED, or -errno. */
static int host_mce_supported(uint64_t *supported)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, KVM_X86_GET_MCE_CAP_SUPPORTED, supported))
		r = -errno;
	close(fd);
	return r;
}

int nc_mce_check(const struct nc_image *img, struct nc_err *err)
{
	uint64_t cap, supported = ~0ull;
	bool asked = false;
	const char *bad;
	uint32_t i, j;

	for (i = 0; i < img->n_vms; i++)
		for (j = 0; j < img->vms[i].n_vcpus; j++) {
			const struct nc_vcpu_state *v = &img->vms[i].vcpus[j];

			if (!nc_mce_cap(v, &cap))
				continue;
			/* Without /dev/kvm here, only KVM's fixed rules apply. */
			if (!asked && host_mce_supported(&supported))
				supported = ~0ull;
			asked = true;
			bad = nc_mce_invalid(cap, supported);
			if (bad)
				return nc_errf(err, -EINVAL, "vm%u/vcpu%u: MCG_CAP %#llx: %s",
					       i, v->id, (unsigned long long)cap, bad);
		}
	return 0;
}

/* What KVM_GET_MSRS says of @index on @vcpu_fd; -errno if unreadable. */
static int vcpu_msr(int vcpu_fd, uint32_t index, uint64_t *data)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	int r;

	m->nmsrs = 1;
	m->entries[0].index = index;
	r = ioctl(vcpu_fd, KVM_GET_MSRS, m);
	if (r != 1)
		return r < 0 ? -errno : -ENOENT;
	*data = m->entries[0].data;
	return 0;
}

int nc_mce_setup(int vcpu_fd, const struct nc_vcpu_state *v, struct nc_err *err)
{
	uint64_t cap, fresh = 0;

	if (!nc_mce_cap(v, &cap))
		return 0;	/* an image from before MCE was kept */
	/*
	 * A VMM that never ran KVM_X86_SETUP_MCE left KVM's default, which a
	 * new vCPU has too: setting it up again would turn every MCi_CTL on.
	 */
	if (!vcpu_msr(vcpu_fd, NC_MSR_MCG_CAP, &fresh) && fresh == cap)
		return 0;
	if (ioctl(vcpu_fd, KVM_X86_SETUP_MCE, &cap))
		return nc_errf(err, -errno, "vcpu%u: KVM_X86_SETUP_MCE (MCG_CAP %#llx): %s",
			       v->id, (unsigned long long)cap, strerror(errno));
	return 0;
}

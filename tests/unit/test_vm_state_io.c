// SPDX-License-Identifier: GPL-2.0
/*
 * test_vm_state_io VMM_PID: run as root inside the test bed by 30-freeze
 * against nestvmm (running or frozen). NESTCKPT_IOC_VM_STATE at the raw ABI
 * for the ioeventfd and coalesced-zone components:
 *
 *  - asked for only those two, the kernel gives exactly those two records
 *    (out flags = components given), entries of the public KVM structs'
 *    sizes, three ioeventfds (the len-0 MMIO one once, not once per MMIO
 *    bus) and two zones, every padding byte zero;
 *  - a flag above NESTCKPT_VMS_ALL is refused (EINVAL);
 *  - a buffer one byte short fails with ENOSPC, names the size needed and
 *    reports no component as given;
 *  - a VM index the VMM does not have: ENOENT.
 *
 * The values themselves are compared with nestvmm's stats by 30-freeze
 * through nestckptctl status. Without arguments (the host's unit-test run)
 * it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "tap.h"
#include "nestckpt.h"

static const uint32_t io_flags = NESTCKPT_VMS_IOEVENTFDS | NESTCKPT_VMS_COALESCED;

static int vm_state(int dev, pid_t pid, uint32_t vm, uint32_t flags, void *buf,
		    uint32_t len, struct nestckpt_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->flags = flags;
	st->pid = pid;
	st->vm = vm;
	st->buf = (uintptr_t)buf;
	st->buf_len = len;
	return ioctl(dev, NESTCKPT_IOC_VM_STATE, st) ? errno : 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	const struct nestckpt_vm_record *r1, *r2;
	struct nestckpt_vm_state st;
	uint32_t i, used;
	pid_t vmm;
	int dev, err;

	if (argc != 2) {
		printf("1..0 # SKIP needs VMM_PID, as root in the test bed (30-freeze)\n");
		return 0;
	}
	vmm = atoi(argv[1]);
	dev = open(NESTCKPT_DEVICE_PATH, O_RDWR);
	if (!ok(dev >= 0, "open " NESTCKPT_DEVICE_PATH))
		return 1;

	err = vm_state(dev, vmm, 0, io_flags, buf, sizeof(buf), &st);
	if (!ok(err == 0, "ioeventfds and coalesced zones alone: given"))
		printf("#   errno %d (%s)\n", err, strerror(err));
	is_int(st.flags, io_flags, "out flags: exactly the two components");
	used = st.buf_len;
	r1 = (const void *)buf;
	r2 = (const void *)(buf + sizeof(*r1) + (size_t)r1->count * r1->entry_size);
	if (err || used < 2 * sizeof(*r1) ||
	    sizeof(*r1) + (size_t)r1->count * r1->entry_size + sizeof(*r2) > used)
		r1 = r2 = NULL;
	ok(r1 && r1->type == NESTCKPT_VMS_IOEVENTFDS && !r1->reserved,
	   "first record: ioeventfds");
	ok(r1 && r1->entry_size == sizeof(struct kvm_ioeventfd),
	   "ioeventfd entries are struct kvm_ioeventfd");
	is_int(r1 ? r1->count : 0, 3, "three ioeventfds (len-0 MMIO once)");
	ok(r2 && r2->type == NESTCKPT_VMS_COALESCED && !r2->reserved,
	   "second record: coalesced zones");
	ok(r2 && r2->entry_size == sizeof(struct kvm_coalesced_mmio_zone),
	   "zone entries are struct kvm_coalesced_mmio_zone");
	is_int(r2 ? r2->count : 0, 2, "two coalesced zones");
	if (r1 && r2 && r1->entry_size == sizeof(struct kvm_ioeventfd) &&
	    r2->entry_size == sizeof(struct kvm_coalesced_mmio_zone)) {
		const struct kvm_ioeventfd *e = (const void *)(r1 + 1);
		const struct kvm_coalesced_mmio_zone *z = (const void *)(r2 + 1);
		int pads = 1, flags = 1, pio = 1;

		is_int(used, 2 * sizeof(*r1) + r1->count * sizeof(*e) +
		       r2->count * sizeof(*z), "buf_len: the two records");
		for (i = 0; i < r1->count; i++) {
			pads &= all_zero(e[i].pad, sizeof(e[i].pad));
			flags &= !(e[i].flags & ~(KVM_IOEVENTFD_FLAG_PIO |
						  KVM_IOEVENTFD_FLAG_DATAMATCH));
			flags &= (e[i].flags & KVM_IOEVENTFD_FLAG_DATAMATCH) ||
				 !e[i].datamatch;
			printf("# ioeventfd addr 0x%llx len %u flags %#x datamatch 0x%llx fd %d\n",
			       (unsigned long long)e[i].addr, e[i].len, e[i].flags,
			       (unsigned long long)e[i].datamatch, e[i].fd);
		}
		for (i = 0; i < r2->count; i++) {
			pio &= z[i].pio <= 1;
			printf("# zone addr 0x%llx size 0x%x pio %u\n",
			       (unsigned long long)z[i].addr, z[i].size, z[i].pio);
		}
		ok(pads, "ioeventfd padding is zero");
		ok(flags, "ioeventfd flags: PIO/DATAMATCH only, datamatch 0 without");
		ok(pio, "zone pio is 0 or 1");
	}

	err = vm_state(dev, vmm, 0, NESTCKPT_VMS_ALL + 1, buf, sizeof(buf), &st);
	is_int(err, EINVAL, "a flag above NESTCKPT_VMS_ALL: EINVAL");

	if (used) {
		err = vm_state(dev, vmm, 0, io_flags, buf, used - 1, &st);
		is_int(err, ENOSPC, "one byte short: ENOSPC");
		is_int(st.buf_len, used, "ENOSPC: buf_len is the size needed");
		is_int(st.flags, 0, "ENOSPC: no component given");
	}

	err = vm_state(dev, vmm, 7, io_flags, buf, sizeof(buf), &st);
	is_int(err, ENOENT, "a VM the VMM does not have: ENOENT");

	close(dev);
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/* Freeze, thaw and status of a VMM through /dev/nestckpt. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "libnestckpt.h"

int nc_kvm_msr_list(uint32_t **out, uint32_t *nr)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int fd, ret;

	*out = NULL;
	*nr = 0;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* E2BIG tells how many there are. */
	if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG) {
		ret = probe.nmsrs ? 0 : -errno;
		close(fd);
		return ret;
	}
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list) {
		close(fd);
		return -ENOMEM;
	}
	list->nmsrs = probe.nmsrs;
	ret = ioctl(fd, KVM_GET_MSR_INDEX_LIST, list) ? -errno : 0;
	close(fd);
	/* Never more than the room given, whatever the count says. */
	if (!ret && list->nmsrs > probe.nmsrs)
		ret = -EPROTO;
	if (ret) {
		free(list);
		return ret;
	}
	*nr = list->nmsrs;
	*out = malloc(list->nmsrs * sizeof(uint32_t));
	if (!*out) {
		free(list);
		return -ENOMEM;
	}
	memcpy(*out, list->indices, list->nmsrs * sizeof(uint32_t));
	free(list);
	return 0;
}

int nc_freeze(int dev, pid_t pid, unsigned int timeout_ms,
	      struct nestckpt_freeze *out)
{
	return nc_freeze_flags(dev, pid, timeout_ms, 0, out);
}

/*
 * Does the module tie freezes to their file (ABI 1.5+)?  Older ones never
 * do: a freeze there outlives its caller whatever it asked.
 */
static bool nc_freeze_always_detached(int dev)
{
	struct nc_info info;

	return !nc_get_info(dev, &info) && info.raw.abi_major == 1 &&
	       info.raw.abi_minor < 5;
}

int nc_freeze_flags(int dev, pid_t pid, unsigned int timeout_ms, uint32_t flags,
		    struct nestckpt_freeze *out)
{
	uint32_t *msrs = NULL, nr = 0;
	int ret;

	/* Without /dev/kvm here the freeze still works, minus MSR upkeep. */
	nc_kvm_msr_list(&msrs, &nr);
	if (nr > NESTCKPT_MAX_MSRS)
		nr = NESTCKPT_MAX_MSRS;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->flags = flags;
	out->pid = pid;
	out->timeout_ms = timeout_ms;
	out->msr_indices = (uintptr_t)msrs;
	out->nr_msrs = nr;
	ret = ioctl(dev, NESTCKPT_IOC_FREEZE, out) ? -errno : 0;
	if (ret == -EINVAL && (flags & NESTCKPT_FREEZE_DETACHED) && nc_freeze_always_detached(dev)) {
		/* A module before ABI 1.5 knows no such flag: its freezes are all detached. */
		out->flags = flags & ~NESTCKPT_FREEZE_DETACHED;
		ret = ioctl(dev, NESTCKPT_IOC_FREEZE, out) ? -errno : 0;
	}
	free(msrs);
	return ret;
}

int nc_thaw(int dev, pid_t pid, struct nestckpt_thaw *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->pid = pid;
	return ioctl(dev, NESTCKPT_IOC_THAW, out) ? -errno : 0;
}

int nc_status(int dev, pid_t pid, struct nestckpt_status *st,
	      struct nestckpt_vcpu_status **vcpus)
{
	struct nestckpt_vcpu_status *v = NULL;
	unsigned int cap = 0;

	/* The vCPU count can change between calls: grow until it fits. */
	for (;;) {
		memset(st, 0, sizeof(*st));
		st->size = sizeof(*st);
		st->pid = pid;
		st->vcpu_capacity = cap;
		st->vcpu_entry_size = sizeof(*v);
		st->vcpus = (uintptr_t)v;
		if (ioctl(dev, NESTCKPT_IOC_STATUS, st)) {
			int err = -errno;

			free(v);
			return err;
		}
		if (st->nr_vcpus <= cap)
			break;
		cap = st->nr_vcpus;
		free(v);
		v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	*vcpus = v;
	return 0;
}

const char *nc_freeze_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ESRCH:
		return "no such process (or the frozen VMM exec()ed or died: its freeze is dropped)";
	case EPERM:
		return "no ptrace rights over the process";
	case ENOENT:
		return "the process has no KVM VM (or is not frozen)";
	case EBUSY:
		return "already frozen, or busy";
	case ETIMEDOUT:
		return "timed out: a vCPU thread (or KVM's NX recovery worker) did not stop, or "
		       "a KVM operation on it did not finish (guest memory the VMM holds with "
		       "a userfaultfd?); see the kernel log";
	case EINPROGRESS:
		return "a vCPU's I/O exit is not completed yet (the VMM has not re-entered KVM_RUN)";
	case EOPNOTSUPP:
		return "a vCPU mapping cannot be served through " NESTCKPT_DEVICE_PATH
		       " (private, or it reaches KVM's dirty ring)";
	case EBADF:
		return "a vCPU is mapped but the VMM no longer holds its fd";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

const char *nc_vm_state_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EOPNOTSUPP:
		return "not available: no layout of KVM's structures (kvm module BTF)";
	case EPROTO:
		return "refused: KVM's structures failed the module's checks "
		       "(I/O bus tables, MSR filter limits)";
	case EINVAL:
		return "not known to this nestckpt module";
	default:
		return nc_freeze_strerror(err);
	}
}

int nc_vm_state(int dev, pid_t pid, uint32_t vm, uint32_t flags, void **buf,
		uint32_t *len)
{
	struct nestckpt_vm_state st;
	uint32_t cap = 4096;
	void *b = NULL;

	/* Grow on ENOSPC: the kernel says how much it needs. */
	for (;;) {
		void *nb = realloc(b, cap);

		if (!nb) {
			free(b);
			return -ENOMEM;
		}
		b = nb;
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.flags = flags;
		st.pid = pid;
		st.vm = vm;
		st.buf = (uintptr_t)b;
		st.buf_len = cap;
		if (!ioctl(dev, NESTCKPT_IOC_VM_STATE, &st))
			break;
		if (errno != ENOSPC || st.buf_len <= cap) {
			int err = -errno;

			free(b);
			return err;
		}
		cap = st.buf_len;
	}
	/* The length the module reports is bounded by the buffer it was given. */
	if (st.buf_len > cap) {
		free(b);
		return -EPROTO;
	}
	*buf = b;
	*len = st.buf_len;
	return 0;
}

const struct nestckpt_vm_record *nc_vm_record(const void *buf, uint32_t len,
					      uint32_t type)
{
	uint32_t off = 0;

	while (off + sizeof(struct nestckpt_vm_record) <= len) {
		const struct nestckpt_vm_record *r = (const void *)((const char *)buf + off);
		uint64_t bytes = sizeof(*r) + (uint64_t)r->count * r->entry_size;

		if (bytes > len - off)
			return NULL;
		if (r->type == type)
			return r;
		off += (uint32_t)bytes;
	}
	return NULL;
}

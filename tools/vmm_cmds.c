// SPDX-License-Identifier: GPL-2.0
/* nestckptctl freeze, thaw and status: acting on a running VMM. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "commands.h"
#include "libnestckpt.h"

static int parse_pid(const char *cmd, const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT32_MAX) {
		fprintf(stderr, "nestckptctl %s: '%s' is not a process id\n", cmd, s);
		return EXIT_USAGE;
	}
	*pid = (pid_t)v;
	return 0;
}

static int open_dev(const char *cmd)
{
	int fd = nc_dev_open(NULL);

	if (fd < 0)
		fprintf(stderr, "nestckptctl %s: %s: %s\n", cmd, NESTCKPT_DEVICE_PATH,
			nc_dev_open_strerror(fd));
	return fd;
}

/* Common argument handling: CMD [--json] [--timeout MS] PID */
struct vmm_args {
	pid_t pid;
	bool json;
	bool maps;		/* freeze: NESTCKPT_FREEZE_MAPS */
	bool hold;		/* freeze: attached, held until a signal */
	unsigned int timeout_ms;
};

static int parse_vmm_args(const char *cmd, const char *usage, bool timeout,
			  int argc, char **argv, struct vmm_args *a)
{
	bool have_pid = false;
	int i, ret;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: nestckptctl %s\n", usage);
			return -1;
		} else if (!strcmp(argv[i], "--json")) {
			a->json = true;
		} else if (timeout && !strcmp(argv[i], "--maps")) {
			a->maps = true;
		} else if (timeout && !strcmp(argv[i], "--hold")) {
			a->hold = true;
		} else if (timeout && !strcmp(argv[i], "--timeout") && i + 1 < argc) {
			a->timeout_ms = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!have_pid && argv[i][0] != '-') {
			ret = parse_pid(cmd, argv[i], &a->pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			fprintf(stderr, "nestckptctl %s: unexpected argument '%s'\n"
				"usage: nestckptctl %s\n", cmd, argv[i], usage);
			return EXIT_USAGE;
		}
	}
	if (!have_pid) {
		fprintf(stderr, "usage: nestckptctl %s\n", usage);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * --hold: the freeze stays tied to our file; wait for SIGINT/SIGTERM/SIGHUP,
 * then close it, which thaws (as being killed does).
 */
static void hold_until_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
}

int cmd_freeze(int argc, char **argv)
{
	struct nestckpt_freeze f;
	struct vmm_args a;
	uint32_t flags;
	int dev, ret;

	ret = parse_vmm_args("freeze", "freeze [--json] [--timeout MS] [--maps] [--hold] PID", true,
			     argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	dev = open_dev("freeze");
	if (dev < 0)
		return 1;
	/* We exit right after: detached, unless held here. */
	flags = (a.maps ? NESTCKPT_FREEZE_MAPS : 0) |
		(a.hold ? 0 : NESTCKPT_FREEZE_DETACHED);
	ret = nc_freeze_flags(dev, a.pid, a.timeout_ms, flags, &f);
	if (ret || !a.hold)
		close(dev);
	if (ret) {
		fprintf(stderr, "nestckptctl freeze: pid %d: %s\n", a.pid,
			nc_freeze_strerror(ret));
		return 1;
	}
	if (a.json)
		printf("{\"pid\":%d,\"vms\":%u,\"vcpus\":%u,\"left_l2\":%u}\n",
		       a.pid, f.nr_vms, f.nr_vcpus, f.nr_nested);
	else
		printf("pid %d frozen: %u VM(s), %u vCPU(s), %u taken out of L2\n",
		       a.pid, f.nr_vms, f.nr_vcpus, f.nr_nested);
	if (a.hold) {
		fflush(stdout);
		hold_until_signal();
		close(dev);
	}
	return 0;
}

int cmd_thaw(int argc, char **argv)
{
	struct nestckpt_thaw t;
	struct vmm_args a;
	int dev, ret;

	ret = parse_vmm_args("thaw", "thaw [--json] PID", false, argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	dev = open_dev("thaw");
	if (dev < 0)
		return 1;
	ret = nc_thaw(dev, a.pid, &t);
	close(dev);
	if (ret) {
		fprintf(stderr, "nestckptctl thaw: pid %d: %s\n", a.pid,
			ret == -ENOENT ? "not frozen" : nc_freeze_strerror(ret));
		return 1;
	}
	if (a.json)
		printf("{\"pid\":%d,\"vcpus\":%u}\n", a.pid, t.nr_vcpus);
	else
		printf("pid %d thawed: %u vCPU(s) running\n", a.pid, t.nr_vcpus);
	return 0;
}

static const char *level(const struct nestckpt_vcpu_status *v)
{
	if (!(v->flags & NESTCKPT_VCPU_FROZEN))
		return "running";
	if (v->flags & NESTCKPT_VCPU_IN_L2)
		return "L2";
	return (v->flags & NESTCKPT_VCPU_NESTED_ON) ? "L1-nested" : "L1";
}

static const char *format_name(const struct nestckpt_vcpu_status *v)
{
	if (!(v->flags & NESTCKPT_VCPU_FROZEN))
		return "-";
	return v->format == 0 ? "vmx" : v->format == 1 ? "svm" : "?";
}

static void print_pa(FILE *f, const char *name, uint64_t pa, bool json)
{
	if (json) {
		if (pa == UINT64_MAX)
			fprintf(f, ",\"%s\":null", name);
		else
			fprintf(f, ",\"%s\":\"0x%" PRIx64 "\"", name, pa);
	} else {
		if (pa == UINT64_MAX)
			fprintf(f, " %s=-", name);
		else
			fprintf(f, " %s=0x%" PRIx64, name, pa);
	}
}

#define ENTRY(r, type, i) ((const type *)((const char *)((r) + 1) + (size_t)(i) * (r)->entry_size))

/* ioeventfds and coalesced zones, as the KVM calls that recreate them. */
static void print_io_bindings(const void *buf, uint32_t len, bool json)
{
	const struct nestckpt_vm_record *r;
	unsigned int i;

	if (json)
		printf(",\"ioeventfds\":[");
	r = nc_vm_record(buf, len, NESTCKPT_VMS_IOEVENTFDS);
	for (i = 0; r && i < r->count; i++) {
		const struct kvm_ioeventfd *e = ENTRY(r, struct kvm_ioeventfd, i);
		bool pio = e->flags & KVM_IOEVENTFD_FLAG_PIO;
		bool dm = e->flags & KVM_IOEVENTFD_FLAG_DATAMATCH;
		char match[32] = "any";

		if (dm)
			snprintf(match, sizeof(match), "0x%llx",
				 (unsigned long long)e->datamatch);
		if (json)
			printf("%s{\"fd\":%d,\"pio\":%s,\"addr\":\"0x%llx\",\"len\":%u,"
			       "\"datamatch\":%s%s%s,\"flags\":%u}",
			       i ? "," : "", e->fd, pio ? "true" : "false",
			       (unsigned long long)e->addr, e->len,
			       dm ? "\"" : "", dm ? match : "null", dm ? "\"" : "",
			       e->flags);
		else
			printf("    ioeventfd %s 0x%llx len %u datamatch %s fd %d\n",
			       pio ? "pio" : "mmio", (unsigned long long)e->addr,
			       e->len, match, e->fd);
	}
	if (json)
		printf("],\"coalesced\":[");
	r = nc_vm_record(buf, len, NESTCKPT_VMS_COALESCED);
	for (i = 0; r && i < r->count; i++) {
		const struct kvm_coalesced_mmio_zone *z =
			ENTRY(r, struct kvm_coalesced_mmio_zone, i);

		printf(json ? "%s{\"pio\":%s,\"addr\":\"0x%llx\",\"size\":\"0x%x\"}"
			    : "%s    coalesced %s 0x%llx size 0x%x\n",
		       json && i ? "," : "", json ? (z->pio ? "true" : "false") :
		       (z->pio ? "pio" : "mmio"), (unsigned long long)z->addr,
		       z->size);
	}
	if (json)
		printf("]");
}

/* The VM's MSR filter: none, or its default and ranges. */
static void print_msr_filter(const void *buf, uint32_t len, bool json)
{
	const struct nestckpt_vm_record *r =
		nc_vm_record(buf, len, NESTCKPT_VMS_MSR_FILTER);
	const struct nestckpt_msr_filter *f;
	unsigned int i, j, allowed;

	if (!r || !r->count || r->entry_size < sizeof(*f)) {
		printf(json ? ",\"msr_filter\":null" : "    msr filter: none\n");
		return;
	}
	f = ENTRY(r, struct nestckpt_msr_filter, 0);
	printf(json ? ",\"msr_filter\":{\"default\":\"%s\",\"ranges\":["
		    : "    msr filter: %s by default, %u range(s)\n",
	       f->flags & KVM_MSR_FILTER_DEFAULT_DENY ? "deny" : "allow", f->nr_ranges);
	for (i = 0; i < f->nr_ranges && i < NESTCKPT_MSR_FILTER_RANGES; i++) {
		const struct nestckpt_msr_filter_range *g = &f->ranges[i];

		allowed = 0;
		for (j = 0; j < g->bitmap_len && j < NESTCKPT_MSR_FILTER_BITMAP; j++)
			allowed += __builtin_popcount(g->bitmap[j]);
		printf(json ? "%s{\"flags\":%u,\"base\":\"0x%x\",\"nmsrs\":%u,\"allowed\":%u}"
			    : "%s      range flags %#x base 0x%x nmsrs %u allowed %u\n",
		       json && i ? "," : "", g->flags, g->base, g->nmsrs, allowed);
	}
	if (json)
		printf("]}");
}

/*
 * The VM's state: everything, or without ioeventfds and coalesced zones
 * when the module cannot give them (@*io_err says why).
 */
static int read_vm_state(int dev, pid_t pid, unsigned int vm, void **buf,
			 uint32_t *len, int *io_err)
{
	const uint32_t io = NESTCKPT_VMS_IOEVENTFDS | NESTCKPT_VMS_COALESCED |
			    NESTCKPT_VMS_MSR_FILTER;
	int ret = nc_vm_state(dev, pid, vm, NESTCKPT_VMS_ALL, buf, len);

	*io_err = 0;
	/* EINVAL: a module older than these flags. */
	if (ret == -EOPNOTSUPP || ret == -EPROTO || ret == -EINVAL) {
		*io_err = ret;
		ret = nc_vm_state(dev, pid, vm, NESTCKPT_VMS_ALL & ~io, buf, len);
	}
	return ret;
}

/* Per VM: memslots, irqfds, routing, enabled capabilities, I/O bindings. */
static void print_vm_state(int dev, pid_t pid, unsigned int nr_vms, bool json)
{
	const struct nestckpt_vm_record *r;
	unsigned int vm, i;

	if (json)
		printf(",\"vm_state\":[");
	for (vm = 0; vm < nr_vms; vm++) {
		uint32_t len;
		void *buf;
		int io_err;
		int ret = read_vm_state(dev, pid, vm, &buf, &len, &io_err);

		if (ret) {
			fprintf(stderr, "nestckptctl status: VM %u state: %s\n", vm,
				nc_freeze_strerror(ret));
			continue;
		}
		if (json)
			printf("%s{\"vm\":%u,\"memslots\":[", vm ? "," : "", vm);
		else
			printf("  vm %u state:\n", vm);
		r = nc_vm_record(buf, len, NESTCKPT_VMS_MEMSLOTS);
		for (i = 0; r && i < r->count; i++) {
			const struct kvm_userspace_memory_region *m =
				ENTRY(r, struct kvm_userspace_memory_region, i);

			printf(json ? "%s{\"slot\":%u,\"flags\":%u,\"gpa\":\"0x%llx\","
				      "\"size\":\"0x%llx\",\"hva\":\"0x%llx\"}"
				    : "%s    memslot %u flags %#x gpa 0x%llx size 0x%llx hva 0x%llx\n",
			       json && i ? "," : "", m->slot, m->flags,
			       (unsigned long long)m->guest_phys_addr,
			       (unsigned long long)m->memory_size,
			       (unsigned long long)m->userspace_addr);
		}
		if (json)
			printf("],\"irqfds\":[");
		r = nc_vm_record(buf, len, NESTCKPT_VMS_IRQFDS);
		for (i = 0; r && i < r->count; i++) {
			const struct nestckpt_irqfd *q = ENTRY(r, struct nestckpt_irqfd, i);

			printf(json ? "%s{\"fd\":%d,\"gsi\":%u,\"resample_fd\":%d}"
				    : "%s    irqfd fd %d gsi %u resample fd %d\n",
			       json && i ? "," : "", q->fd, q->gsi, q->resample_fd);
		}
		r = nc_vm_record(buf, len, NESTCKPT_VMS_ROUTING);
		printf(json ? "],\"gsi_routes\":%u,\"caps\":[" : "    gsi routes %u\n",
		       r ? r->count : 0);
		r = nc_vm_record(buf, len, NESTCKPT_VMS_CAPS);
		for (i = 0; r && i < r->count; i++) {
			const struct kvm_enable_cap *c = ENTRY(r, struct kvm_enable_cap, i);

			printf(json ? "%s{\"cap\":%u,\"arg0\":%llu}"
				    : "%s    enabled cap %u arg0 %#llx\n",
			       json && i ? "," : "", c->cap,
			       (unsigned long long)c->args[0]);
		}
		if (json)
			printf("]");
		if (!io_err) {
			print_io_bindings(buf, len, json);
			print_msr_filter(buf, len, json);
		}
		else if (json)
			printf(",\"io_bindings_error\":\"%s\"",
			       nc_vm_state_strerror(io_err));
		else
			printf("    ioeventfds, coalesced zones, MSR filter: %s\n",
			       nc_vm_state_strerror(io_err));
		if (json)
			printf("}");
		free(buf);
	}
	if (json)
		printf("]");
}

int cmd_status(int argc, char **argv)
{
	struct nestckpt_vcpu_status *vcpus = NULL;
	struct nestckpt_status st;
	struct vmm_args a;
	unsigned int i;
	int dev, ret;

	ret = parse_vmm_args("status", "status [--json] PID", false, argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	dev = open_dev("status");
	if (dev < 0)
		return 1;
	ret = nc_status(dev, a.pid, &st, &vcpus);
	if (ret) {
		fprintf(stderr, "nestckptctl status: pid %d: %s\n", a.pid,
			nc_freeze_strerror(ret));
		close(dev);
		return 1;
	}
	const char *state = st.state == NESTCKPT_STATE_FROZEN ? "frozen" : "running";

	if (a.json)
		printf("{\"pid\":%d,\"state\":\"%s\",\"vms\":%u,\"vcpus\":[", a.pid,
		       state, st.nr_vms);
	else
		printf("pid %d: %s, %u VM(s), %u vCPU(s)\n", a.pid, state, st.nr_vms,
		       st.nr_vcpus);
	for (i = 0; i < st.nr_vcpus; i++) {
		const struct nestckpt_vcpu_status *v = &vcpus[i];
		bool frozen = v->flags & NESTCKPT_VCPU_FROZEN;

		if (a.json) {
			printf("%s{\"vm\":%u,\"vm_fd\":%d,\"id\":%u,\"fd\":%d,\"tid\":%d,"
			       "\"frozen\":%s,\"level\":\"%s\",\"format\":\"%s\","
			       "\"nested_on\":%s,\"gif\":%s,\"run_pending\":%s,"
			       "\"nested_flags\":%u",
			       i ? "," : "", v->vm, v->vm_fd, v->vcpu_id, v->vcpu_fd,
			       v->tid, frozen ? "true" : "false", level(v), format_name(v),
			       v->flags & NESTCKPT_VCPU_NESTED_ON ? "true" : "false",
			       v->flags & NESTCKPT_VCPU_GIF ? "true" : "false",
			       v->flags & NESTCKPT_VCPU_RUN_PENDING ? "true" : "false",
			       v->nested_flags);
			print_pa(stdout, "vmxon", v->vmxon_pa, true);
			print_pa(stdout, v->format == 1 ? "vmcb12" : "vmcs12",
				 v->vmcs12_pa, true);
			printf("}");
		} else {
			printf("  vm %u (fd %d) vcpu %u (fd %d, tid %d): %s %s%s%s%s",
			       v->vm, v->vm_fd, v->vcpu_id, v->vcpu_fd, v->tid,
			       level(v), format_name(v),
			       v->flags & NESTCKPT_VCPU_NESTED_ON ? " nested-on" : "",
			       v->flags & NESTCKPT_VCPU_GIF ? " gif" : "",
			       v->flags & NESTCKPT_VCPU_RUN_PENDING ? " run-pending" : "");
			if (frozen) {
				if (v->format == 0)
					print_pa(stdout, "vmxon", v->vmxon_pa, false);
				print_pa(stdout, v->format == 1 ? "vmcb12" : "vmcs12",
					 v->vmcs12_pa, false);
			}
			printf("\n");
		}
	}
	if (a.json)
		printf("]");
	print_vm_state(dev, a.pid, st.nr_vms, a.json);
	if (a.json)
		printf("}\n");
	close(dev);
	free(vcpus);
	return 0;
}

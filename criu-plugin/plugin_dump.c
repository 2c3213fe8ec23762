// SPDX-License-Identifier: GPL-2.0
/*
 * The dump side: freeze the VMMs before criu seizes them, write the KVM
 * state of each VMM once (at the first of its KVM files criu hands over)
 * and a record per KVM file, accept the VMM's /dev/nestckpt mappings, and
 * thaw whatever was frozen when criu is done (exit() runs while the tasks
 * are still stopped, before criu kills or releases them).
 *
 * DUMP_EXT_FILE gets criu's own copy of the fd, with no pid: kcmp() finds
 * which frozen VMM holds the same file, and as which VM or vCPU.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "libnestckpt.h"
#include "plugin.h"

#define NC_MAX_VMMS	64

struct frozen_vmm {
	pid_t pid;
	struct nestckpt_status st;
	struct nestckpt_vcpu_status *vcpus;
	bool dumped;
	int max_fd;
};

static struct frozen_vmm vmms[NC_MAX_VMMS];
static unsigned int n_vmms;

static int kcmp_file(pid_t pid, int fd_here, int fd_there)
{
	return syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, fd_here, fd_there);
}

#define NC_MAX_WORKERS	16

/*
 * Kernel workers inside the VMM (PF_USER_WORKER threads) criu cannot dump:
 * ptrace refuses to change their signal mask and they never run user code.
 * KVM's NX-huge-page recovery worker (6.12+) is one; the freeze takes it
 * out where the module can (NESTCKPT_CAP_NX_WORKER).  Any other (vhost-PID
 * of an in-kernel vhost backend) is refused.  @after_freeze: what is left.
 */
static int refuse_user_workers(pid_t pid, bool nx_handled, bool after_freeze)
{
	struct nc_user_worker w[NC_MAX_WORKERS];
	int n = nc_user_workers(pid, w, NC_MAX_WORKERS), i;

	for (i = 0; i < n && i < NC_MAX_WORKERS; i++) {
		if (!w[i].nx) {
			nc_err("VMM %d: thread %d (%s) is a kernel worker inside the VMM "
			       "(an in-kernel vhost backend's, for example); criu cannot dump "
			       "it\n", pid, w[i].tid, w[i].comm);
			return -EOPNOTSUPP;
		}
		if (after_freeze) {
			nc_err("VMM %d: thread %d is KVM's NX-huge-page recovery worker and "
			       "is still inside the VMM after the freeze (stopped or traced, "
			       "or a VM of another process; see the kernel log); criu cannot "
			       "dump it\n", pid, w[i].tid);
			return -EOPNOTSUPP;
		}
		if (!nx_handled) {
			nc_err("VMM %d: thread %d is KVM's NX-huge-page recovery worker, which "
			       "this kernel runs inside the VMM and the nestckpt module cannot "
			       "take out (see nestckptctl check); criu cannot dump it. Load kvm "
			       "with nx_huge_pages=never (no iTLB-multihit mitigation: fine on "
			       "AMD and unaffected Intel CPUs) and start the VMM again\n",
			       pid, w[i].tid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* The module takes KVM's NX worker out at freeze (ABI 1.4 cap). */
static bool nx_worker_handled(int dev)
{
	struct nc_info info;

	return !nc_get_info(dev, &info) && nc_nx_situation(&info) == NC_NX_HANDLED;
}

/* Freeze @pid if it runs VMs; 0 also when it has none.  @when: for the log. */
static int freeze_one(pid_t pid, const char *when)
{
	struct nestckpt_freeze fz;
	struct frozen_vmm *v;
	int dev = nc_plugin_dev(), rc;
	unsigned int i;
	uint64_t t0;

	for (i = 0; i < n_vmms; i++)
		if (vmms[i].pid == pid)
			return 0;
	if (dev < 0) {
		/* No module: only a process without KVM files can be dumped. */
		nc_info("no %s (%s); not freezing %d\n", NESTCKPT_DEVICE_PATH,
			nc_dev_open_strerror(dev), pid);
		return 0;
	}
	if (n_vmms == NC_MAX_VMMS) {
		nc_err("more than %d VMMs in one dump\n", NC_MAX_VMMS);
		return -E2BIG;
	}
	rc = refuse_user_workers(pid, nx_worker_handled(dev), false);
	if (rc)
		return rc;
	/*
	 * Attached (no NESTCKPT_FREEZE_DETACHED): criu keeps the device open
	 * for the whole dump, and if it crashes or is killed the module thaws
	 * the VMM when the file goes.
	 */
	t0 = nc_now_ns();
	rc = nc_freeze_flags(dev, pid, 0, NESTCKPT_FREEZE_MAPS, &fz);
	nc_phase_end("freeze", t0);
	if (rc == -ENOENT || rc == -ESRCH)
		return 0;		/* no KVM VM there, or no process: criu says so */
	if (rc) {
		nc_err("cannot freeze VMM %d: %s%s\n", pid, nc_freeze_strerror(rc),
		       rc == -EBUSY ? " (thaw it with nestckptctl thaw first)" : "");
		return rc;
	}
	v = &vmms[n_vmms++];
	memset(v, 0, sizeof(*v));
	v->pid = pid;
	t0 = nc_now_ns();
	rc = nc_status(dev, pid, &v->st, &v->vcpus);
	nc_phase_end("status", t0);
	if (rc) {
		nc_err("VMM %d: status: %s\n", pid, nc_freeze_strerror(rc));
		return rc;
	}
	/* Frozen (thawed again by the caller on failure): nothing criu cannot seize. */
	rc = refuse_user_workers(pid, true, true);
	if (rc)
		return rc;
	nc_info("froze VMM %d: %u VM(s), %u vCPU(s), %u taken out of L2 (%s)\n", pid,
		fz.nr_vms, fz.nr_vcpus, fz.nr_nested, when);
	return 0;
}

/* @pid and every descendant, through /proc/PID/task/TID/children. */
static int freeze_tree(pid_t pid, int depth)
{
	char path[64];
	struct dirent *de;
	DIR *tasks;
	int rc;

	if (depth > 64)
		return -ELOOP;
	rc = freeze_one(pid, "init, from criu's -t");
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return 0;		/* gone: criu will say so */
	while (!rc && (de = readdir(tasks))) {
		char cpath[sizeof(path) + sizeof(de->d_name) + 16];
		FILE *f;
		int child;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s/children", path, de->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (!rc && fscanf(f, "%d", &child) == 1)
			rc = freeze_tree(child, depth + 1);
		fclose(f);
	}
	closedir(tasks);
	return rc;
}

/*
 * The root pid of "criu dump": criu 3.17 tells plugins nothing before it
 * seizes the tasks, but its command line does (-t PID, --tree PID,
 * --tree=PID, -tPID).  0 if there is none (an RPC or config-file dump).
 */
static pid_t dump_root_from_cmdline(void)
{
	char buf[8192], *arg, *end;
	pid_t pid = 0;
	ssize_t n;
	int fd;

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	end = buf + n;
	for (arg = buf; arg < end; arg += strlen(arg) + 1) {
		const char *val = NULL;

		if (!strcmp(arg, "-t") || !strcmp(arg, "--tree"))
			val = arg + strlen(arg) + 1 < end ? arg + strlen(arg) + 1 : NULL;
		else if (!strncmp(arg, "--tree=", 7))
			val = arg + 7;
		else if (!strncmp(arg, "-t", 2) && isdigit((unsigned char)arg[2]))
			val = arg + 2;
		if (val)
			pid = atoi(val);
	}
	return pid > 0 ? pid : 0;
}

static void thaw_all(const char *why)
{
	int dev = nc_plugin_dev();
	unsigned int i;

	for (i = 0; i < n_vmms; i++) {
		struct nestckpt_thaw th;
		uint64_t t0 = nc_now_ns();
		int rc = dev < 0 ? dev : nc_thaw(dev, vmms[i].pid, &th);

		nc_phase_end("thaw", t0);
		if (rc)
			nc_err("cannot thaw VMM %d (%s): %s\n", vmms[i].pid, why,
			       nc_freeze_strerror(rc));
		else
			nc_info("thawed VMM %d (%s): %u vCPU(s)\n", vmms[i].pid, why,
				th.nr_vcpus);
		free(vmms[i].vcpus);
	}
	n_vmms = 0;
}

int nc_dump_init(void)
{
	pid_t root;
	int rc;

	/* criu 4.x calls PAUSE_DEVICES for each process before seizing it. */
	if (nc_host_hooks() > NC_HOOK_PAUSE_DEVICES)
		return 0;
	root = dump_root_from_cmdline();
	if (!root) {
		nc_warn("no -t PID on criu's command line: freeze the VMM with "
			"'nestckptctl freeze --maps PID' before the dump\n");
		return 0;
	}
	rc = freeze_tree(root, 0);
	if (rc)
		thaw_all("the freeze failed");
	return rc;
}

int nc_pause_devices(int pid)
{
	return freeze_one(pid, "PAUSE_DEVICES");
}

int nc_checkpoint_devices(int pid)
{
	(void)pid;
	return 0;
}

int nc_dump_fini(int ret)
{
	/* Dump done or failed: criu kills the tasks or lets them run. */
	thaw_all(ret ? "the dump failed" : "the dump is done");
	nc_phases_report("dump", 0);
	return 0;
}

static int highest_fd(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int max = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]) && atoi(de->d_name) > max)
			max = atoi(de->d_name);
	closedir(d);
	return max;
}

/* The whole KVM state of @v into nestckpt-kvm-PID.img, once. */
static int dump_vmm_image(struct frozen_vmm *v)
{
	struct nc_dump_stats stats;
	struct nc_prove_stats proof;
	struct nc_image img;
	struct nc_err err = { "" };
	char name[64];
	uint8_t *buf;
	uint64_t t0, ns;
	size_t len;
	int rc;

	if (v->dumped)
		return 0;
	t0 = nc_now_ns();
	rc = nc_vmm_dump(nc_plugin_dev(), v->pid, NC_BATCH_AUTO, &img, &stats, &err);
	if (rc) {
		nc_err("VMM %d: %s\n", v->pid, err.msg);
		return rc;
	}
	/* VM-wide reads are what the per-vCPU reads leave of the whole. */
	ns = nc_now_ns() - t0;
	nc_phase_add_ns("capture.vcpus", stats.vcpu_ns);
	nc_phase_add_ns("capture.vm", ns > stats.vcpu_ns ? ns - stats.vcpu_ns : 0);
	nc_phase_vcpus(stats.vcpus);
	t0 = nc_now_ns();
	rc = nc_image_encode(&img, NULL, 0, &buf, &len, &err);
	nc_phase_end("encode", t0);
	nc_image_free(&img);
	if (rc) {
		nc_err("VMM %d: encoding the image: %s\n", v->pid, err.msg);
		return rc;
	}
	/* Before the image is final: this host's KVM must take all of it back. */
	rc = nc_image_prove(nc_plugin_dev(), buf, len, &proof, &err);
	if (rc) {
		nc_err("dump refused: VMM %d: %s\n", v->pid, err.msg);
		free(buf);
		return rc;
	}
	nc_phase_add_ns("prove", proof.ns);
	nc_info("VMM %d: proven on this host in %llu us: %u VM(s), %u vCPU(s) replayed "
		"into a scratch VM%s\n", v->pid, (unsigned long long)(proof.ns / 1000),
		proof.vms, proof.vcpus, proof.read_back ? ", VM tables read back" : "");
	snprintf(name, sizeof(name), NC_IMAGE_FILE_PREFIX "%d.img", v->pid);
	t0 = nc_now_ns();
	rc = nc_file_write_all(nc_image_dir(), name, buf, len);
	nc_phase_end("write-image", t0);
	free(buf);
	if (rc) {
		nc_err("VMM %d: writing %s: %s\n", v->pid, name, nc_file_strerror(rc));
		return rc;
	}
	v->max_fd = highest_fd(v->pid);
	v->dumped = true;
	nc_info("VMM %d: %s, %zu bytes; %u vCPU(s) read with %lu op(s) in %lu "
		"system call(s) (%s)\n", v->pid, name, len, stats.vcpus, stats.ops,
		stats.syscalls, nc_batch_mode_name(stats.mode));
	return 0;
}

/*
 * The pages the VMM shares with KVM through its mapping of vCPU @vcpu_fd:
 * while frozen it maps them from /dev/nestckpt at offset
 * NESTCKPT_MAP_PGOFF(vcpu_fd, page); read them through /proc/PID/mem.
 */
static int read_shared_pages(pid_t pid, int vcpu_fd, struct nc_file_ref *r)
{
	char path[64], line[512];
	FILE *maps;
	int mem, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0) {
		rc = -errno;
		goto out;
	}
	while (!rc && fgets(line, sizeof(line), maps)) {
		unsigned long long start, end, off;
		uint64_t pgoff, first, p;
		char file[256] = "";

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %255s", &start, &end,
			   &off, file) != 4 || strcmp(file, NESTCKPT_DEVICE_PATH))
			continue;
		pgoff = off / NC_PAGE_SIZE;
		if ((int64_t)(pgoff >> 16) != vcpu_fd)
			continue;
		first = pgoff & 0xffff;
		for (p = first; p < 3 && start + (p - first) * NC_PAGE_SIZE < end; p++) {
			if (pread(mem, r->pages[p], NC_PAGE_SIZE,
				  start + (p - first) * NC_PAGE_SIZE) != NC_PAGE_SIZE) {
				rc = -errno ?: -EIO;
				break;
			}
			r->have_pages |= 1u << p;
		}
	}
out:
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
	return rc;
}

/* Which frozen VMM holds @fd (criu's copy), as which VM or vCPU. */
static struct frozen_vmm *find_owner(int fd, bool vcpu, uint32_t *vm,
				     uint32_t *vcpu_id, int *vmm_fd)
{
	unsigned int i, j;

	for (i = 0; i < n_vmms; i++) {
		struct frozen_vmm *v = &vmms[i];

		for (j = 0; j < v->st.nr_vcpus; j++) {
			const struct nestckpt_vcpu_status *s = &v->vcpus[j];
			int there = vcpu ? s->vcpu_fd : s->vm_fd;

			if (there < 0 || kcmp_file(v->pid, fd, there))
				continue;
			*vm = s->vm;
			*vcpu_id = s->vcpu_id;
			*vmm_fd = there;
			return v;
		}
	}
	return NULL;
}

static uint8_t vmm_immediate_exit(const struct frozen_vmm *v, int vcpu_fd)
{
	uint32_t j;

	for (j = 0; j < v->st.nr_vcpus; j++)
		if (v->vcpus[j].vcpu_fd == vcpu_fd)
			return !!(v->vcpus[j].flags & NESTCKPT_VCPU_IMMEDIATE_EXIT);
	return 0;
}

static int kvm_dev_rdev(dev_t *rdev)
{
	struct stat st;

	if (stat("/dev/kvm", &st) || !S_ISCHR(st.st_mode))
		return -ENODEV;
	*rdev = st.st_rdev;
	return 0;
}

int nc_dump_ext_file(int fd, int id)
{
	struct nc_file_ref ref = { .max_fd = 0 };
	struct nc_err err = { "" };
	struct frozen_vmm *v;
	char link[64], target[128] = "";
	struct stat st;
	dev_t kvm_rdev;
	int vmm_fd = -1, rc;
	uint64_t t0;
	ssize_t n;

	if (fstat(fd, &st))
		return -ENOTSUP;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0)
		target[n] = 0;
	if (S_ISCHR(st.st_mode) && !kvm_dev_rdev(&kvm_rdev) && st.st_rdev == kvm_rdev)
		ref.kind = NC_FILE_KVM_DEV;
	else if (!strcmp(target, "anon_inode:kvm-vm"))
		ref.kind = NC_FILE_VM;
	else if (!strncmp(target, "anon_inode:kvm-vcpu:", 20))
		ref.kind = NC_FILE_VCPU;
	else if (!strncmp(target, "anon_inode:kvm-", 15)) {
		nc_err("file id %d: %s: this kind of KVM file is not supported\n", id,
		       target);
		return -EOPNOTSUPP;
	} else {
		return -ENOTSUP;	/* not ours */
	}
	ref.open_flags = fcntl(fd, F_GETFL);
	if (ref.kind != NC_FILE_KVM_DEV) {
		v = find_owner(fd, ref.kind == NC_FILE_VCPU, &ref.vm, &ref.vcpu_id,
			       &vmm_fd);
		if (!v) {
			nc_err("file id %d (%s): no frozen VMM holds it (is the module "
			       "loaded, and was the VMM frozen?)\n", id, target);
			return -ENOENT;
		}
		rc = dump_vmm_image(v);
		if (rc)
			return rc;
		ref.vmm_pid = v->pid;
		ref.max_fd = v->max_fd;
		if (ref.kind == NC_FILE_VCPU) {
			uint64_t t0 = nc_now_ns();

			rc = read_shared_pages(v->pid, vmm_fd, &ref);
			nc_phase_end("shared-pages", t0);
			if (rc) {
				nc_err("VMM %d: vCPU %u: reading its shared pages: %s\n",
				       v->pid, ref.vcpu_id, strerror(-rc));
				return rc;
			}
			/* The VMM's immediate_exit, not the one the freeze holds. */
			if (ref.have_pages & NC_PAGE_RUN)
				((struct kvm_run *)ref.pages[0])->immediate_exit =
					vmm_immediate_exit(v, vmm_fd);
		}
	}
	t0 = nc_now_ns();
	rc = nc_file_ref_write(nc_image_dir(), id, &ref, &err);
	nc_phase_end("write-file-refs", t0);
	if (rc) {
		nc_err("file id %d: %s\n", id, err.msg);
		return rc;
	}
	nc_info("file id %d: %s (shared pages 0x%x)\n", id, target, ref.have_pages);
	return 0;
}

int nc_handle_device_vma(int fd, const struct stat *st)
{
	struct stat dev;

	(void)fd;
	if (!S_ISCHR(st->st_mode) || stat(NESTCKPT_DEVICE_PATH, &dev) ||
	    st->st_rdev != dev.st_rdev)
		return -ENOTSUP;
	return 0;
}

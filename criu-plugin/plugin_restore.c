// SPDX-License-Identifier: GPL-2.0
/*
 * The restore side.
 *
 * init (criu's own process, before any task exists): every VMM image and
 * file record in the directory is read (through io_uring), decoded and
 * checked against this host; a corrupt image or a host that lacks what the
 * image needs stops the restore here, with the reason, before anything is
 * created.  The restored tasks, forked from criu afterwards, find them in
 * memory: no file I/O there, in particular no io_uring, whose workers would
 * become threads of the restored VMM that criu does not expect.
 *
 * RESTORE_EXT_FILE (inside the restored VMM, whose mm is final): the first
 * KVM file of a VMM recreates all its VMs and vCPUs from the image (vCPUs
 * that were in L2 re-enter it through KVM_SET_NESTED_STATE).  The plugin
 * keeps its own copies of their fds above every fd number the VMM used, so
 * they never sit where criu puts the VMM's fds; each file gets a dup.
 * The pages the VMM shared with KVM are written back through a temporary
 * mapping of the new vCPU.
 *
 * UPDATE_VMA_MAP (still in the restored VMM, after all its fds are back at
 * their numbers): the irqfds and ioeventfds are bound to the restored
 * eventfds, and the plugin's copies are closed.  criu ignores this hook's
 * result, so a failure here kills the task itself: criu then fails the
 * restore and kills the rest.  The mapping itself needs no change: its
 * offset names the vCPU by fd number, which criu restored as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libnestckpt.h"
#include "plugin.h"

#define NC_IMAGE_MAX	(1u << 30)

struct restored_vmm {
	pid_t pid;			/* in the dump */
	struct nc_image img;		/* a copy of the loaded one's pointers */
	struct nc_restored_vm *vms;
	bool bound;
};

static int read_image(int dir, const char *name, struct nc_image *img,
		      struct nc_err *err);

/* Read in init, in criu's process: every task forked later has a copy. */
struct loaded_image {
	pid_t pid;
	struct nc_image img;
};
struct loaded_ref {
	uint32_t id;
	struct nc_file_ref ref;
};
static struct loaded_image *images;
static unsigned int n_images;
static struct loaded_ref *refs;
static unsigned int n_refs;

/* Per restored process: criu forks one per task, each with its own copy. */
static struct restored_vmm *rvmms;
static unsigned int n_rvmms;

static int load_ref(int dir, const char *name)
{
	struct nc_err err = { "" };
	struct loaded_ref *grown;
	char *end;
	unsigned long id;
	int rc;

	id = strtoul(name + strlen(NC_FILE_REF_PREFIX), &end, 10);
	if (strcmp(end, ".img") || id > UINT32_MAX)
		return 0;	/* not a name we write */
	grown = realloc(refs, (n_refs + 1) * sizeof(*refs));
	if (!grown)
		return -ENOMEM;
	refs = grown;
	rc = nc_file_ref_read(dir, id, &refs[n_refs].ref, &err);
	if (rc) {
		nc_err("cannot restore: %s\n", err.msg);
		return rc;
	}
	refs[n_refs++].id = id;
	return 0;
}

static int load_image(int dir, const char *name)
{
	struct nc_compat_report rep = { 0 };
	struct nc_err err = { "" };
	struct loaded_image *grown;
	struct nc_image img;
	char *end;
	long pid;
	uint32_t i;
	int rc;

	pid = strtol(name + strlen(NC_IMAGE_FILE_PREFIX), &end, 10);
	if (strcmp(end, ".img") || pid <= 0)
		return 0;
	rc = read_image(dir, name, &img, &err);
	if (rc) {
		nc_err("cannot restore: %s\n", err.msg);
		return rc;
	}
	rc = nc_image_check_vcpus(&img, &err);
	if (rc) {
		nc_err("cannot restore %s: %s\n", name, err.msg);
		nc_image_free(&img);
		return rc;
	}
	rc = nc_image_check_host(&img, &rep, &err);
	if (rc) {
		nc_err("cannot restore %s on this host: %s\n", name,
		       err.msg[0] ? err.msg : "it lacks what the image needs");
		for (i = 0; i < rep.n_missing; i++)
			nc_err("  missing: %s\n", rep.missing[i]);
		nc_image_free(&img);
		return rc;
	}
	grown = realloc(images, (n_images + 1) * sizeof(*images));
	if (!grown) {
		nc_image_free(&img);
		return -ENOMEM;
	}
	images = grown;
	images[n_images].pid = pid;
	images[n_images++].img = img;
	nc_info("%s: checked against this host\n", name);
	return 0;
}

static int read_image(int dir, const char *name, struct nc_image *img,
		      struct nc_err *err)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = nc_file_read_all(dir, name, NC_IMAGE_MAX, &buf, &len);
	if (rc) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, nc_file_strerror(rc));
		return rc;
	}
	rc = nc_image_decode(buf, len, img, err);
	free(buf);
	return rc;
}

int nc_restore_init(void)
{
	int dir = nc_image_dir(), rc = 0;
	uint64_t t0 = nc_now_ns();
	struct dirent *de;
	DIR *d;

	if (dir < 0)
		return 0;
	d = fdopendir(dup(dir));
	if (!d)
		return -errno;
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		if (!strncmp(de->d_name, NC_IMAGE_FILE_PREFIX, strlen(NC_IMAGE_FILE_PREFIX)))
			rc = load_image(dir, de->d_name);
		else if (!strncmp(de->d_name, NC_FILE_REF_PREFIX, strlen(NC_FILE_REF_PREFIX)))
			rc = load_ref(dir, de->d_name);
	}
	closedir(d);
	/* Forked restored VMMs inherit this and report it with their own phases. */
	nc_phase_end("read-and-check-images", t0);
	return rc;
}

/* Move @fd above @floor (the VMM's highest fd number). */
static int park_fd(int fd, int floor)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, floor + 1);

	close(fd);
	return nfd < 0 ? -errno : nfd;
}

static void vmm_close(struct restored_vmm *r)
{
	uint32_t i;

	for (i = 0; r->vms && i < r->img.n_vms; i++)
		nc_restored_vm_close(&r->vms[i]);
	free(r->vms);
	r->vms = NULL;
}

/* Recreate every VM and vCPU of the VMM that was @ref->vmm_pid, once. */
static struct restored_vmm *restore_vmm(const struct nc_file_ref *ref)
{
	struct nc_err err = { "" };
	struct restored_vmm *r, *grown;
	uint32_t i, j;
	int kvm, rc;

	for (i = 0; i < n_rvmms; i++)
		if (rvmms[i].pid == ref->vmm_pid)
			return rvmms[i].vms ? &rvmms[i] : NULL;
	grown = realloc(rvmms, (n_rvmms + 1) * sizeof(*rvmms));
	if (!grown)
		return NULL;
	rvmms = grown;
	r = &rvmms[n_rvmms++];
	memset(r, 0, sizeof(*r));
	r->pid = ref->vmm_pid;
	for (i = 0; i < n_images && images[i].pid != ref->vmm_pid; i++)
		;
	if (i == n_images) {
		nc_err("cannot restore VMM %d: no " NC_IMAGE_FILE_PREFIX "%d.img\n",
		       r->pid, r->pid);
		return NULL;
	}
	r->img = images[i].img;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		nc_err("cannot restore VMM %d: /dev/kvm: %s\n", r->pid, strerror(errno));
		return NULL;
	}
	r->vms = calloc(r->img.n_vms ? r->img.n_vms : 1, sizeof(*r->vms));
	for (i = 0; r->vms && i < r->img.n_vms; i++)
		r->vms[i].vm_fd = -1;
	rc = r->vms ? 0 : -ENOMEM;
	for (i = 0; !rc && i < r->img.n_vms; i++) {
		struct nc_restored_vm *vm = &r->vms[i];
		uint64_t t0 = nc_now_ns();

		rc = nc_vm_restore(kvm, &r->img.vms[i], vm, &err);
		nc_phase_end("create-and-replay", t0);
		nc_phase_vcpus(r->img.vms[i].n_vcpus);
		if (rc) {
			nc_err("cannot restore VMM %d: vm%u: %s\n", r->pid, i, err.msg);
			break;
		}
		rc = vm->vm_fd = park_fd(vm->vm_fd, ref->max_fd);
		for (j = 0; rc >= 0 && j < vm->n_vcpus; j++)
			rc = vm->vcpu_fds[j] = park_fd(vm->vcpu_fds[j], ref->max_fd);
		if (rc >= 0)
			rc = 0;
	}
	close(kvm);
	if (rc) {
		vmm_close(r);
		return NULL;
	}
	nc_info("VMM %d: %u VM(s) recreated\n", r->pid, r->img.n_vms);
	return r;
}

/* Put back the pages the VMM shared with KVM through its vCPU mapping. */
static int restore_shared_pages(int vcpu_fd, const struct nc_file_ref *ref)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	long size = kvm < 0 ? -1 : ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	uint8_t *map;
	int p;

	if (kvm >= 0)
		close(kvm);
	if (size < NC_PAGE_SIZE)
		return -ENODEV;
	if (size > 3 * NC_PAGE_SIZE)
		size = 3 * NC_PAGE_SIZE;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	for (p = 0; p < 3 && (p + 1) * NC_PAGE_SIZE <= size; p++)
		if (ref->have_pages & (1u << p))
			memcpy(map + p * NC_PAGE_SIZE, ref->pages[p], NC_PAGE_SIZE);
	munmap(map, size);
	return 0;
}

static int vcpu_index(const struct nc_vm_state *vm, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].id == id)
			return i;
	return -1;
}

int nc_restore_ext_file(int id, bool *retry_needed)
{
	struct nc_file_ref ref;
	struct restored_vmm *r;
	int fd, idx, rc;
	uint64_t t0;

	/* Only criu with a retry argument passes one; 3.17-4.2 leave junk there. */
	if (nc_host_hooks() >= NC_HOOKS_RETRY_ARG && retry_needed)
		*retry_needed = false;
	for (idx = 0; idx < (int)n_refs && refs[idx].id != (uint32_t)id; idx++)
		;
	if (idx == (int)n_refs)
		return -ENOTSUP;	/* not one of ours */
	ref = refs[idx].ref;
	if (ref.kind == NC_FILE_KVM_DEV) {
		fd = open("/dev/kvm", ref.open_flags & ~O_CLOEXEC);
		if (fd < 0)
			nc_err("file id %d: /dev/kvm: %s\n", id, strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	r = restore_vmm(&ref);
	if (!r)
		return -EIO;
	if (ref.vm >= r->img.n_vms) {
		nc_err("file id %d: VM %u of %u in the image\n", id, ref.vm, r->img.n_vms);
		return -EINVAL;
	}
	if (ref.kind == NC_FILE_VM) {
		fd = dup(r->vms[ref.vm].vm_fd);
	} else {
		idx = vcpu_index(&r->img.vms[ref.vm], ref.vcpu_id);
		if (idx < 0) {
			nc_err("file id %d: no vCPU %u in VM %u of the image\n", id,
			       ref.vcpu_id, ref.vm);
			return -EINVAL;
		}
		t0 = nc_now_ns();
		rc = restore_shared_pages(r->vms[ref.vm].vcpu_fds[idx], &ref);
		nc_phase_end("shared-pages", t0);
		if (rc) {
			nc_err("file id %d: vCPU %u: shared pages: %s\n", id,
			       ref.vcpu_id, strerror(-rc));
			return rc;
		}
		fd = dup(r->vms[ref.vm].vcpu_fds[idx]);
	}
	if (fd < 0)
		return -errno;
	/* The status flags the VMM had (access mode is O_RDWR for KVM files). */
	fcntl(fd, F_SETFL, ref.open_flags & ~(O_ACCMODE | O_CLOEXEC));
	return fd;
}

/* All fds are back: bind eventfds, drop the plugin's copies. */
static int finish_vmm(struct restored_vmm *r)
{
	struct nc_err err = { "" };
	uint32_t i;
	int rc = 0;

	uint64_t t0 = nc_now_ns();

	for (i = 0; !rc && i < r->img.n_vms; i++) {
		rc = nc_vm_restore_bindings(r->vms[i].vm_fd, &r->img.vms[i], &err);
		if (rc)
			nc_err("cannot restore VMM %d: vm%u: %s\n", r->pid, i, err.msg);
	}
	vmm_close(r);
	r->bound = true;
	nc_phase_end("bind-eventfds", t0);
	if (!rc)
		nc_phases_report("restore", getpid());
	return rc;
}

int nc_update_vma_map(const char *path, const uint64_t addr,
		      const uint64_t old_pgoff, uint64_t *new_pgoff,
		      int *plugin_fd)
{
	size_t n = strlen(path), dn = strlen(NESTCKPT_DEVICE_PATH);
	unsigned int i;

	(void)addr;
	(void)old_pgoff;
	(void)new_pgoff;
	if (n < dn || strcmp(path + n - dn, NESTCKPT_DEVICE_PATH))
		return -ENOTSUP;
	*plugin_fd = -1;
	for (i = 0; i < n_rvmms; i++) {
		if (rvmms[i].bound || !rvmms[i].vms)
			continue;
		if (finish_vmm(&rvmms[i])) {
			/* criu ignores our return here: fail the restore ourselves. */
			nc_err("VMM %d cannot run restored: killing it\n", rvmms[i].pid);
			kill(getpid(), SIGKILL);
		}
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnestckpt: userspace side of nestckpt shared by nestckptctl and the
 * CRIU plugin.  Functions return 0 or a positive value on success and a
 * negative errno on failure unless documented otherwise.  The parsers take
 * text and touch no files, so they can be tested with fixtures.
 */
#ifndef LIBNESTCKPT_H
#define LIBNESTCKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nestckpt.h"
#include "image.h"
#include "nested.h"
#include "compat.h"
#include "inspect.h"
#include "op_batch.h"
#include "vmm.h"
#include "file_ref.h"
#include "vcpu_rules.h"

/* Package version, from dkms.conf's PACKAGE_VERSION at build time. */
const char *nc_package_version(void);

/* ---- version numbers ------------------------------------------------- */

struct nc_version {
	unsigned int major, minor, patch;
};

/* Parse "X.Y" or "X.Y.Z" at the start of @s (trailing text allowed). */
int nc_parse_version(const char *s, struct nc_version *v);
int nc_version_cmp(const struct nc_version *a, const struct nc_version *b);

/* ---- /dev/nestckpt ----------------------------------------------------- */

/* Open the device read-write, close-on-exec; fd or -errno. */
int nc_dev_open(const char *path);
/* Explanation of an nc_dev_open() error, e.g. -ENOENT -> "module not loaded". */
const char *nc_dev_open_strerror(int err);

/* A GET_INFO reply as understood by this library. */
struct nc_info {
	struct nestckpt_info raw;	/* fields beyond valid_size are zero */
	size_t kernel_size;		/* size the module implements */
	size_t valid_size;		/* bytes of raw filled by the module */
	bool kernel_newer;		/* module has fields we do not know */
};

/*
 * Interpret a GET_INFO reply: @reply holds @caller_size bytes as the kernel
 * left them for a request of size @caller_size.  Pure logic.
 * -EPROTO: the reported size or the content is impossible.
 */
int nc_info_interpret(const void *reply, size_t caller_size,
		      struct nc_info *out);
/* True when the module filled the field ending at @end (offsetof+size). */
bool nc_info_has(const struct nc_info *info, size_t end);
/* Issue NESTCKPT_IOC_GET_INFO on @fd and interpret the reply. */
int nc_get_info(int fd, struct nc_info *out);

enum nc_abi_compat {
	NC_ABI_COMPATIBLE = 0,
	NC_ABI_KERNEL_OLDER_MINOR,	/* compatible; some features may be absent */
	NC_ABI_KERNEL_NEWER_MINOR,	/* compatible */
	NC_ABI_MAJOR_MISMATCH,		/* incompatible */
};
/* Compare a module's ABI version with the one this library was built for. */
enum nc_abi_compat nc_abi_check(unsigned int kmajor, unsigned int kminor);
bool nc_abi_compat_ok(enum nc_abi_compat c);

const char *nc_vendor_name(unsigned int vendor);	/* "vmx", "svm", "none" */

/* ---- kernel workers inside a process (user_workers.c) ----------------- */

/* A PF_USER_WORKER thread of a process: criu cannot dump it. */
struct nc_user_worker {
	int tid;
	char comm[16];
	bool nx;			/* KVM's NX-huge-page recovery worker */
};
/*
 * The PF_USER_WORKER threads of process @pid (first @max into @out); the
 * count found, or -errno.
 */
int nc_user_workers(pid_t pid, struct nc_user_worker *out, unsigned int max);
/* comm and flags from a /proc/PID/task/TID/stat line.  Pure logic. */
int nc_parse_task_stat(const char *stat, char *comm, size_t comm_len,
		       unsigned int *flags);
bool nc_is_nx_worker_comm(const char *comm);

/* Where KVM runs its NX recovery worker, as the module reports it. */
enum nc_nx_situation {
	NC_NX_UNREPORTED,	/* module older than ABI 1.4 */
	NC_NX_KTHREAD,		/* kernel thread outside the VMM: nothing to do */
	NC_NX_HANDLED,		/* a thread of the VMM, stopped by the freeze */
	NC_NX_UNHANDLED,	/* a thread of the VMM the module cannot stop */
};
enum nc_nx_situation nc_nx_situation(const struct nc_info *info);

/* ---- host: CPU, KVM ---------------------------------------------------- */

/*
 * Vendor from /proc/cpuinfo text: NESTCKPT_VENDOR_VMX if a "flags" line
 * holds the word "vmx", _SVM for "svm", _NONE otherwise.
 */
unsigned int nc_parse_cpuinfo_vendor(const char *cpuinfo);
/*
 * Value of /sys/module/kvm_{intel,amd}/parameters/nested: 1 for "Y"/"1",
 * 0 for "N"/"0", -EINVAL for anything else.
 */
int nc_parse_nested_param(const char *text);

struct nc_host {
	char kernel_release[128];
	unsigned int cpu_vendor;	/* NESTCKPT_VENDOR_* from cpuinfo */
	bool kvm_loaded;		/* /sys/module/kvm */
	const char *kvm_vendor_module;	/* "kvm_intel", "kvm_amd" or NULL */
	bool kvm_vendor_loaded;
	int nested;			/* 1, 0, or -errno if unknown */
	bool dev_kvm;			/* /dev/kvm is a character device */
};

/*
 * Probe the host.  @root prefixes every path ("" or NULL for the real
 * system), so tests can point it at a fixture tree.
 */
int nc_probe_host(const char *root, struct nc_host *h);

/* Read a whole small file into a NUL-terminated buffer; length or -errno. */
ssize_t nc_read_file(const char *path, char *buf, size_t size);

/* ---- CRIU ------------------------------------------------------------ */

#define NC_CRIU_MIN_MAJOR	3
#define NC_CRIU_MIN_MINOR	17
#define NC_PLUGIN_NAME		"nestckpt_plugin.so"
#define NC_CRIU_DEFAULT_LIBDIR	"/usr/lib/criu"

/* Parse `criu --version` output ("Version: 3.17.1" line). */
int nc_parse_criu_version(const char *text, struct nc_version *v);
/* Run "$NESTCKPT_CRIU or criu" --version and parse it. */
int nc_criu_version(struct nc_version *v);
bool nc_criu_version_ok(const struct nc_version *v);

/*
 * Where CRIU looks for plugins: @libdir_env (value of CRIU_LIBS_DIR, may be
 * NULL) or the default; writes the plugin's full path into @buf.
 */
int nc_plugin_path(const char *libdir_env, char *buf, size_t size);

/* ---- nestckptctl check ------------------------------------------------- */

enum nc_check_status {
	NC_CHECK_OK,
	NC_CHECK_MISSING,
};

struct nc_check_item {
	const char *name;
	enum nc_check_status status;
	bool required;
	char detail[200];
};

#define NC_CHECK_MAX_ITEMS 16

struct nc_check_report {
	struct nc_check_item items[NC_CHECK_MAX_ITEMS];
	size_t n;
	/* Values also reported on their own in JSON. */
	char vendor[8];
	char kernel_abi[16];		/* "" when the module is absent */
	char user_abi[16];
};

struct nc_check_item *nc_check_add(struct nc_check_report *r, const char *name,
				   bool required, enum nc_check_status st,
				   const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Gather the report from the running system (@root as nc_probe_host). */
void nc_check_collect(struct nc_check_report *r, const char *root,
		      const char *dev_path);
/* 0 when every required item is OK, 1 otherwise. */
int nc_check_exit_status(const struct nc_check_report *r);
void nc_check_print_text(FILE *f, const struct nc_check_report *r);
void nc_check_print_json(FILE *f, const struct nc_check_report *r);

/*
 * freeze.c: freeze, thaw and status of a VMM (negative errno on failure).
 * A freeze is thawed at the last close of @dev unless @flags has
 * NESTCKPT_FREEZE_DETACHED (modules before ABI 1.5: always detached).
 */
int nc_kvm_msr_list(uint32_t **out, uint32_t *nr);
int nc_freeze(int dev, pid_t pid, unsigned int timeout_ms,
	      struct nestckpt_freeze *out);
int nc_freeze_flags(int dev, pid_t pid, unsigned int timeout_ms, uint32_t flags,
		    struct nestckpt_freeze *out);
int nc_thaw(int dev, pid_t pid, struct nestckpt_thaw *out);
int nc_status(int dev, pid_t pid, struct nestckpt_status *st,
	      struct nestckpt_vcpu_status **vcpus);	/* free(*vcpus) */
const char *nc_freeze_strerror(int err);
/* NESTCKPT_IOC_VM_STATE into a malloc()ed *buf of *len bytes (free it). */
int nc_vm_state(int dev, pid_t pid, uint32_t vm, uint32_t flags, void **buf,
		uint32_t *len);
/*
 * Why NESTCKPT_IOC_VM_STATE refused: for the ioeventfd and coalesced-zone
 * components EOPNOTSUPP (no layout) and EPROTO (failed checks) get their
 * own words; other errors as nc_freeze_strerror().
 */
const char *nc_vm_state_strerror(int err);
/* The record of @type in such a buffer, or NULL. */
const struct nestckpt_vm_record *nc_vm_record(const void *buf, uint32_t len,
					      uint32_t type);

#endif /* LIBNESTCKPT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the nestckpt CRIU plugin, shared by its files:
 *   plugin_desc.c     the descriptor CRIU loads, sized for the CRIU running it
 *   nestckpt_plugin.c init/exit, logging, the hooks' table
 *   plugin_dump.c     freezing the VMMs, dumping their KVM files and mappings
 *   plugin_restore.c  recreating them inside the restored VMM
 *   plugin_timing.c   the time of each phase, logged and written as JSON
 */
#ifndef NC_PLUGIN_H
#define NC_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Hook numbers: 0-9 are criu 3.17's (criu-plugin.h), 10-12 came with 4.x. */
#define NC_HOOK_DUMP_EXT_FILE		2
#define NC_HOOK_RESTORE_EXT_FILE	3
#define NC_HOOK_HANDLE_DEVICE_VMA	7
#define NC_HOOK_UPDATE_VMA_MAP		8
#define NC_HOOK_RESUME_DEVICES_LATE	9
#define NC_HOOK_PAUSE_DEVICES		10	/* criu 4.0+ */
#define NC_HOOK_CHECKPOINT_DEVICES	11	/* criu 4.0+ */
#define NC_HOOKS_OURS			13	/* as many as criu 4.2 knows */
/* criu's RESTORE_EXT_FILE gained a "bool *retry_needed" with 14 hooks. */
#define NC_HOOKS_RETRY_ARG		14

#define NC_STAGE_DUMP		0
#define NC_STAGE_PRE_DUMP	1
#define NC_STAGE_RESTORE	2

/* How many hooks the criu that loaded us knows (10 if it cannot be told). */
unsigned int nc_host_hooks(void);

/* Logging into criu's log; no-ops outside criu. */
void nc_log(unsigned int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define NC_LOG_ERROR	1
#define NC_LOG_WARN	2
#define NC_LOG_INFO	3
#define NC_LOG_DEBUG	4
#define nc_err(...)	nc_log(NC_LOG_ERROR, "nestckpt: " __VA_ARGS__)
#define nc_warn(...)	nc_log(NC_LOG_WARN, "nestckpt: " __VA_ARGS__)
#define nc_info(...)	nc_log(NC_LOG_INFO, "nestckpt: " __VA_ARGS__)

/* The image directory criu works in (its service fd), or -1 outside criu. */
int nc_image_dir(void);

/* /dev/nestckpt, opened once per process; -errno. */
int nc_plugin_dev(void);

/* plugin_dump.c */
int nc_dump_init(void);
int nc_dump_fini(int ret);
int nc_pause_devices(int pid);
int nc_checkpoint_devices(int pid);
int nc_dump_ext_file(int fd, int id);
int nc_handle_device_vma(int fd, const struct stat *st);

/* plugin_restore.c */
int nc_restore_init(void);
int nc_restore_ext_file(int id, bool *retry_needed);
int nc_update_vma_map(const char *path, const uint64_t addr,
		      const uint64_t old_pgoff, uint64_t *new_pgoff,
		      int *plugin_fd);

/* plugin_timing.c: phases are string literals ("freeze", "capture.vcpus"...). */
uint64_t nc_now_ns(void);
void nc_phase_add_ns(const char *name, uint64_t ns);
void nc_phase_end(const char *name, uint64_t start_ns);
void nc_phase_vcpus(uint32_t n);
/* Log the phases and write them beside the images; @pid 0: one file per run. */
void nc_phases_report(const char *stage, pid_t pid);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * nestckpt CRIU plugin: dumps and restores the KVM side of VMM processes.
 *
 * Dump (criu dump -t PID): the VMMs of the tree are frozen before criu
 * seizes them (criu 4.x: PAUSE_DEVICES; criu 3.17, which has no such hook:
 * in init, from the -t/--tree argument criu was started with), with their
 * vCPU mappings served through /dev/nestckpt so criu can collect them.
 * Their KVM files reach DUMP_EXT_FILE; the VMM's whole KVM state goes into
 * nestckpt-kvm-PID.img and each file gets a small record.  exit() thaws
 * them: criu then kills them (a dump), or lets them run (--leave-running,
 * or any failure).
 *
 * Restore: init checks every image against this host before criu creates
 * a process; RESTORE_EXT_FILE recreates the VMs and vCPUs inside the
 * restored VMM (vCPUs that were in L2 re-enter it there); UPDATE_VMA_MAP,
 * once all fds are back, binds the irqfds and ioeventfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <criu/criu-plugin.h>

#include "libnestckpt.h"
#include "plugin.h"

/* criu's logger and image dir; weak so the object loads outside criu (tests). */
extern void print_on_level(unsigned int loglevel, const char *format, ...)
	__attribute__((weak, format(printf, 2, 3)));
extern int criu_get_image_dir(void) __attribute__((weak));

int nc_plugin_init(int stage);
void nc_plugin_exit(int stage, int ret);

void nc_log(unsigned int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!print_on_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_on_level(level, "%s", buf);
}

int nc_image_dir(void)
{
	return criu_get_image_dir ? criu_get_image_dir() : -1;
}

int nc_plugin_dev(void)
{
	static int dev = -1;

	if (dev < 0) {
		dev = nc_dev_open(NULL);
		if (dev < 0) {
			int err = dev;

			dev = -1;
			return err;
		}
	}
	return dev;
}

static const char *stage_name(int stage)
{
	switch (stage) {
	case CR_PLUGIN_STAGE__DUMP:
		return "dump";
	case CR_PLUGIN_STAGE__PRE_DUMP:
		return "pre-dump";
	case CR_PLUGIN_STAGE__RESTORE:
		return "restore";
	default:
		return "unknown";
	}
}

int nc_plugin_init(int stage)
{
	nc_info("plugin %s (ABI %u.%u), %s, criu with %u hooks\n",
		nc_package_version(), NESTCKPT_ABI_MAJOR, NESTCKPT_ABI_MINOR,
		stage_name(stage), nc_host_hooks());
	switch (stage) {
	case CR_PLUGIN_STAGE__DUMP:
		return nc_dump_init();
	case CR_PLUGIN_STAGE__RESTORE:
		return nc_restore_init();
	default:
		/* Pre-dump copies memory only; the VMM keeps running. */
		return 0;
	}
}

void nc_plugin_exit(int stage, int ret)
{
	if (stage == CR_PLUGIN_STAGE__DUMP)
		nc_dump_fini(ret);
}

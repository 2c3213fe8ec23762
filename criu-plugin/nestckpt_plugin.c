// SPDX-License-Identifier: GPL-2.0
/*
 * nestckpt CRIU plugin.
 *
 * At this stage the plugin only registers itself with CRIU.  It registers
 * no hooks on purpose: a hook that returned success for KVM files it cannot
 * yet dump or restore would make CRIU produce images that do not restore.
 * Without hooks CRIU keeps failing loudly on a KVM VMM, as it does without
 * the plugin.  The dump/restore hooks arrive with the image format.
 *
 * Built against the criu-plugin.h of CRIU 3.17: a descriptor built with a
 * newer header declares more hooks and 3.17 refuses it ("Corrupted plugin"),
 * while newer CRIU versions accept this one.
 */
#include <criu/criu-plugin.h>

#include "libnestckpt.h"

/* CRIU's logger; weak so the object also loads outside CRIU (tests). */
extern void print_on_level(unsigned int loglevel, const char *format, ...)
	__attribute__((weak, format(printf, 2, 3)));

#define NC_LOG_INFO 3	/* LOG_INFO in CRIU's loglevels */

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

static int nestckpt_plugin_init(int stage)
{
	if (print_on_level)
		print_on_level(NC_LOG_INFO,
			       "nestckpt: plugin %s (ABI %u.%u) loaded for %s; no hooks yet\n",
			       nc_package_version(), NESTCKPT_ABI_MAJOR,
			       NESTCKPT_ABI_MINOR, stage_name(stage));
	return 0;
}

static void nestckpt_plugin_exit(int stage, int ret)
{
	(void)stage;
	(void)ret;
}

/* CRIU looks the descriptor up with dlsym(): keep it visible. */
extern cr_plugin_desc_t CR_PLUGIN_DESC __attribute__((visibility("default")));

CR_PLUGIN_REGISTER("nestckpt", nestckpt_plugin_init, nestckpt_plugin_exit)

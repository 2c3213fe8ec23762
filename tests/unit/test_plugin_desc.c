// SPDX-License-Identifier: GPL-2.0
/*
 * The CRIU plugin as CRIU 3.17 sees it: dlopen, CR_PLUGIN_DESC, the checks of
 * CRIU's verify_plugin() (version and hook count not above this header's:
 * outside criu the plugin cannot learn a higher count, so it declares 3.17's
 * 10), the hooks it claims, init/exit callable for every stage.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <criu/criu-plugin.h>

#include "tap.h"

#ifndef NC_PLUGIN_SO
#error "NC_PLUGIN_SO must be defined"
#endif

int main(void)
{
	const char *so = getenv("NC_PLUGIN_SO");
	cr_plugin_desc_t *d;
	void *h;
	int i, hooks = 0;

	if (!so || !*so)
		so = NC_PLUGIN_SO;
	printf("# plugin: %s\n", so);
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!ok(h != NULL, "dlopen the plugin")) {
		printf("#   %s\n", dlerror());
		return tap_done();
	}
	d = dlsym(h, "CR_PLUGIN_DESC");
	if (!ok(d != NULL, "CR_PLUGIN_DESC exported"))
		return tap_done();
	is_str(d->name, "nestckpt", "plugin name");
	is_int(d->version, CRIU_PLUGIN_VERSION, "descriptor version of criu 3.17's header");
	ok(d->version <= CRIU_PLUGIN_GEN_VERSION(0, 2, 0), "version accepted by criu 3.17");
	is_int(d->max_hooks, CR_PLUGIN_HOOK__MAX, "max_hooks of this header");
	is_int(CR_PLUGIN_HOOK__MAX, 10, "built against the 3.17 header (10 hooks)");
	for (i = 0; i < CR_PLUGIN_HOOK__MAX; i++)
		hooks |= (d->hooks[i] != NULL) << i;
	is_int(hooks, 1 << CR_PLUGIN_HOOK__DUMP_EXT_FILE | 1 << CR_PLUGIN_HOOK__RESTORE_EXT_FILE |
	       1 << CR_PLUGIN_HOOK__HANDLE_DEVICE_VMA | 1 << CR_PLUGIN_HOOK__UPDATE_VMA_MAP,
	       "hooks: DUMP_EXT_FILE, RESTORE_EXT_FILE, HANDLE_DEVICE_VMA, UPDATE_VMA_MAP");
	ok(d->init && d->exit, "init and exit present");
	if (d->init) {
		is_int(d->init(CR_PLUGIN_STAGE__DUMP), 0, "init(dump) succeeds");
		is_int(d->init(CR_PLUGIN_STAGE__PRE_DUMP), 0, "init(pre-dump) succeeds");
		is_int(d->init(CR_PLUGIN_STAGE__RESTORE), 0, "init(restore) succeeds");
	}
	if (d->exit)
		d->exit(CR_PLUGIN_STAGE__DUMP, 0);
	ok(dlsym(h, "cr_plugin_dump_file") == NULL, "no old-style hook symbols");
	ok(dlsym(h, "nc_get_info") == NULL, "library internals not exported");
	dlclose(h);
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The descriptor criu looks up (CR_PLUGIN_DESC), declared here rather than
 * with criu-plugin.h's macros: its hook array must hold the hooks of criu
 * 4.x (PAUSE_DEVICES, CHECKPOINT_DEVICES), while max_hooks must not exceed
 * what the running criu knows, or criu refuses the plugin ("Corrupted
 * plugin").  criu 3.17's header fixes both at 10, so the count is set when
 * the plugin is loaded, from the size of criu's own hook table: criu
 * exports cr_plugin_ctl, one list head (two pointers) per hook plus one.
 * The layout is the same in every criu from 3.17 to 4.2.
 */
#include <stddef.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include "plugin.h"

struct nc_plugin_desc {
	const char *name;
	int (*init)(int stage);
	void (*exit)(int stage, int ret);
	unsigned int version;
	unsigned int max_hooks;
	void *hooks[NC_HOOKS_OURS];
};

int nc_plugin_init(int stage);
void nc_plugin_exit(int stage, int ret);

#define NC_CRIU_PLUGIN_VERSION	0x000200	/* CRIU_PLUGIN_GEN_VERSION(0, 2, 0) */
#define NC_HOOKS_CRIU_317	10

__attribute__((visibility("default"))) struct nc_plugin_desc CR_PLUGIN_DESC = {
	.name = "nestckpt",
	.init = nc_plugin_init,
	.exit = nc_plugin_exit,
	.version = NC_CRIU_PLUGIN_VERSION,
	.max_hooks = NC_HOOKS_CRIU_317,
	.hooks = {
		[NC_HOOK_DUMP_EXT_FILE] = (void *)nc_dump_ext_file,
		[NC_HOOK_RESTORE_EXT_FILE] = (void *)nc_restore_ext_file,
		[NC_HOOK_HANDLE_DEVICE_VMA] = (void *)nc_handle_device_vma,
		[NC_HOOK_UPDATE_VMA_MAP] = (void *)nc_update_vma_map,
		[NC_HOOK_PAUSE_DEVICES] = (void *)nc_pause_devices,
		[NC_HOOK_CHECKPOINT_DEVICES] = (void *)nc_checkpoint_devices,
	},
};

static unsigned int host_hooks = NC_HOOKS_CRIU_317;

unsigned int nc_host_hooks(void)
{
	return host_hooks;
}

static void __attribute__((constructor)) nc_size_descriptor(void)
{
	const ElfW(Sym) *sym = NULL;
	void *ctl = dlsym(RTLD_DEFAULT, "cr_plugin_ctl");
	Dl_info info;
	unsigned long n;

	if (!ctl || !dladdr1(ctl, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
		return;
	n = sym->st_size / (2 * sizeof(void *));
	if (n < NC_HOOKS_CRIU_317 + 1 || n > 64)
		return;
	host_hooks = n - 1;
	CR_PLUGIN_DESC.max_hooks = host_hooks < NC_HOOKS_OURS ? host_hooks : NC_HOOKS_OURS;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The CRIU plugin as criu 4.2 would load it: this program exports
 * cr_plugin_ctl sized as in criu 4.2 (13 hooks, each a list head, plus one),
 * as the criu binary does.  The plugin must then declare 13 hooks, so that
 * criu chains PAUSE_DEVICES and CHECKPOINT_DEVICES, and never more than the
 * host knows (criu refuses a plugin declaring more: "Corrupted plugin").
 * Built with -rdynamic (tests/unit/Makefile), like criu.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "tap.h"

#ifndef NC_PLUGIN_SO
#error "NC_PLUGIN_SO must be defined"
#endif

#define CRIU_42_HOOKS	13

struct list_head {
	struct list_head *next, *prev;
};

/* criu's own table: one list of hooks per hook number, and one more. */
__attribute__((visibility("default"), used))
struct {
	struct list_head head[CRIU_42_HOOKS + 1];
} cr_plugin_ctl;

struct desc {
	const char *name;
	int (*init)(int stage);
	void (*exit)(int stage, int ret);
	unsigned int version;
	unsigned int max_hooks;
	void *hooks[CRIU_42_HOOKS];
};

int main(void)
{
	const char *so = getenv("NC_PLUGIN_SO");
	struct desc *d;
	void *h;

	if (!so || !*so)
		so = NC_PLUGIN_SO;
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!ok(h != NULL, "dlopen the plugin"))
		return tap_done();
	d = dlsym(h, "CR_PLUGIN_DESC");
	if (!ok(d != NULL, "CR_PLUGIN_DESC exported"))
		return tap_done();
	is_int(d->max_hooks, CRIU_42_HOOKS, "max_hooks = the 13 hooks criu 4.2 knows");
	ok(d->hooks[10] != NULL, "PAUSE_DEVICES (10) registered");
	ok(d->hooks[11] != NULL, "CHECKPOINT_DEVICES (11) registered");
	ok(d->hooks[12] == NULL, "POST_FORKING (12) not claimed");
	ok(d->hooks[2] && d->hooks[3] && d->hooks[7] && d->hooks[8],
	   "the 3.17 hooks stay registered");
	/* PAUSE_DEVICES on a process without KVM (this one): nothing to freeze. */
	if (d->hooks[10])
		is_int(((int (*)(int))d->hooks[10])(1), 0,
		       "PAUSE_DEVICES(1): no VMM there, nothing frozen, no error");
	dlclose(h);
	return tap_done();
}

/* SPDX-License-Identifier: GPL-2.0 */
/* Capability checks of an image against a host (compat.c). */
#ifndef NC_COMPAT_H
#define NC_COMPAT_H

#include "image.h"

#define NC_COMPAT_MAX	64

struct nc_compat_report {
	uint32_t n_missing;
	bool truncated;			/* more than NC_COMPAT_MAX */
	char missing[NC_COMPAT_MAX][160];
};

/*
 * What the KVM behind @kvm_fd offers guests; KVM capabilities are checked
 * for those @want lists (may be NULL).
 */
int nc_caps_probe_kvm(int kvm_fd, const struct nc_caps *want, struct nc_caps *host);
/* The same on /dev/kvm. */
int nc_caps_probe_host(const struct nc_caps *want, struct nc_caps *host,
		       struct nc_err *err);
/* Record in @img what @host (the dumping host) offered, for nc_caps_compare. */
void nc_caps_record_source(struct nc_caps *img, const struct nc_caps *host);
/* Name every feature @img relies on that @host lacks; none: r->n_missing == 0. */
void nc_caps_compare(const struct nc_caps *img, const struct nc_caps *host,
		     struct nc_compat_report *r);
const char *nc_kvm_cap_name(uint32_t cap);
/*
 * The restore path's check, before touching any process: probe this host and
 * compare; -ENOTSUP with @r naming every missing feature.
 */
int nc_image_check_host(const struct nc_image *img, struct nc_compat_report *r,
			struct nc_err *err);
/*
 * At dump, after nc_image_record_caps(): record what this host offers and
 * prove that the image passes this host's own check; -ENOTSUP naming the
 * first missing feature otherwise (a rule that refuses an image on the host
 * that wrote it is a bug, and the dump must not end with such an image).
 */
int nc_image_check_source(struct nc_image *img, struct nc_err *err);

#endif

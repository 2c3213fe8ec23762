/* SPDX-License-Identifier: GPL-2.0 */
/* Showing and comparing images (inspect.c). */
#ifndef NC_INSPECT_H
#define NC_INSPECT_H

#include <stdio.h>
#include "image.h"

struct nc_kv {
	char key[128];
	char value[160];
};

/* The image as ordered "dotted.key" / value pairs (malloc'd array). */
int nc_image_flatten(const struct nc_image *img, struct nc_kv **out, size_t *n);
void nc_image_print_text(FILE *f, const struct nc_image *img);
void nc_image_print_json(FILE *f, const struct nc_image *img);
/* Print the differing pairs; their number, or -1 on error. */
int nc_image_diff(FILE *f, const struct nc_image *a, const struct nc_image *b);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers of the image unit tests: the captured fixtures as images. */
#ifndef NC_IMAGE_FIXTURES_H
#define NC_IMAGE_FIXTURES_H

#include <errno.h>
#include <stdlib.h>
#include "libnestckpt.h"

#define FIXTURE_SVM NC_SRCROOT "/tests/fixtures/svm"
#define FIXTURE_VMX NC_SRCROOT "/tests/fixtures/vmx"

/* Load a capture directory or die: every test needs it. */
static inline void fixture_load(const char *dir, struct nc_image *img)
{
	struct nc_err err = { "" };

	if (nc_capture_load(dir, img, &err)) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
}

/* Encode @img or die. */
static inline size_t fixture_encode(const struct nc_image *img,
				    const struct nc_extra_component *extra,
				    size_t n_extra, uint8_t **buf)
{
	struct nc_err err = { "" };
	size_t len;

	if (nc_image_encode(img, extra, n_extra, buf, &len, &err)) {
		printf("Bail out! encode: %s\n", err.msg);
		exit(1);
	}
	return len;
}

/* Deterministic pseudo-random numbers (xorshift64*), for property tests. */
static inline uint64_t prng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#endif

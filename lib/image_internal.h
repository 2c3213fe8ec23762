/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the image container (image.c) and the per-component codecs
 * (image_state.c). Codecs write a reason into @why; the container prefixes
 * it with the component's name and file offset.
 */
#ifndef NC_IMAGE_INTERNAL_H
#define NC_IMAGE_INTERNAL_H

#include "image.h"
#include "nested.h"

int nc_why_set(struct nc_why *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int nc_caps_pack(const struct nc_caps *c, uint8_t **out, size_t *len);
int nc_caps_unpack(const uint8_t *b, size_t len, struct nc_caps *c,
		   struct nc_why *why);
int nc_vm_pack(const struct nc_vm_state *vm, uint32_t index, uint8_t **out,
	       size_t *len, struct nc_why *why);
int nc_vm_unpack(const uint8_t *b, size_t len, struct nc_vm_state *vm,
		 uint32_t *index, uint32_t *nr_vcpus, struct nc_why *why);
int nc_vcpu_pack(const struct nc_vcpu_state *v, uint32_t vm_index,
		 uint8_t **out, size_t *len, struct nc_why *why);
int nc_vcpu_unpack(const uint8_t *b, size_t len, struct nc_vcpu_state *v,
		   uint32_t *vm_index, struct nc_why *why);
/* One VM's MSR filter (msr_filter.c); the component names its VM. */
int nc_msr_filter_pack(const struct nc_msr_filter *f, uint32_t vm_index,
		       uint8_t **out, size_t *len);
int nc_msr_filter_unpack(const uint8_t *b, size_t len, struct nc_msr_filter **f,
			 uint32_t *vm_index, struct nc_why *why);
int nc_note_pack(const char *text, uint8_t **out, size_t *len);
int nc_note_unpack(const uint8_t *b, size_t len, char *text, size_t size,
		   struct nc_why *why);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the image decoder (tests/fuzz/README.md).
 * Input: one mode byte, then an image. Mode bit 0 reseals the image first
 * (recomputes every checksum), so mutations reach the protobuf decoders and
 * the vendor conversions instead of stopping at a CRC. Whatever decodes must
 * also pass the restore's vCPU-state check (or be refused with a reason),
 * inspect, re-encode and decode again.  Mode bit 1 feeds the input to
 * the CRIU plugin's per-file record decoder instead (file_ref.c).
 */
#include <stdlib.h>
#include <string.h>

#include "libnestckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nc_image img, again;
	struct nc_err err;
	struct nc_kv *kv;
	uint8_t *buf, *out;
	size_t n, len;

	if (size < 1)
		return 0;
	if (data[0] & 2) {
		struct nc_file_ref ref;

		if (nc_file_ref_decode(data + 1, size - 1, &ref, &err) && !err.msg[0])
			abort();	/* every refusal must say why */
		return 0;
	}
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	if (data[0] & 1)
		nc_image_reseal(buf, size - 1);
	if (nc_image_decode(buf, size - 1, &img, &err)) {
		if (!err.msg[0])
			abort();	/* every refusal must say why */
		free(buf);
		return 0;
	}
	if (nc_image_check_vcpus(&img, &err) && !err.msg[0])
		abort();	/* the restore names every refusal */
	if (!nc_image_flatten(&img, &kv, &n))
		free(kv);
	if (nc_image_encode(&img, NULL, 0, &out, &len, &err) == 0) {
		/* what this reader accepted, it must read back from itself */
		if (nc_image_decode(out, len, &again, &err))
			abort();
		nc_image_free(&again);
		free(out);
	}
	nc_image_free(&img);
	free(buf);
	return 0;
}

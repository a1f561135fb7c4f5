/* Fuzzes base64 (common/base64.c).
 *
 * Input: byte 0 picks the output room for decoding, the rest is both a
 * base64 text to decode and raw bytes to encode.
 *
 * Properties (buffers are exact-size heap blocks, so ASan sees any write
 * past them): decoding is strict, so whatever decodes re-encodes to the
 * very same text; decoding never writes more than the room given; encoding
 * any bytes gives base64_encoded_len characters that decode back to them;
 * too small an output buffer is refused and left untouched. */
#include <string.h>

#include "base64.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rb = fuzz_take(&data, &size);
	char *text = fuzz_memdup(data, size);

	/* 1. Decode, with room enough (often) or too little (sometimes). */
	size_t full = size / 4 * 3;
	size_t room =
	    rb < 128 ? full : (full > rb - 128u ? full - (rb - 128u) : 0);
	unsigned char *dec = malloc(room ? room : 1);
	FUZZ_CHECK(dec != NULL);
	size_t dlen = (size_t)-1;
	if (base64_decode(text, size, dec, room, &dlen) == 0) {
		FUZZ_CHECK(size % 4 == 0);
		FUZZ_CHECK(dlen <= room);
		FUZZ_CHECK(dlen <= full && dlen + 2 >= full);
		FUZZ_CHECK(base64_encoded_len(dlen) == size);
		char *again = malloc(size + 1);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(base64_encode(dec, dlen, again, size + 1) == size);
		FUZZ_CHECK(memcmp(again, text, size) == 0);
		FUZZ_CHECK(again[size] == '\0');
		free(again);
	} else {
		FUZZ_CHECK(dlen == (size_t)-1); /* *outlen only on success */
	}
	free(dec);

	/* 2. Encode the raw bytes, then decode them back. */
	size_t elen = base64_encoded_len(size);
	FUZZ_CHECK(elen % 4 == 0 && elen / 4 * 3 >= size);
	char *enc = malloc(elen + 1);
	FUZZ_CHECK(enc != NULL);
	memset(enc, 'x', elen + 1);
	/* One byte short (no room for the NUL): refused, untouched. */
	FUZZ_CHECK(base64_encode(data, size, enc, elen) == 0);
	for (size_t i = 0; i <= elen; i++)
		FUZZ_CHECK(enc[i] == 'x');
	FUZZ_CHECK(base64_encode(data, size, enc, elen + 1) == elen);
	FUZZ_CHECK(strlen(enc) == elen);
	unsigned char *back = malloc(size ? size : 1);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(base64_decode(enc, elen, back, size, &dlen) == 0);
	FUZZ_CHECK(dlen == size && memcmp(back, data, size) == 0);
	/* One byte less room than needed: refused. */
	if (size > 0)
		FUZZ_CHECK(base64_decode(enc, elen, back, size - 1, &dlen) !=
		           0);
	free(back);
	free(enc);
	free(text);
	return 0;
}

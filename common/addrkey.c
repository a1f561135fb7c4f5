#include "addrkey.h"

#include <arpa/inet.h>
#include <string.h>

void addrkey_make(const char *ip, uint8_t key[ADDRKEY_LEN])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
	                                         0, 0, 0, 0, 0xff, 0xff};
	unsigned char a[16];

	memset(key, 0, ADDRKEY_LEN);
	if (inet_pton(AF_INET, ip, a) == 1) {
		key[0] = 4;
		memcpy(key + 1, a, 4);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		if (memcmp(a, mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
	} else {
		uint64_t h = 1469598103934665603ULL; /* FNV-1a */
		for (const char *p = ip; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		key[0] = 1;
		memcpy(key + 1, &h, 8);
	}
}

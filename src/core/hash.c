#include "core/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

pw_status pw_sha256(const void *buf, size_t len, unsigned char out[PW_SHA256_LEN])
{
	unsigned int n = 0;
	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != PW_SHA256_LEN)
		return PW_ERR_INTERNAL;
	return PW_OK;
}

void pw_hex(const unsigned char *bytes, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	hex[2 * n] = '\0';
}

bool pw_is_sha256_hex(const char *s)
{
	if (s == NULL || strlen(s) != PW_SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < PW_SHA256_HEX_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

bool pw_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

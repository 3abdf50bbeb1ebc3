/*
 * hash.h: SHA-256 over buffers (OpenSSL libcrypto) and hex encoding.
 */
#ifndef PW_CORE_HASH_H
#define PW_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PW_SHA256_LEN     32
#define PW_SHA256_HEX_LEN 64

/* out gets the 32-byte digest of buf[0..len). */
PW_MUST_CHECK pw_status pw_sha256(const void *buf, size_t len, unsigned char out[PW_SHA256_LEN]);

/* Lowercase hex of n bytes into hex, which must hold 2n+1 chars (NUL-terminated). */
void pw_hex(const unsigned char *bytes, size_t n, char *hex);

/* True if s is exactly 64 lowercase hex digits. */
bool pw_is_sha256_hex(const char *s);

/* Constant-time comparison of two equal-length buffers. */
bool pw_ct_equal(const void *a, const void *b, size_t n);

#endif

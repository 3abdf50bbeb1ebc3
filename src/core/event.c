#include "core/event.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "core/hash.h"
#include "core/json.h"

const char pw_event_genesis_prev[PW_HASH_STR_LEN + 1] =
        "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/* One more than each byte's value as a lowercase hex digit, 0 for the others. */
static const unsigned char hex_plus1[256] = {
        ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
        ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
        ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* "sha256:<64 lowercase hex>" into 32 bytes; a table and no branch per digit. */
static bool hash_str_bytes(const char *s, unsigned char out[PW_SHA256_LEN])
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0 ||
	    strnlen(s, PW_HASH_STR_LEN + 1) != PW_HASH_STR_LEN)
		return false;
	const unsigned char *h = (const unsigned char *)s + 7;
	unsigned bad = 0;
	for (size_t i = 0; i < PW_SHA256_LEN; i++) {
		unsigned hi = hex_plus1[h[2 * i]], lo = hex_plus1[h[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return bad == 0;
}

/*
 * out = "sha256:" + hex of SHA-256(tag || prev || a || b), with ctx and md
 * (md NULL: the default SHA-256).
 */
static pw_status digest(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char prev[PW_SHA256_LEN],
                        const char *a, size_t alen, const char *b, size_t blen,
                        char out[PW_HASH_STR_LEN + 1])
{
	static const char tag[] = PW_EVENT_DOMAIN; /* hashed with its NUL */
	unsigned char h[PW_SHA256_LEN];
	unsigned n = 0;
	if (ctx == NULL || EVP_DigestInit_ex2(ctx, md ? md : EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, tag, sizeof tag) != 1 ||
	    EVP_DigestUpdate(ctx, prev, PW_SHA256_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 || EVP_DigestUpdate(ctx, b, blen) != 1 ||
	    EVP_DigestFinal_ex(ctx, h, &n) != 1 || n != PW_SHA256_LEN)
		return PW_ERR_INTERNAL;
	memcpy(out, "sha256:", 7);
	pw_hex(h, PW_SHA256_LEN, out + 7);
	return PW_OK;
}

pw_status pw_event_hash(const json_t *ev, char out[PW_HASH_STR_LEN + 1])
{
	unsigned char prev[PW_SHA256_LEN];
	if (!json_is_object(ev) || !hash_str_bytes(pw_event_str(ev, "prev"), prev))
		return PW_ERR_INVALID;

	/* A shallow copy without "hash": members are shared, not copied. */
	json_t *body = json_copy((json_t *)ev);
	if (body == NULL)
		return PW_ERR_NOMEM;
	(void)json_object_del(body, "hash");
	char *jcs = NULL;
	size_t len = 0;
	pw_status st = pw_jcs_dump(body, 0, &jcs, &len);
	json_decref(body);
	if (st != PW_OK)
		return st;
	if (len > PW_EVENT_MAX_BYTES) {
		free(jcs);
		return PW_ERR_TOO_LARGE;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	st = digest(ctx, NULL, prev, jcs, len, "", 0, out);
	EVP_MD_CTX_free(ctx);
	free(jcs);
	return st;
}

struct pw_event_hasher {
	EVP_MD_CTX *ctx; /* owned */
	EVP_MD *md;      /* owned; SHA-256, fetched once */
};

pw_status pw_event_hasher_new(pw_event_hasher **out)
{
	pw_event_hasher *h = calloc(1, sizeof *h);
	*out = NULL;
	if (h == NULL)
		return PW_ERR_NOMEM;
	h->ctx = EVP_MD_CTX_new();
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (h->ctx == NULL || h->md == NULL) {
		pw_event_hasher_free(h);
		return PW_ERR_NOMEM;
	}
	*out = h;
	return PW_OK;
}

void pw_event_hasher_free(pw_event_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

pw_status pw_event_hash_canon(pw_event_hasher *h, const char *line, size_t len,
                              const pw_canon_member *m, size_t n, char out[PW_HASH_STR_LEN + 1])
{
	unsigned char prev[PW_SHA256_LEN];
	char text[PW_HASH_STR_LEN + 1];
	size_t cut = n;
	bool have_prev = false;
	for (size_t i = 0; i < n; i++) {
		if (m[i].name_len == 4 && memcmp(m[i].name, "prev", 4) == 0) {
			/* a "sha256:<hex>" string is written without escapes, in 73 bytes */
			if (m[i].value_len != PW_HASH_STR_LEN + 2 || m[i].value[0] != '"')
				return PW_ERR_INVALID;
			memcpy(text, m[i].value + 1, PW_HASH_STR_LEN);
			text[PW_HASH_STR_LEN] = '\0';
			if (!hash_str_bytes(text, prev))
				return PW_ERR_INVALID;
			have_prev = true;
		} else if (m[i].name_len == 4 && memcmp(m[i].name, "hash", 4) == 0) {
			cut = i;
		}
	}
	if (!have_prev)
		return PW_ERR_INVALID;
	/* the bytes before the "hash" member (without the comma before it) and after it */
	const char *stop = line + len, *start = stop;
	if (cut < n) {
		start = m[cut].name - 1;
		stop = m[cut].value + m[cut].value_len;
		if (cut > 0)
			start--;
		else if (n > 1)
			stop++;
	}
	size_t a = (size_t)(start - line), b = (size_t)(line + len - stop);
	if (a + b > PW_EVENT_MAX_BYTES)
		return PW_ERR_TOO_LARGE;
	return digest(h->ctx, h->md, prev, line, a, stop, b, out);
}

pw_status pw_event_seal(json_t *ev, const char *run_id, uint64_t seq, const char *prev,
                        int64_t time_ms)
{
	char h[PW_HASH_STR_LEN + 1];
	if (!json_is_object(ev) || !pw_id_valid(run_id) || seq > ((uint64_t)1 << 53))
		return PW_ERR_INVALID;
	if (json_object_set_new(ev, "v", json_real(PW_EVENT_VERSION)) != 0 ||
	    json_object_set_new(ev, "run_id", json_string(run_id)) != 0 ||
	    json_object_set_new(ev, "seq", json_real((double)seq)) != 0 ||
	    json_object_set_new(ev, "prev", json_string(prev)) != 0)
		return PW_ERR_NOMEM;
	if (json_object_get(ev, "time_ms") == NULL &&
	    json_object_set_new(ev, "time_ms", json_real((double)time_ms)) != 0)
		return PW_ERR_NOMEM;
	PW_TRY(pw_event_hash(ev, h));
	if (json_object_set_new(ev, "hash", json_string(h)) != 0)
		return PW_ERR_NOMEM;
	return PW_OK;
}

static bool is_uint(const json_t *v, double max)
{
	double d;
	return pw_json_number(v, &d) && d >= 0 && d <= max && d == (double)(int64_t)d;
}

pw_status pw_event_verify(const json_t *ev, const char *run_id, uint64_t seq, const char *prev,
                          char *err, size_t errlen)
{
	char h[PW_HASH_STR_LEN + 1];
	const char *why = NULL;
	if (!json_is_object(ev))
		why = "not a JSON object";
	else if (!is_uint(json_object_get(ev, "v"), 1e15) ||
	         pw_event_int(ev, "v") != PW_EVENT_VERSION)
		why = "\"v\" is not 1";
	else if (pw_event_str(ev, "run_id") == NULL || strcmp(pw_event_str(ev, "run_id"), run_id))
		why = "run_id does not match the run";
	else if (!is_uint(json_object_get(ev, "seq"), 9007199254740992.0) ||
	         (uint64_t)pw_event_int(ev, "seq") != seq)
		why = "seq is not the next in the run";
	else if (!is_uint(json_object_get(ev, "time_ms"), 9007199254740992.0))
		why = "time_ms is not a non-negative integer";
	else if (pw_event_str(ev, "kind") == NULL)
		why = "kind is missing";
	else if (pw_event_str(ev, "prev") == NULL || strcmp(pw_event_str(ev, "prev"), prev) != 0)
		why = seq == 0 ? "prev of the genesis is not zero"
		               : "prev does not match the hash of the event before";
	else if (pw_event_str(ev, "hash") == NULL)
		why = "hash is missing";
	else {
		pw_status st = pw_event_hash(ev, h);
		if (st != PW_OK && st != PW_ERR_INVALID)
			return st;
		if (st != PW_OK || strcmp(h, pw_event_str(ev, "hash")) != 0)
			why = "hash does not match the event's contents";
	}
	if (why == NULL)
		return PW_OK;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "seq %llu: %s", (unsigned long long)seq, why);
	return PW_ERR_INVALID;
}

pw_status pw_event_dump(const json_t *ev, char **out, size_t *outlen)
{
	PW_TRY(pw_jcs_dump(ev, 0, out, outlen));
	if (*outlen > PW_EVENT_MAX_BYTES) {
		free(*out);
		*out = NULL;
		return PW_ERR_TOO_LARGE;
	}
	return PW_OK;
}

const char *pw_event_str(const json_t *ev, const char *key)
{
	return json_string_value(json_object_get(ev, key));
}

int64_t pw_event_int(const json_t *ev, const char *key)
{
	double d;
	if (!pw_json_number(json_object_get(ev, key), &d) || d < -9007199254740992.0 ||
	    d > 9007199254740992.0 || d != (double)(int64_t)d)
		return -1;
	return (int64_t)d;
}

bool pw_id_valid(const char *s)
{
	if (s == NULL || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	                   (s[0] >= '0' && s[0] <= '9')))
		return false;
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
	return s[n] == '\0' && n <= 64;
}

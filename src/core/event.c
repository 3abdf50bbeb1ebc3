#include "core/event.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"

const char pw_event_genesis_prev[PW_HASH_STR_LEN + 1] =
        "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/* "sha256:<64 lowercase hex>" into 32 bytes. */
static bool hash_str_bytes(const char *s, unsigned char out[PW_SHA256_LEN])
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || !pw_is_sha256_hex(s + 7))
		return false;
	for (size_t i = 0; i < PW_SHA256_LEN; i++) {
		unsigned hi = (unsigned)s[7 + 2 * i], lo = (unsigned)s[8 + 2 * i];
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

pw_status pw_event_hash(const json_t *ev, char out[PW_HASH_STR_LEN + 1])
{
	unsigned char prev[PW_SHA256_LEN], md[PW_SHA256_LEN];
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

	st = PW_ERR_INTERNAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;
	static const char tag[] = PW_EVENT_DOMAIN; /* hashed with its NUL */
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, tag, sizeof tag) == 1 &&
	    EVP_DigestUpdate(ctx, prev, sizeof prev) == 1 && EVP_DigestUpdate(ctx, jcs, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == PW_SHA256_LEN) {
		memcpy(out, "sha256:", 7);
		pw_hex(md, PW_SHA256_LEN, out + 7);
		st = PW_OK;
	}
	EVP_MD_CTX_free(ctx);
	free(jcs);
	return st;
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

/*
 * effects.c: an action's effects (docs/SPEC.md, *effects*): the parsers the
 * spec checker uses for paths, endpoints and sizes, the checked model read
 * back with its defaults, and the kernel features enforcing it needs.
 *
 * Pure: no I/O. inet_pton() only parses text.
 */
#include "core/effects.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/spec.h"

#define RUN_TIMEOUT_DEFAULT_MS 60000 /* run.timeout's default (docs/SPEC.md, *run*) */

_Static_assert(PW_EFFECTS_PATH_MAX == 1024, "the message below says 1024");
_Static_assert(PW_EFFECTS_HOST_MAX == 253, "the messages below say 253");

static const char *const feature_names[PW_FEAT_COUNT] = {
        "landlock_fs", "landlock_net", "landlock_scope", "netns", "seccomp", "pids",
};

const char *pw_feature_name(unsigned bit)
{
	for (unsigned i = 0; i < PW_FEAT_COUNT; i++)
		if (bit == (1u << i))
			return feature_names[i];
	return NULL;
}

unsigned pw_feature_by_name(const char *name)
{
	for (unsigned i = 0; i < PW_FEAT_COUNT; i++)
		if (strcmp(name, feature_names[i]) == 0)
			return 1u << i;
	return 0;
}

unsigned pw_effects_needs(const pw_effects *e)
{
	unsigned need =
	        PW_FEAT_LANDLOCK_FS | PW_FEAT_LANDLOCK_SCOPE | PW_FEAT_SECCOMP | PW_FEAT_PIDS;
	return need | (e->n_net > 0 ? PW_FEAT_LANDLOCK_NET : PW_FEAT_NETNS);
}

/* ---- paths ----------------------------------------------------------------- */

/* The components of rest ("" or "/a/b"): none empty, ".", "..", and no trailing "/". */
static const char *components_problem(const char *rest)
{
	const char *p = rest;
	while (*p == '/') {
		const char *seg = p + 1, *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0)
			return end ? "an empty component (\"//\")" : "a trailing \"/\"";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "a \".\" or \"..\" component";
		p = seg + n;
	}
	return NULL;
}

const char *pw_effects_path_problem(const char *s)
{
	static const char *const prefixes[] = {"{spec.dir}", "{run.dir}"};
	size_t len = strlen(s);
	if (len == 0)
		return "must not be empty";
	if (len > PW_EFFECTS_PATH_MAX)
		return "longer than 1024 bytes";
	if (strstr(s, "{input") != NULL)
		return "an input placeholder is refused: the agent writes the input, and must not "
		       "choose what the sandbox opens";
	const char *rest = NULL;
	for (size_t i = 0; i < 2 && rest == NULL; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(s, prefixes[i], n) == 0) {
			rest = s + n;
			if (*rest != '\0' && *rest != '/')
				return "a placeholder must be followed by \"/\" or nothing";
		}
	}
	if (rest == NULL) {
		if (s[0] == '{')
			return "unknown placeholder; a path may start with {spec.dir} or {run.dir}";
		if (s[0] != '/')
			return "must be absolute, or start with {spec.dir} or {run.dir}";
		rest = s;
	}
	if (strpbrk(rest, "{}") != NULL)
		return "\"{\" and \"}\" may appear only in a leading {spec.dir} or {run.dir}";
	if (strcmp(s, "/") == 0)
		return NULL;
	return components_problem(rest);
}

/* ---- endpoints ------------------------------------------------------------- */

/* A DNS name: labels of 1 to 63 letters, digits and '-', not at either end of a label. */
static bool dns_name_ok(const char *h, size_t n)
{
	size_t label = 0;
	if (n == 0 || n > PW_EFFECTS_HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = i < n ? h[i] : '.';
		if (ch == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-';
		if (!ok || (label == 0 && ch == '-'))
			return false;
		label++;
	}
	return true;
}

/* "1" to "65535", no sign, space or leading zero. */
static bool port_ok(const char *s, uint16_t *out)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 5 || s[digits] != '\0' || s[0] == '0')
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

const char *pw_endpoint_parse(const char *s, pw_endpoint *out)
{
	const char *host, *colon;
	size_t n;
	memset(out, 0, sizeof *out);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return "expected \"[IPv6]:port\"";
		host = s + 1;
		n = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return "expected \"host:port\"";
		host = s;
		n = (size_t)(colon - s);
		if (memchr(host, ':', n) != NULL)
			return "an IPv6 address must be in brackets, as in \"[::1]:443\"";
	}
	if (!port_ok(colon + 1, &out->port))
		return "the port must be a number from 1 to 65535 written plainly";
	if (n == 0 || n > PW_EFFECTS_HOST_MAX)
		return "the host must be 1 to 253 bytes";
	memcpy(out->host, host, n);
	out->host[n] = '\0';

	unsigned char addr[sizeof(struct in6_addr)];
	if (s[0] == '[')
		return inet_pton(AF_INET6, out->host, addr) == 1 ? NULL : "invalid IPv6 address";
	/* all digits and dots: an address, never a name (inet_pton refuses leading zeros) */
	if (strspn(out->host, "0123456789.") == n)
		return inet_pton(AF_INET, out->host, addr) == 1
		               ? NULL
		               : "invalid IPv4 address (a dotted quad)";
	return dns_name_ok(out->host, n)
	               ? NULL
	               : "invalid host name (letters, digits, '-' and '.', labels "
	                 "of 1 to 63 bytes not starting or ending with '-')";
}

bool pw_endpoint_same(const pw_endpoint *a, const pw_endpoint *b)
{
	struct in6_addr x, y;
	if (a->port != b->port)
		return false;
	if (inet_pton(AF_INET6, a->host, &x) == 1 && inet_pton(AF_INET6, b->host, &y) == 1)
		return memcmp(&x, &y, sizeof x) == 0;
	return strcasecmp(a->host, b->host) == 0;
}

/* ---- sizes ----------------------------------------------------------------- */

bool pw_effects_size(const json_t *v, uint64_t *out)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
	double d;
	if (pw_json_number(v, &d)) {
		/* integers only; 2^53 is far past every bound and still exact */
		if (d < 0 || d > 9007199254740992.0 || d != floor(d))
			return false;
		*out = (uint64_t)d;
		return true;
	}
	const char *s = json_string_value(v);
	if (s == NULL)
		return false;
	size_t digits = strspn(s, "0123456789");
	/* 7 digits of TiB is 2^63 at most: no overflow */
	if (digits == 0 || digits > 7 || s[0] == '0')
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < digits; i++)
		n = n * 10 + (uint64_t)(s[i] - '0');
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(s + digits, units[i].unit) == 0) {
			*out = n << units[i].shift;
			return true;
		}
	return false;
}

/* ---- the checked model ------------------------------------------------------- */

/* A list of path strings into out (at most PW_EFFECTS_MAX_PATHS). */
static size_t read_paths(const json_t *list, const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(list) && n < PW_EFFECTS_MAX_PATHS; i++)
		if (json_is_string(json_array_get(list, i)))
			out[n++] = json_string_value(json_array_get(list, i));
	return n;
}

/* A count limit (procs, open_files): an integer within [lo, hi], else dflt. */
static unsigned count_of(const json_t *v, unsigned lo, unsigned hi, unsigned dflt)
{
	double d;
	return pw_json_number(v, &d) && d == floor(d) && d >= lo && d <= hi ? (unsigned)d : dflt;
}

/* A size limit (memory, file_size) within [lo, hi], else dflt. */
static uint64_t limit_of(const json_t *v, uint64_t lo, uint64_t hi, uint64_t dflt)
{
	uint64_t x;
	return v != NULL && pw_effects_size(v, &x) && x >= lo && x <= hi ? x : dflt;
}

void pw_action_effects(const pw_action *a, pw_effects *out)
{
	const json_t *eff = json_object_get(a->def, "effects");
	const json_t *limits = json_object_get(eff, "limits");
	const json_t *run = json_object_get(a->def, "run");
	const json_t *v;

	memset(out, 0, sizeof *out);
	out->n_read = read_paths(json_object_get(eff, "read"), out->read);
	if ((v = json_object_get(eff, "write")) != NULL) {
		out->n_write = read_paths(v, out->write);
	} else {
		out->write[0] = "{run.dir}";
		out->n_write = 1;
	}
	v = json_object_get(eff, "net");
	for (size_t i = 0; i < json_array_size(v) && out->n_net < PW_EFFECTS_MAX_NET; i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (s != NULL && pw_endpoint_parse(s, &out->net[out->n_net]) == NULL)
			out->n_net++;
	}

	int64_t wall = pw_spec_duration_ms(json_object_get(run, "timeout"), RUN_TIMEOUT_DEFAULT_MS);
	out->wall_ms = wall > 0 ? (uint64_t)wall : RUN_TIMEOUT_DEFAULT_MS;
	int64_t cpu = pw_spec_duration_ms(json_object_get(limits, "cpu"), (int64_t)out->wall_ms);
	out->cpu_ms = cpu > 0 ? (uint64_t)cpu : out->wall_ms;
	out->memory = limit_of(json_object_get(limits, "memory"), PW_LIMIT_MEMORY_MIN,
	                       PW_LIMIT_MEMORY_MAX, PW_LIMIT_MEMORY_DEFAULT);
	out->file_size = limit_of(json_object_get(limits, "file_size"), PW_LIMIT_FILE_SIZE_MIN,
	                          PW_LIMIT_FILE_SIZE_MAX, PW_LIMIT_FILE_SIZE_DEFAULT);
	out->procs = count_of(json_object_get(limits, "procs"), PW_LIMIT_PROCS_MIN,
	                      PW_LIMIT_PROCS_MAX, PW_LIMIT_PROCS_DEFAULT);
	out->open_files = count_of(json_object_get(limits, "open_files"), PW_LIMIT_OPEN_FILES_MIN,
	                           PW_LIMIT_OPEN_FILES_MAX, PW_LIMIT_OPEN_FILES_DEFAULT);

	v = json_object_get(eff, "downgrade");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (s != NULL)
			out->downgrade |= pw_feature_by_name(s);
	}
}

#include "core/err.h"

const char *pw_status_name(pw_status st)
{
	switch (st) {
	case PW_OK: return "ok";
	case PW_ERR_NOMEM: return "out_of_memory";
	case PW_ERR_TOO_LARGE: return "too_large";
	case PW_ERR_TOO_DEEP: return "too_deep";
	case PW_ERR_SYNTAX: return "syntax";
	case PW_ERR_UTF8: return "bad_utf8";
	case PW_ERR_DUPKEY: return "duplicate_key";
	case PW_ERR_NUMBER: return "bad_number";
	case PW_ERR_INVALID: return "invalid";
	case PW_ERR_LIMIT: return "limit";
	case PW_ERR_IO: return "io";
	case PW_ERR_NOTFOUND: return "not_found";
	case PW_ERR_PERM: return "permission";
	case PW_ERR_INTERNAL: return "internal";
	case PW_ERR_UNSUPPORTED: return "unsupported";
	default: return "unknown";
	}
}

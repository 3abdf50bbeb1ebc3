#include "core/diag.h"

#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Replace every byte that does not start a valid UTF-8 sequence with '?':
 * a name cut short by a length cap ("%.80s") can end inside a character.
 */
static void utf8_scrub(char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80             ? 1
		             : (c & 0xe0) == 0xc0 ? 2
		             : (c & 0xf0) == 0xe0 ? 3
		             : (c & 0xf8) == 0xf0 ? 4
		                                  : 0;
		if (len == 0 || len > n - i || !pw_utf8_valid(s + i, len)) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

void pw_diag_add(pw_diag *d, pw_diag_level level, unsigned line, unsigned col, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level == PW_DIAG_ERROR)
		d->errors++;
	if (d->n >= PW_DIAG_MAX)
		return;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (len < 0)
		buf[0] = '\0';
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		pw_diag_item *items = realloc(d->items, cap * sizeof *items);
		if (items == NULL) {
			d->out_of_memory = 1;
			return;
		}
		d->items = items;
		d->cap = cap;
	}
	size_t n = (size_t)(len < 0 ? 0 : len);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	char *msg = malloc(n + 1);
	if (msg == NULL) {
		d->out_of_memory = 1;
		return;
	}
	memcpy(msg, buf, n);
	msg[n] = '\0';
	utf8_scrub(msg, n);
	d->items[d->n++] = (pw_diag_item){level, line, col, msg};
}

void pw_diag_release(pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].msg);
	free(d->items);
	*d = (pw_diag)PW_DIAG_INIT;
}

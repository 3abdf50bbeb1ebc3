#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	d->items[d->n++] = (pw_diag_item){level, line, col, msg};
}

void pw_diag_release(pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].msg);
	free(d->items);
	*d = (pw_diag)PW_DIAG_INIT;
}

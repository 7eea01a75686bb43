/* What the two config readers (config.c: the stack's keys, rt_config.c: the runtime's) share:
 * error text naming the source and line, and the `key = value` line syntax. */
#ifndef UTCP_API_CONFIG_IMPL_H
#define UTCP_API_CONFIG_IMPL_H

#include <stddef.h>

/* Writes "name:line: what" into err; returns -1. */
int cfg_fail(char *err, size_t err_len, const char *name, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* s without leading and trailing blanks (trailing ones are cut in place). */
char *cfg_trim(char *s);
/* One line, modified in place: a `#` comment is dropped; blank: 0; `key = value`: 1 with *key
 * and *val set (both trimmed, neither empty); anything else: -1 with err set. */
int cfg_split(const char *name, unsigned line, char *text, char **key, char **val, char *err,
              size_t err_len);

#endif

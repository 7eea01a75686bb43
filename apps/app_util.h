/* Small helpers shared by the example applications (libc only). */
#ifndef UTCP_APPS_APP_UTIL_H
#define UTCP_APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The generated-content rule shared by epserver (--gen, path /gen/<bytes>) and epwget: byte
 * `off` of every generated body. Not periodic at any power of two below 2^16, so a byte that
 * lands at the wrong offset is seen. */
static inline uint8_t app_gen_byte(uint64_t off) {
  uint64_t x = off * 0x9e3779b97f4a7c15ull;
  return (uint8_t)((x >> 56) ^ (off >> 16) ^ off);
}

/* Fills buf with the bytes [off, off+len) of the generated content. */
void app_gen_fill(uint8_t *buf, uint64_t off, size_t len);

/* A decimal number with an optional suffix k, M, G (10^3...) or Ki, Mi, Gi (2^10...). */
bool app_parse_size(const char *s, uint64_t *out);
/* A decimal number in [min, max]. */
bool app_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "a.b.c.d" into host order. */
bool app_parse_ipv4(const char *s, uint32_t *out);

struct utcp_ctx;
/* Waits until something listens on ip:port (host order): tries a connection every 100 ms (of
 * the context's clock), at most tries times. 0 when one was accepted (and closed again), -1
 * with errno otherwise. For launchers that start a server and its clients at once. */
int app_wait_server(struct utcp_ctx *ctx, uint32_t ip, uint16_t port, uint64_t tries);

/* Splits a command line in place at blanks; '...' and "..." group (no escapes). Returns argc,
 * or -1 (more than max words, or an unclosed quote). */
int app_split_args(char *s, char **argv, int max);

/* Whether argv[1..] holds the flag. */
bool app_has_flag(int argc, char **argv, const char *flag);

#endif

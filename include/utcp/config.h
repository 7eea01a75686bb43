/* utcp's configuration file: mTCP-style `key = value` lines, `#` comments, blank lines.
 * It fills a struct utcp_stack_config (after utcp_stack_config_default). Overrides in the same
 * `key=value` form (utcp_config_set, e.g. from a command line) apply after the file.
 *
 * Keys: ip_addr, netmask, gateway, mac (aa:bb:cc:dd:ee:ff), mtu, seed, isn_key (32 hex
 * digits), arp (`IP MAC`, repeatable: a static entry), route (`DST/PREFIX GATEWAY`,
 * repeatable), max_concurrency, syn_backlog, rcvbuf, sndbuf, chunks, mss_default,
 * iw_segments, wscale, timestamps, sack, syncookies (0/1), rto_min_ms, rto_max_ms,
 * rto_initial_ms, delack_ms, msl_ms (tcp_timewait in mTCP), keepidle_s, keepintvl_s,
 * keepcnt, syn_retries, data_retries, challenge_ack_limit, challenge_ack_interval_ms (the
 * limit's interval, default 1000), reass_nodes,
 * reass_max_ranges, zero_window_timeout_ms (0: never abort a zero-window stall),
 * zero_window_pressure_ms (stall age reclaimed when the buffer pool runs dry; 0: never),
 * oow_ack_interval_ms (0: answer every out-of-window pure ACK).
 * An unknown key, a bad value or a config that utcp_stack_config_check refuses is an error
 * naming the line. */
#ifndef UTCP_INCLUDE_CONFIG_H
#define UTCP_INCLUDE_CONFIG_H

#include <stddef.h>

#include "core/stack.h"

/* Parses text (len bytes, need not be NUL-terminated) named `name` into cfg, which should hold
 * defaults or earlier settings. Returns 0, or -1 with a message "name:line: what" in err. */
int utcp_config_parse(const char *name, const char *text, size_t len,
                      struct utcp_stack_config *cfg, char *err, size_t err_len);
/* Applies one `key=value` override (line 0 in messages). */
int utcp_config_set(const char *kv, struct utcp_stack_config *cfg, char *err, size_t err_len);
/* One key (trimmed) and its value, as if read from line `line` of file `name` (for readers
 * that add keys of their own, api/rt_config.c). */
int utcp_config_set_key(const char *name, unsigned line, const char *key, const char *val,
                        struct utcp_stack_config *cfg, char *err, size_t err_len);
/* Reads and parses a file; -1 with a message on I/O or parse errors. Checks the result with
 * utcp_stack_config_check. */
int utcp_config_load(const char *path, struct utcp_stack_config *cfg, char *err, size_t err_len);

#endif

/* What the core is given by its platform: memory at init, a transmit sink and nothing else.
 * Time comes in as `now` (nanoseconds) on every entry point; randomness comes from a seed in the
 * config. */
#ifndef UTCP_CORE_ENV_H
#define UTCP_CORE_ENV_H

#include <stddef.h>
#include <stdint.h>

/* Allocator, used only while a stack is created and freed (never on a data path). */
struct utcp_mem {
  void *ctx;
  void *(*alloc)(void *ctx, size_t size); /* zeroed, aligned for any type; NULL on failure */
  void (*free)(void *ctx, void *ptr, size_t size);
};

/* Transmit sink with an allocate/commit/flush shape: on DPDK `alloc` hands out an mbuf's data
 * area, in the simulator a slot of its own. */
struct utcp_tx_sink {
  void *ctx;
  /* A buffer of at least `cap` bytes for one frame, or NULL (counted drop TX_NO_BUFFER). */
  uint8_t *(*alloc)(void *ctx, size_t cap);
  /* Hands over a frame of `len` bytes written into a buffer from `alloc`. len == 0 gives the
   * buffer back unsent. */
  void (*commit)(void *ctx, uint8_t *buf, size_t len);
  /* Sends what was committed (a burst); may be NULL. */
  void (*flush)(void *ctx);
};

#endif

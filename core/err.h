/* utcp error codes: every public function returns 0 (or a non-negative count) on success and a
 * negative UTCP_ERR_* on failure. Only api/ maps these onto errno. */
#ifndef UTCP_CORE_ERR_H
#define UTCP_CORE_ERR_H

#define UTCP_ERR_LIST(X)                                                    \
  X(INVAL, 1, "invalid argument")                                           \
  X(NOMEM, 2, "pool exhausted")                                             \
  X(AGAIN, 3, "operation would block")                                      \
  X(NOTCONN, 4, "not connected")                                            \
  X(ISCONN, 5, "already connected")                                         \
  X(CONNREFUSED, 6, "connection refused")                                   \
  X(CONNRESET, 7, "connection reset by peer")                               \
  X(TIMEDOUT, 8, "connection timed out")                                    \
  X(PIPE, 9, "send side closed")                                            \
  X(ADDRINUSE, 10, "address in use")                                        \
  X(ADDRNOTAVAIL, 11, "address not available")                              \
  X(INPROGRESS, 12, "operation in progress")                                \
  X(ALREADY, 13, "operation already in progress")                           \
  X(BADF, 14, "no such connection")                                         \
  X(NOTSUP, 15, "operation not supported")                                  \
  X(NOBUFS, 16, "no buffer space")                                          \
  X(HOSTUNREACH, 17, "host unreachable")                                    \
  X(MSGSIZE, 18, "message too long")                                        \
  X(CONNABORTED, 19, "connection aborted")                                  \
  X(NOENT, 20, "no such entry")                                             \
  X(RANGE, 21, "value out of range")

enum utcp_err {
  UTCP_OK = 0,
#define UTCP_ERR_ENUM(name, num, text) UTCP_ERR_##name = -(num),
  UTCP_ERR_LIST(UTCP_ERR_ENUM)
#undef UTCP_ERR_ENUM
};

/* Human-readable text for a UTCP_ERR_* (or 0); never NULL. */
const char *utcp_strerror(int err);

#endif

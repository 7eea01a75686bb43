#include "err.h"

const char *utcp_strerror(int err) {
  switch (err) {
  case UTCP_OK:
    return "success";
#define ERR_CASE(name, num, text) \
  case UTCP_ERR_##name:           \
    return text;
    UTCP_ERR_LIST(ERR_CASE)
#undef ERR_CASE
  default:
    return "unknown error";
  }
}

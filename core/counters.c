#include "counters.h"

static const char *const mib_names[UTCP_MIB_COUNT] = {
#define MIB_NAME(field, name) name,
    UTCP_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

static const size_t mib_offsets[UTCP_MIB_COUNT] = {
#define MIB_OFFSET(field, name) offsetof(struct utcp_counters, field),
    UTCP_MIB_LIST(MIB_OFFSET)
#undef MIB_OFFSET
};

const char *utcp_mib_name(size_t i) { return i < UTCP_MIB_COUNT ? mib_names[i] : "unknown"; }

uint64_t utcp_mib_value(const struct utcp_counters *c, size_t i) {
  if (i >= UTCP_MIB_COUNT) return 0;
  return *(const uint64_t *)((const char *)c + mib_offsets[i]);
}

uint64_t utcp_drops_total(const struct utcp_counters *c) {
  uint64_t total = 0;
  for (size_t i = 0; i < UTCP_DROP__COUNT; i++) total += c->drop[i];
  return total;
}

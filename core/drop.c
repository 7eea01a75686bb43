#include "drop.h"

#include <stddef.h>

static const char *const drop_names[UTCP_DROP__COUNT] = {
    [UTCP_DROP_NONE] = "none",
#define DROP_NAME(name, id, text) [UTCP_DROP_##name] = #id,
    UTCP_DROP_LIST(DROP_NAME)
#undef DROP_NAME
};

static const char *const drop_texts[UTCP_DROP__COUNT] = {
    [UTCP_DROP_NONE] = "not dropped",
#define DROP_TEXT(name, id, text) [UTCP_DROP_##name] = text,
    UTCP_DROP_LIST(DROP_TEXT)
#undef DROP_TEXT
};

const char *utcp_drop_name(enum utcp_drop reason) {
  if ((unsigned)reason >= UTCP_DROP__COUNT || drop_names[reason] == NULL) return "unknown";
  return drop_names[reason];
}

const char *utcp_drop_text(enum utcp_drop reason) {
  if ((unsigned)reason >= UTCP_DROP__COUNT) return "unknown drop reason";
  return drop_texts[reason];
}

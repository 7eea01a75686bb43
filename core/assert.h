/* Assertions for programmer errors: on in debug, simulator and fuzz builds. A failed assertion
 * calls utcp_assert_fail, which the platform provides (it prints and aborts); the core itself
 * stays free of stdio. */
#ifndef UTCP_CORE_ASSERT_H
#define UTCP_CORE_ASSERT_H

#ifndef UTCP_ASSERT_ON
#define UTCP_ASSERT_ON 0
#endif

_Noreturn void utcp_assert_fail(const char *expr, const char *file, int line);

#if UTCP_ASSERT_ON
#define UTCP_ASSERT(e) ((e) ? (void)0 : utcp_assert_fail(#e, __FILE__, __LINE__))
#else
#define UTCP_ASSERT(e) ((void)0)
#endif

#endif

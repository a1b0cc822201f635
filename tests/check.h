/* check.h — the suite's assertions. A failed check prints where and why
 * and makes the test exit non-zero; checks compare exact values. */
#ifndef FASTSTACK_CHECK_H
#define FASTSTACK_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    long long ca_ = (long long)(a), cb_ = (long long)(b);                      \
    if (ca_ != cb_) {                                                          \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n",     \
              __FILE__, __LINE__, #a, #b, ca_, cb_);                           \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_STREQ(a, b)                                                      \
  do {                                                                         \
    const char *ca_ = (a), *cb_ = (b);                                         \
    if (!ca_ || !cb_ || strcmp(ca_, cb_) != 0) {                               \
      fprintf(stderr,                                                          \
              "%s:%d: CHECK_STREQ failed: %s == %s (\"%s\" vs "                \
              "\"%s\")\n",                                                     \
              __FILE__, __LINE__, #a, #b, ca_ ? ca_ : "(null)",                \
              cb_ ? cb_ : "(null)");                                           \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

/* Ends main: prints a summary line and returns the exit status. */
/* A repeatable pseudo-random sequence for generated inputs (xorshift64):
 * state must start non-zero. */
static inline uint64_t check_rand(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

#define CHECK_DONE(name)                                                       \
  (fprintf(stderr, "%s: %s (%d failed checks)\n", name,                        \
           check_failures ? "FAIL" : "ok", check_failures),                    \
   check_failures ? 1 : 0)

#endif

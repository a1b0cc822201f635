/* test_sort.c — fs_sort_keyed, the radix sort behind the symbol table and
 * the DWARF function ranges: ascending by key, stable (equal keys keep
 * their order), for keys of every width, against a reference sort. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "common/common.h"

typedef struct item {
  uint64_t key;
  uint32_t orig; /* position before sorting: stability */
  char pad[20];  /* an element larger than the key */
} item;

static int cmp_ref(const void *a, const void *b)
{
  const item *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->orig < y->orig ? -1 : x->orig > y->orig;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
  return check_rand(&rng);
}

/* n items with keys masked to the given bits (few distinct keys when
 * bits is small: many ties). */
static void one_case(size_t n, unsigned bits)
{
  item *v = malloc((n ? n : 1) * sizeof *v),
       *ref = malloc((n ? n : 1) * sizeof *v);
  uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
  uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
  for (size_t i = 0; i < n; i++) {
    v[i].key = keys[i] = next() & mask;
    v[i].orig = (uint32_t)i;
    for (int k = 0; k < 20; k++) v[i].pad[k] = (char)(i + (size_t)k);
  }
  memcpy(ref, v, n * sizeof *v);
  qsort(ref, n, sizeof *ref, cmp_ref);
  CHECK_EQ(fs_sort_keyed(v, n, sizeof *v, keys), 0);
  int same = 1;
  for (size_t i = 0; i < n; i++)
    if (v[i].key != ref[i].key || v[i].orig != ref[i].orig ||
        memcmp(v[i].pad, ref[i].pad, sizeof v[i].pad))
      same = 0;
  if (!same)
    fprintf(stderr, "n=%zu bits=%u: differs from the reference\n", n, bits);
  CHECK(same);
  free(v);
  free(ref);
  free(keys);
}

int main(void)
{
  static const size_t ns[] = {0, 1, 2, 3, 17, 1000, 65536, 200003};
  static const unsigned bits[] = {0, 1, 4, 11, 12, 22, 33, 56, 63, 64};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    for (size_t j = 0; j < sizeof bits / sizeof bits[0]; j++)
      one_case(ns[i], bits[j]);
  /* Already sorted and reversed inputs. */
  item r[5000];
  uint64_t k[5000];
  for (int i = 0; i < 5000; i++) {
    r[i].key = k[i] = 5000u - (unsigned)i;
    r[i].orig = (uint32_t)i;
  }
  CHECK_EQ(fs_sort_keyed(r, 5000, sizeof r[0], k), 0);
  for (int i = 0; i < 5000; i++) CHECK_EQ(r[i].key, (uint64_t)i + 1);
  return CHECK_DONE("test_sort");
}

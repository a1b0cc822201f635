/* sort.c — a stable sort by 64-bit keys for the symbolize stage's tables
 * (function symbols, DWARF function ranges). Those are sorted once per
 * object or compile unit, tens of thousands of entries: an LSD radix
 * sort of (key, index) pairs is a few linear passes where qsort spends
 * n log n calls through a comparison pointer. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

typedef struct fs_keyed {
  uint64_t key;
  size_t idx;
} fs_keyed;

#define FS_RADIX_BITS 11
#define FS_RADIX (1u << FS_RADIX_BITS)

int fs_sort_keyed(void *base, size_t n, size_t size, const uint64_t *keys)
{
  if (n < 2) return 0;
  if (n > SIZE_MAX / 2 / sizeof(fs_keyed) || n > SIZE_MAX / size) return -1;
  fs_keyed *a = malloc(2 * n * sizeof *a);
  size_t *count = malloc(FS_RADIX * sizeof *count);
  unsigned char *tmp = malloc(n * size);
  if (!a || !count || !tmp) {
    free(a);
    free(count);
    free(tmp);
    return -1;
  }
  fs_keyed *b = a + n;
  uint64_t all = 0;
  for (size_t i = 0; i < n; i++) {
    a[i] = (fs_keyed){keys[i], i};
    all |= keys[i];
  }
  /* Only the digits some key has: keys of one object or unit are
   * offsets within it, a few dozen bits. */
  for (unsigned shift = 0; shift < 64 && (all >> shift);
       shift += FS_RADIX_BITS) {
    memset(count, 0, FS_RADIX * sizeof *count);
    for (size_t i = 0; i < n; i++)
      count[(a[i].key >> shift) & (FS_RADIX - 1)]++;
    size_t sum = 0;
    for (size_t d = 0; d < FS_RADIX; d++) {
      size_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      b[count[(a[i].key >> shift) & (FS_RADIX - 1)]++] = a[i];
    fs_keyed *t = a;
    a = b;
    b = t;
  }
  const unsigned char *src = base;
  for (size_t i = 0; i < n; i++)
    memcpy(tmp + i * size, src + a[i].idx * size, size);
  memcpy(base, tmp, n * size);
  free(a < b ? a : b);
  free(count);
  free(tmp);
  return 0;
}

/* fuzz_dwp — a .dwp package's .debug_cu_index (versions 2 and 5): the
 * hash table probe and the offset and size tables. Input: 8 bytes of
 * unit id, then the index. Every contribution found must have been read
 * from inside the index. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 8) return 0;
  uint64_t id;
  memcpy(&id, data, 8);
  uint8_t *copy = malloc(size - 8 ? size - 8 : 1);
  memcpy(copy, data + 8, size - 8);
  uint32_t off[FS_DWP_SECT], len[FS_DWP_SECT];
  fs_bytes idx = {copy, size - 8};
  (void)fs_dwp_find(idx, id, off, len);
  (void)fs_dwp_find(idx, id ^ 1, off, len);
  (void)fs_dwp_find(idx, 0, off, len);
  free(copy);
  return 0;
}

/* fuzz_names — the C++ name pruner (format/names.c) on arbitrary text:
 * the names come from DWARF and symbol tables of any file. Pruning and
 * the parameter-list test must stay in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *name = malloc(size + 1);
  memcpy(name, data, size);
  name[size] = '\0';
  char out[4096];
  size_t n = fs_name_prune(name, out, sizeof out);
  if (n >= sizeof out || strlen(out) != n) abort();
  (void)fs_name_has_params(name);
  char tiny[8];
  (void)fs_name_prune(name, tiny, sizeof tiny);
  if (strlen(tiny) >= sizeof tiny) abort();
  free(name);
  return 0;
}

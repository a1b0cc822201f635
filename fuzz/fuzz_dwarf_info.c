/* fuzz_dwarf_info — the DIE/abbrev parser, CU index and lookup on
 * arbitrary sections. Input: 8 bytes of lookup address, then for each
 * section of fs_dwarf_sections in order a 4-byte little-endian length and
 * that many bytes (missing sections are empty). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/dwarf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 8) return 0;
  uint64_t addr;
  memcpy(&addr, data, 8);
  data += 8;
  size -= 8;
  fs_dwarf_sections s;
  fs_bytes *slot[] = {&s.info,     &s.abbrev,      &s.line, &s.str,
                      &s.line_str, &s.str_offsets, &s.addr, &s.ranges,
                      &s.rnglists, &s.aranges};
  memset(&s, 0, sizeof s);
  for (int i = 0; i < 10 && size >= 4; i++) {
    uint32_t n;
    memcpy(&n, data, 4);
    data += 4;
    size -= 4;
    if (n > size) n = (uint32_t)size;
    /* a private copy so reads past the section end are caught by ASan */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    *slot[i] = (fs_bytes){copy, n};
    data += n;
    size -= n;
  }
  fs_dwarf *d = fs_dwarf_create(&s, 1 << 16, NULL);
  if (d) {
    fs_dwarf_frame fr[16];
    for (uint64_t k = 0; k < 64; k += 4) fs_dwarf_lookup(d, addr + k, fr, 16);
    fs_dwarf_lookup(d, addr, fr, 16);
    (void)fs_dwarf_error(d);
    fs_dwarf_free(d);
  }
  for (int i = 0; i < 10; i++) free((void *)slot[i]->p);
  return 0;
}

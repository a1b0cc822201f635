/* fuzz_dwarf_info — the DIE/abbrev parser, CU index and lookup on
 * arbitrary sections, with a supplementary (dwz) file and a split unit's
 * sections. Input: 8 bytes of lookup address, then for each section a
 * 4-byte little-endian length and that many bytes (missing sections are
 * empty): the 10 of fs_dwarf_sections in order; the supplementary file's
 * .debug_info, .debug_abbrev, .debug_str; a split unit's .debug_info.dwo,
 * .debug_abbrev.dwo, .debug_line.dwo, .debug_str.dwo,
 * .debug_str_offsets.dwo, .debug_rnglists.dwo (handed out for every
 * skeleton unit). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/dwarf.h"

#define NSEC 19

static fs_dwarf_sections dwo;

static int find_dwo(void *arg, const fs_dwo_ref *ref, fs_dwarf_sections *out)
{
  (void)arg;
  (void)ref;
  if (!dwo.info.p) return 0;
  *out = dwo;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 8) return 0;
  uint64_t addr;
  memcpy(&addr, data, 8);
  data += 8;
  size -= 8;
  fs_dwarf_sections s, sup;
  memset(&s, 0, sizeof s);
  memset(&sup, 0, sizeof sup);
  memset(&dwo, 0, sizeof dwo);
  fs_bytes *slot[NSEC] = {
      &s.info,        &s.abbrev,   &s.line,          &s.str,       &s.line_str,
      &s.str_offsets, &s.addr,     &s.ranges,        &s.rnglists,  &s.aranges,
      &sup.info,      &sup.abbrev, &sup.str,         &dwo.info,    &dwo.abbrev,
      &dwo.line,      &dwo.str,    &dwo.str_offsets, &dwo.rnglists};
  for (int i = 0; i < NSEC && size >= 4; i++) {
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
  if (sup.info.n || sup.str.n) s.sup = &sup;
  fs_dwarf *d = fs_dwarf_create(&s, 1 << 16, NULL);
  if (d) {
    fs_dwarf_set_dwo(d, find_dwo, NULL);
    fs_dwarf_frame fr[16];
    for (uint64_t k = 0; k < 64; k += 4) fs_dwarf_lookup(d, addr + k, fr, 16);
    fs_dwarf_lookup(d, addr, fr, 16);
    (void)fs_dwarf_error(d);
    fs_dwarf_free(d);
  }
  for (int i = 0; i < NSEC; i++) free((void *)slot[i]->p);
  return 0;
}

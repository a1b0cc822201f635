/* fuzz_dwarf_line — the line-number program decoder. The input is the
 * .debug_line section; a fixed one-unit .debug_info whose CU covers all
 * addresses points at offset 0, so every lookup decodes the program.
 * The first 8 bytes pick the lookup address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/dwarf.h"

/* DWARF 4 CU: DW_TAG_compile_unit, stmt_list=0, low_pc=0, high_pc=~0. */
static const uint8_t info[] = {
    0x1f, 0,    0,    0,    4,    0,    0,    0,    0, 0, 8, 1,
    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0};
static const uint8_t abbrev[] = {1,    0x11, 0,    0x10, 0x17, 0x11,
                                 0x01, 0x12, 0x07, 0,    0,    0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 8) return 0;
  uint64_t addr;
  memcpy(&addr, data, 8);
  uint8_t *line = malloc(size - 8 ? size - 8 : 1);
  memcpy(line, data + 8, size - 8);
  fs_dwarf_sections s;
  memset(&s, 0, sizeof s);
  s.info = (fs_bytes){info, sizeof info};
  s.abbrev = (fs_bytes){abbrev, sizeof abbrev};
  s.line = (fs_bytes){line, size - 8};
  fs_dwarf *d = fs_dwarf_create(&s, 0, NULL);
  if (d) {
    fs_dwarf_frame fr[4];
    for (uint64_t k = 0; k < 32; k += 2) fs_dwarf_lookup(d, addr + k, fr, 4);
    fs_dwarf_free(d);
  }
  free(line);
  return 0;
}

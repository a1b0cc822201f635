/* fuzz_elf — the ELF reader on an arbitrary image: section headers and
 * names, compressed sections (zlib, zstd, .zdebug), a relocatable
 * object's placed sections and .rela.debug_* relocations, build-id
 * notes, .gnu_debuglink and .gnu_debugaltlink/.debug_sup, MiniDebugInfo
 * (xz), the function and data symbol tables, and the DWARF index built
 * from the image's debug sections with a few lookups, all within a
 * small decompression budget. Input: the image itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/dwarf.h"
#include "symbolize/elf.h"

extern size_t fs_elf_max_section;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* Keep a crafted size claim from taking the fuzzer's memory. */
  fs_elf_max_section = (size_t)16 << 20;
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  fs_elf e;
  fs_budget budget;
  atomic_init(&budget.left, (uint64_t)32 << 20);
  if (fs_elf_from_memory(&e, copy, size, NULL) == 0) {
    fs_elf_set_budget(&e, &budget);
    uint8_t id[64];
    (void)fs_elf_build_id(&e, id, sizeof id);
    const char *link;
    uint32_t crc;
    (void)fs_elf_debuglink(&e, &link, &crc);
    const uint8_t *sum;
    unsigned sn;
    (void)fs_elf_altlink(&e, &link, &sum, &sn);
    (void)fs_elf_sup_checksum(&e, &sum, &sn);
    fs_elf mini;
    if (fs_elf_minidebuginfo(&e, &mini, NULL)) {
      fs_symtab mt;
      if (fs_elf_symtab(&mini, &mt) == 0) fs_symtab_free(&mt);
      fs_elf_close(&mini);
    }
    fs_symtab t;
    if (fs_elf_data_symtab(&e, &t) == 0) {
      for (size_t i = 0; i < t.n && i < 16; i++)
        (void)fs_symtab_find(&t, t.syms[i].addr + 1);
      fs_symtab_free(&t);
    }
    if (fs_elf_symtab(&e, &t) == 0) {
      for (size_t i = 0; i < t.n && i < 16; i++)
        (void)fs_symtab_find(&t, t.syms[i].addr + 1);
      fs_symtab_free(&t);
    }
    static const char *const names[] = {
        ".debug_info",     ".debug_abbrev",      ".debug_line", ".debug_str",
        ".debug_line_str", ".debug_str_offsets", ".debug_addr", ".debug_ranges",
        ".debug_rnglists", ".debug_aranges"};
    fs_dwarf_sections s;
    fs_bytes *slot[] = {&s.info,     &s.abbrev,      &s.line, &s.str,
                        &s.line_str, &s.str_offsets, &s.addr, &s.ranges,
                        &s.rnglists, &s.aranges};
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 10; i++)
      (void)fs_elf_section(&e, names[i], slot[i], NULL);
    fs_dwarf *d = fs_dwarf_create(&s, 1 << 20, NULL);
    if (d) {
      fs_dwarf_frame f[8];
      for (uint64_t a = 0; a < 0x2000; a += 0x101)
        (void)fs_dwarf_lookup(d, a, f, 8);
      fs_dwarf_free(d);
    }
    fs_elf_close(&e);
  }
  free(copy);
  return 0;
}

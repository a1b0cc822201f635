/* dwarf.h — the DWARF reader's interface (dwarf.c), used by the
 * symbolizer glue (symbolize.c). The reader knows nothing about ELF: it is
 * handed the raw bytes of the debug sections (already decompressed) and
 * answers "which function(s), file and line hold this address".
 *
 * Design: nothing is decoded up front. fs_dwarf_create only indexes which
 * compile unit covers which address range (from .debug_aranges, else the
 * CU DIEs' low_pc/high_pc/ranges). A CU's line table and its
 * subprogram/inline tree are decoded on the first lookup that falls in it,
 * into compact sorted arrays, and kept under a memory budget with LRU
 * eviction. All reads are bounds-checked: corrupt input makes lookups
 * return 0 (unknown) and sets a message, never crashes, hangs or allocates
 * without bound. */
#ifndef FASTSTACK_DWARF_H
#define FASTSTACK_DWARF_H

#include <stddef.h>
#include <stdint.h>

/* A byte range; p == NULL or n == 0 means absent. */
typedef struct fs_bytes {
  const uint8_t *p;
  size_t n;
} fs_bytes;

/* The sections the reader uses. Every buffer must stay valid and
 * unchanged for the life of the fs_dwarf. */
typedef struct fs_dwarf_sections {
  fs_bytes info, abbrev, line, str, line_str, str_offsets, addr, ranges,
      rnglists, aranges;
  /* The supplementary (dwz alternate) file's sections, or NULL: what
   * DW_FORM_GNU_strp_alt/strp_sup and GNU_ref_alt/ref_sup4/8 point into.
   * Its own sup is ignored (a supplementary file has none). */
  const struct fs_dwarf_sections *sup;
} fs_dwarf_sections;

typedef struct fs_dwarf fs_dwarf;

/* One frame of a lookup. Every string points into the section buffers
 * (so it lives as long as they do) or is NULL when unknown. */
typedef struct fs_dwarf_frame {
  const char *name;         /* DW_AT_name of the (inlined) function */
  const char *linkage_name; /* DW_AT_linkage_name (mangled), if any */
  const char *comp_dir;     /* the CU's DW_AT_comp_dir */
  const char *dir;          /* the line table's directory of the file */
  const char *file;         /* the file name */
  int line, column;
  int inlined;          /* 1: inlined call; caller is the next frame */
  uint64_t func_low_pc; /* entry of the physical function; 0 unknown */
  const uint8_t *md5;   /* DWARF 5 MD5 of the file (16 bytes) or NULL */
  /* A C++ name recorded without a linkage name (an inlined lambda's
   * "operator()", a template instance's "for_each<...>") is qualified by
   * the DIEs around it: scope_linkage is the enclosing function's
   * linkage name (NULL: none), then scope[0..nscope) the classes and
   * namespaces inside it, outermost first; NULL stands for a class
   * without a name (a lambda's closure). */
  const char *scope_linkage;
  const char *scope[6];
  int nscope;
} fs_dwarf_frame;

/* Indexes the compile units. Returns NULL when memory runs out or there
 * is no usable .debug_info (then *err, if err, names the reason).
 * cache_bytes bounds the memory of decoded CUs (0: 64 MiB). */
fs_dwarf *fs_dwarf_create(const fs_dwarf_sections *s, size_t cache_bytes,
                          const char **err);
void fs_dwarf_free(fs_dwarf *d);

/* Frames for address addr (module-relative, exact: the caller already
 * applied pc-1), innermost first: inlined calls, then the physical
 * function, whose file/line are those of addr; an inlined frame's caller
 * gets the call site's file/line. Returns the number stored in
 * frames[0..max); 0 when no CU covers addr or its data is corrupt.
 * Thread-safe. */
int fs_dwarf_lookup(fs_dwarf *d, uint64_t addr, fs_dwarf_frame *frames,
                    int max);

/* Split DWARF: what a skeleton unit records of its split unit. */
typedef struct fs_dwo_ref {
  const char *dwo_name; /* DW_AT_dwo_name / DW_AT_GNU_dwo_name */
  const char *comp_dir; /* the skeleton's DW_AT_comp_dir, or NULL */
  uint64_t dwo_id;      /* the unit's id (header or DW_AT_GNU_dwo_id) */
  int version;          /* 5: a DWARF 5 skeleton; 4: the GNU extension */
} fs_dwo_ref;

/* Finds the sections holding ref's split unit — a .dwo file's
 * .debug_*.dwo, or a .dwp package's contributions for the unit — into
 * *out (info, abbrev, line, str, str_offsets, rnglists; the rest is taken
 * from the skeleton's file). Their buffers must live as long as the
 * fs_dwarf. 1 found, 0 not. Called without the reader's lock, from any
 * thread that decodes a skeleton unit. */
typedef int (*fs_dwo_fn)(void *arg, const fs_dwo_ref *ref,
                         fs_dwarf_sections *out);

/* Sets where split units are looked for (before the first lookup). */
void fs_dwarf_set_dwo(fs_dwarf *d, fs_dwo_fn fn, void *arg);

/* The last problem met (corrupt unit, unknown form), for people; "" if
 * none. The string is owned by d. */
const char *fs_dwarf_error(fs_dwarf *d);

#endif

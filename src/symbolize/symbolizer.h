/* symbolizer.h — the symbolize stage's own declarations, shared by its
 * files: debugfile.c (finding separate debug files), symfile.c (one ELF
 * object's symbolization state and its lifecycle), frames.c (frame
 * strings: demangling, paths, the DWARF and symbol-table answer),
 * pccache.c (the PC cache and its arena) and symbolize.c (the public
 * API). Private to symbolize/. */
#ifndef FASTSTACK_SYMBOLIZER_H
#define FASTSTACK_SYMBOLIZER_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "symbolize/dwarf.h"
#include "symbolize/symbolize.h"

/* Objects one process symbolizer follows; beyond it PCs stay unknown. */
#define FS_SYMFILES_MAX 4096

/* Split DWARF: where an object's split units are (splitdwarf.c). */
typedef struct fs_split {
  pthread_mutex_t mu; /* opening files, from decoding threads */
  char *bin_path, *dbg_path;
  int inited, dwp_tried, have_dwp;
  fs_elf dwp;               /* the .dwp package, when found */
  fs_bytes cu_index;        /* its .debug_cu_index */
  fs_dwarf_sections dwp_ds; /* its .debug_*.dwo sections */
  fs_budget *budget;        /* the symbolizer's decompression budget */
  struct fs_dwo *dwos;      /* .dwo files opened or looked for */
} fs_split;

#define FS_FALLBACK_MAX 2

typedef struct fs_symfile {
  uintptr_t start;      /* the module's load address (0 offline) */
  char *path;           /* module path as the module map names it */
  const char *path_ptr; /* the module map's pointer to it (identity) */
  char build_id[2 * FASTSTACK_BUILD_ID_MAX + 1];
  unsigned build_id_size; /* bytes (the hex string is twice as long) */
  /* A loaded module's build-id in its mapped first page (read with
   * fs_safe_copy: the object may be unloaded meanwhile) and its bytes as
   * they were: the identity a thread's hint checks (module_symfile). NULL
   * when the note is elsewhere or does not match build_id. */
  const unsigned char *mapped_id;
  unsigned char raw_id[20];
  fs_elf elf; /* the object itself */
  fs_elf dbg; /* its separate debug file, when used */
  fs_elf alt; /* the supplementary (dwz) file of its DWARF, when used */
  int have_elf, have_dbg, have_alt;
  fs_dwarf_sections dsup; /* the supplementary file's sections */
  fs_split split;         /* split DWARF: .dwo files and .dwp package */
  fs_elf mini;            /* MiniDebugInfo (.gnu_debugdata), when used */
  int have_mini;
  /* Symbol tables asked when syms has no symbol for an address: a
   * stripped binary's own .dynsym beside its debug file's .symtab, or
   * MiniDebugInfo's .symtab beside .dynsym. */
  fs_symtab fallback[FS_FALLBACK_MAX];
  int nfallback;
  /* Data symbols (STT_OBJECT, STT_TLS), read on the first data lookup
   * (under the symbolizer's lock), then only read. */
  fs_symtab data;
  _Atomic int data_ready;
  fs_dwarf *dwarf; /* NULL: no usable DWARF */
  fs_symtab syms;  /* may be empty */
} fs_symfile;

/* The PC cache (see pcc_get): answers of earlier lookups, so a warm PC
 * costs a hash probe, one record and a copy instead of a DWARF walk. */
#define FS_PCC_WAYS 8                /* slots per bucket: one cache line */
#define FS_PCC_SLOTS 32768           /* x 8 bytes, allocated on first use */
#define FS_PCC_ARENA_MAX (16u << 20) /* records and strings, then no more */
#define FS_PCC_CHUNK (64u << 10)

typedef struct pcc_frame {
  const char *function, *file; /* interned (pcc_intern), or NULL */
  const unsigned char *md5;    /* interned 16 bytes, or NULL */
  uint32_t function_offset;
  int32_t line;
  uint16_t function_len, file_len, column;
  uint8_t inlined, source;
} pcc_frame;

/* Immutable once published: readers follow the slot's pointer without
 * any lock, so a record is never changed or freed before the symbolizer
 * is. */
typedef struct pcc_rec {
  const struct fs_symfile *f;
  uint64_t addr;
  uint32_t nframes;
  pcc_frame fr[];
} pcc_rec;

/* Bump-allocated chunks holding records and interned strings. */
typedef struct pcc_chunk {
  struct pcc_chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} pcc_chunk;

struct faststack_symbolizer {
  faststack_symbolizer_options opts;
  int offline;
  uint64_t id; /* unique for the process's life (threads' hints) */
  _Atomic uint64_t *_Atomic pcc; /* FS_PCC_SLOTS tagged pointers */
  pthread_mutex_t lock;          /* opening symfiles, the error message */
  pthread_mutex_t pcc_lock;      /* inserting into the PC cache */
  pcc_chunk *chunks;             /* the PC cache's arena */
  size_t arena_bytes;
  const char **interned; /* open-addressing set of interned strings */
  size_t ninterned, intern_cap;
  pcc_rec **recs; /* every record, by (symfile, address) */
  size_t nrecs, recs_cap;
  /* Offline: addresses asked once (a bit per hash). A file symbolized
   * offline is mostly asked each address once: its answers are cached
   * from the second time on. */
  _Atomic uint64_t seen[1024];
  fs_symfile *_Atomic files[FS_SYMFILES_MAX];
  _Atomic int nfiles;
  char err[256];
  fs_budget budget; /* bytes its files may still decompress */
  /* From faststack_symbolizer_config (copied). */
  char *debug_dirs, *search_path;
  int debuginfod, debuginfod_timeout_s, debuginfod_progress;
};

/* ------------------------------------------------------- symfile.c */

/* Records a problem for faststack_symbolizer_last_error. */
void fs_symbolizer_set_error(faststack_symbolizer *s, const char *what,
                             const char *path);
/* Opens the symfile of path: module m's, or (m NULL) an offline file.
 * NULL only when memory runs out; a file that cannot be read gives a
 * symfile with have_elf 0, so it is not reopened on every lookup. */
fs_symfile *fs_symfile_new(faststack_symbolizer *s, const char *path,
                           const faststack_module *m);
void fs_symfile_free(fs_symfile *f);
/* f's data symbols, read on first use. */
const fs_symtab *fs_symfile_data(faststack_symbolizer *s, fs_symfile *f);
/* Has one of f's files shrunk under it (fs_elf_changed)? */
int fs_symfile_changed(const fs_symfile *f);
/* The symfile of module m, opened on first use; NULL past
 * FS_SYMFILES_MAX objects. */
fs_symfile *fs_symfile_for(faststack_symbolizer *s, const faststack_module *m);

/* ----------------------------------------------------- debugfile.c */

/* Finds and opens the separate debug file of the binary e read from
 * path, into *out: GDB's order (the build-id directory under each debug
 * root — dirs, colon-separated, first — then the .gnu_debuglink name
 * next to the binary, in its .debug/, and under each debug root). 1 found (its path in found[0..cap)), 0
 * not. */
int fs_debug_file_find(const fs_elf *e, const char *path, const char *dirs,
                       fs_elf *out, char *found, size_t cap);
/* Finds and opens the supplementary file (dwz's alternate file) the
 * debug information dbg read from dbg_path links to: the linked path
 * (relative paths from dbg_path's folder), then under each debug root
 * (dirs first, then FASTSTACK_DEBUG_ROOT or /usr/lib/debug)
 * (the path below /usr/lib/debug, its .dwz/ part, .dwz/NAME, and the
 * build-id directory). Its build-id must be the one recorded. 1 found. */
int fs_alt_file_find(const fs_elf *dbg, const char *dbg_path, const char *dirs,
                     fs_elf *out);
/* Calls fn(dir, len, arg) for each folder of a colon-separated list
 * (NULL: none) until it returns 1; returns 1 then, else 0. */
int fs_each_dir(const char *list, int (*fn)(const char *, size_t, void *),
                void *arg);
/* The file of a module a trace names (path as recorded, build-id in hex
 * or NULL), into out[0..cap): path itself when its build-id matches,
 * else in each search_path folder DIR/.build-id/xx/yyyy[.debug] and
 * DIR/BASENAME (build-id matching when known), else the build-id's debug
 * file under the debug roots (debug_dirs first). 1 found. */
int fs_module_file_find(const char *path, const char *build_id,
                        const char *search_path, const char *debug_dirs,
                        char *out, size_t cap);

/* ---------------------------------------------------- splitdwarf.c */

/* Columns kept from a .debug_cu_index row: DW_SECT_* ids below this. */
#define FS_DWP_SECT 9

/* The row of unit id in a .dwp's .debug_cu_index (version 2 or 5): each
 * section's contribution (offset, size) by DW_SECT_* id; 0 when absent
 * or the index is corrupt. */
int fs_dwp_find(fs_bytes cu_index, uint64_t id, uint32_t off[FS_DWP_SECT],
                uint32_t size[FS_DWP_SECT]);
/* Sets up sp for the binary at bin_path and its debug file (or NULL). */
void fs_split_init(fs_split *sp, const char *bin_path, const char *dbg_path,
                   fs_budget *budget);
void fs_split_free(fs_split *sp);
/* An fs_dwo_fn (dwarf.h) over sp: the .dwp, else the .dwo file. */
int fs_split_find(void *sp, const fs_dwo_ref *ref, fs_dwarf_sections *out);

/* -------------------------------------------------------- frames.c */

/* Strings of one call, packed into the caller's buffer. */
typedef struct strw {
  char *buf;
  size_t cap, len;
  int overflow; /* the current string did not fit */
  int lost;     /* some string did not fit: the answer is incomplete */
} strw;

/* The n bytes at s as one string in w, or NULL (s NULL, or no room for
 * them and the NUL: then w->lost). Inline: a PC-cache hit copies its
 * names with it. */
static inline const char *fs_strw_strn(strw *w, const char *s, size_t n)
{
  if (!s) return NULL;
  if (n < w->cap - w->len) {
    char *d = w->buf + w->len;
    memcpy(d, s, n);
    d[n] = '\0';
    w->len += n + 1;
    return d;
  }
  w->lost = 1;
  return NULL;
}
/* A symbol's name as people read it: C++ names demangled unless the
 * symbolizer keeps them mangled. Into w, or NULL. */
const char *fs_strw_symbol(faststack_symbolizer *s, strw *w, const char *name);
/* Frames of module-relative address addr in f, innermost first, with
 * their strings in w; 0 when f knows nothing of addr. */
int fs_symfile_frames(faststack_symbolizer *s, fs_symfile *f, uint64_t addr,
                      faststack_frame *out, int max, strw *w);

/* ------------------------------------------------------- pccache.c */

/* The cached answer of (f, a) into out (strings into w): its frame
 * count, or 0 when not cached. */
int fs_pcc_get(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
               faststack_frame *out, int max, strw *w);
/* Caches a complete answer (when it fits a record and the arena). */
void fs_pcc_put(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                const faststack_frame *fr, int n);
/* Offline symbolizers: has addr been asked before? */
int fs_pcc_seen(faststack_symbolizer *s, uint64_t addr);
/* Frees the cache and its arena (with the symbolizer). */
void fs_pcc_free(faststack_symbolizer *s);

#endif /* FASTSTACK_SYMBOLIZER_H */

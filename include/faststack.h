/*
 * faststack.h — Go-quality stack traces for C and C++ on Linux.
 *
 * This header is the manual. The library is organised as a one-way pipeline
 * of stages, each usable on its own:
 *
 *   capture   -> program counters of a thread, async-signal-safe, no allocation
 *   modules   -> which loaded ELF object holds a PC, its bias, path, build-id
 *   symbolize -> function, file, line and inline chain of a PC     (later)
 *   annotate  -> the source line at a frame                        (later)
 *   format    -> Go-style, gin-style, JSON, raw text
 *   sinks     -> crash handler, thread dumps, recovery, profiles   (later)
 *
 * Conventions used throughout:
 *   - Every exported name starts with faststack_ or FASTSTACK_.
 *   - Each function's comment begins with [AS-safe] or [not AS-safe].
 *     [AS-safe] functions are async-signal-safe: they may be called from
 *     a signal handler, including one for a crash. They never call
 *     malloc, stdio or dl_iterate_phdr, and take no lock a signal could
 *     interrupt. [not AS-safe] functions must not be called from a
 *     handler. (scripts/as_tags.py, run by the test suite, checks that
 *     every function has exactly one tag.)
 *   - Output buffers are owned by the caller, with an explicit capacity.
 *   - Bad arguments (NULL pointers, negative counts) make a function return
 *     0 or a negative error; they never crash.
 *   - A published signature never changes; new behaviour gets a new name.
 */
#ifndef FASTSTACK_H
#define FASTSTACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FASTSTACK_VERSION_MAJOR 0
#define FASTSTACK_VERSION_MINOR 1
#define FASTSTACK_VERSION_PATCH 0
#define FASTSTACK_VERSION_STRING "0.1.0"
/* MAJOR*10000 + MINOR*100 + PATCH, for #if comparisons. */
#define FASTSTACK_VERSION_NUMBER                                               \
  (FASTSTACK_VERSION_MAJOR * 10000 + FASTSTACK_VERSION_MINOR * 100 +           \
   FASTSTACK_VERSION_PATCH)

#if defined(__GNUC__) && !defined(FASTSTACK_NO_VISIBILITY)
#define FASTSTACK_API __attribute__((visibility("default")))
#else
#define FASTSTACK_API
#endif

/* [AS-safe] The library's version as "MAJOR.MINOR.PATCH". The string is
 * static: valid for the life of the process. It may differ from
 * FASTSTACK_VERSION_STRING when a program runs against a newer shared
 * library than the header it was compiled with. */
FASTSTACK_API const char *faststack_version(void);

/* [AS-safe] FASTSTACK_VERSION_NUMBER of the library actually loaded. */
FASTSTACK_API unsigned faststack_version_number(void);

/* ======================================================================
 * Capture
 * ====================================================================== */

/* [AS-safe] Stores in pcs[0..max) the return addresses of the calling
 * thread's frames, innermost first. pcs[0] is the return address into the
 * caller of faststack_capture (so it lies inside the caller's function)
 * when skip == 0; skip > 0 drops that many further frames first.
 * Returns the number of entries stored (0 when pcs == NULL, max <= 0 or
 * skip < 0). Allocates nothing, takes no lock.
 *
 * Every entry except the first of a ucontext capture is a return address:
 * it points just past a call instruction. Symbolizers look it up at pc-1.
 * Where the walk crosses a signal frame, the interrupted PC is stored as
 * pc+1 so that the same pc-1 rule finds the exact instruction.
 *
 * The walk validates every frame (inside this thread's stack, aligned,
 * strictly moving up, return address inside a loaded object) and ends at
 * the first frame that fails; it never faults, even on a smashed stack.
 * A stack is the thread's own (cached per thread), its alternate signal
 * stack, or another mapping that is one: the main thread's "[stack]", or
 * anonymous memory right above a PROT_NONE guard page (thread stacks,
 * guarded fiber stacks). A stack pointer anywhere else (the heap, a
 * smashed register, a fiber stack from malloc) is not walked: frames may
 * be missing, never made up. The strategy (frame pointers or DWARF CFI)
 * is chosen per frame; see docs/ARCHITECTURE.md. */
FASTSTACK_API int faststack_capture(uintptr_t *pcs, int max, int skip);

/* [AS-safe] Like faststack_capture, but starting from the registers saved
 * in a signal handler's ucontext (the third argument of an SA_SIGINFO
 * handler; pass it as is). pcs[0] is the interrupted PC itself — the
 * faulting instruction for SIGSEGV — and is not a return address; the
 * remaining entries are the return addresses of its callers. Returns the
 * number stored; 0 when ucontext or pcs is NULL or max <= 0. */
FASTSTACK_API int faststack_capture_ucontext(const void *ucontext,
                                             uintptr_t *pcs, int max);

/* ======================================================================
 * Modules
 * ====================================================================== */

/* Longest GNU build-id kept, in bytes (SHA-1 ids are 20, others <= 64). */
#define FASTSTACK_BUILD_ID_MAX 64

/* One loaded ELF object: the executable, a shared library or the vDSO. */
typedef struct faststack_module {
  /* The object's file path. For the executable, the resolved path of
   * /proc/self/exe; for the vDSO, "linux-vdso.so.1"; "" if not known.
   * Lifetime: from faststack_modules_list, the life of the process (each
   * distinct path is kept once, so memory grows only with the number of
   * different objects ever loaded); from faststack_module_find, the same
   * for an object listed by the last refresh, otherwise the loader's own
   * string, valid until the object is dlclose'd. */
  const char *path;
  /* Load bias: the module-relative address (ELF virtual address, what
   * addr2line expects) of a PC is pc - bias. 0 for non-PIE executables. */
  uintptr_t bias;
  /* [start, end): the address range the object's segments occupy. */
  uintptr_t start, end;
  /* Bytes of the GNU build-id, 0 when the object has none. */
  unsigned build_id_size;
  /* The build-id in lowercase hex, NUL-terminated; "" when none. */
  char build_id[2 * FASTSTACK_BUILD_ID_MAX + 1];
} faststack_module;

/* [AS-safe] Finds the loaded object that contains pc and fills *out.
 * Returns 1 when found, 0 when pc is in no loaded object (or out is NULL).
 * Uses glibc's _dl_find_object (lock-free) and reads the build-id from the
 * module snapshot or the object's mapped program headers. Safe while
 * other threads dlopen and dlclose: the mapped headers are read with
 * fault-safe copies, and an object unloaded while it is looked at is not
 * found (0), never reported with another object's data. */
FASTSTACK_API int faststack_module_find(uintptr_t pc, faststack_module *out);

/* [not AS-safe] Lists the loaded objects into out[0..max), in load
 * order, and returns how many objects are loaded (which may exceed max;
 * call again with a larger array). Refreshes the module snapshot first
 * when objects were loaded or unloaded since the last refresh. */
FASTSTACK_API int faststack_modules_list(faststack_module *out, int max);

/* [not AS-safe] Rebuilds the module snapshot if any object was loaded or
 * unloaded since the last refresh (cheap otherwise). Returns the number
 * of objects, or -1 when memory ran out. Call it after dlopen if
 * signal-context lookups should use the fast snapshot path for the new
 * object. */
FASTSTACK_API int faststack_modules_refresh(void);

/* ======================================================================
 * Symbolize
 * ====================================================================== */

/* One frame of a symbolized PC. A PC expands to one or more frames:
 * inlined calls innermost first, then the function that physically holds
 * the PC. Unknown fields are NULL or 0 — never a guess.
 * Lifetime of the strings: function and file live in the strbuf passed to
 * faststack_symbolize, valid until the caller reuses or frees it; module
 * and build_id are owned by the symbolizer, valid until it is freed (the
 * default symbolizer's: for the process's life). */
typedef struct faststack_frame {
  const char *function;      /* demangled for C++; NULL if unknown */
  const char *file;          /* full path (comp_dir/dir/name); NULL */
  int line;                  /* 1-based; 0 if unknown */
  int column;                /* 1-based; 0 if unknown */
  int inlined;               /* 1: an inlined call; its caller is the next
                                frame of the same PC */
  const char *module;        /* module path; NULL if unknown */
  const char *build_id;      /* module build-id in hex; NULL if none */
  uintptr_t pc;              /* the PC as passed in */
  uintptr_t module_offset;   /* module-relative address looked up (after
                                the pc-1 adjustment for return addresses) */
  uintptr_t function_offset; /* looked-up address minus the start of the
                                physical function; 0 if unknown */
  unsigned source;           /* FASTSTACK_SRC_* : where the name came from */
  int file_md5_valid;        /* 1: file_md5 holds the MD5 of the source
                                file as compiled (DWARF 5 line tables) */
  unsigned char file_md5[16];
} faststack_frame;

#define FASTSTACK_SRC_NONE 0u   /* nothing known */
#define FASTSTACK_SRC_DWARF 1u  /* DWARF debug info */
#define FASTSTACK_SRC_SYMTAB 2u /* .symtab */
#define FASTSTACK_SRC_DYNSYM 3u /* .dynsym */

/* Flag bit 0x1, one meaning under two names: the PC — of a list of PCs,
 * pcs[0] — is exact (the interrupted instruction of a ucontext capture,
 * or a module offset typed by a person), not a return address, so it is
 * looked up as is rather than at pc-1. FASTSTACK_PC_EXACT is the name
 * faststack_symbolize's flags use for its one PC; FASTSTACK_PCS_UCONTEXT
 * (below, with the formatters) the name for lists of PCs: the formatters,
 * the stack table, recovery reports. They are the same bit; either name
 * may be used anywhere, and FASTSTACK_PCS_UCONTEXT is defined as
 * FASTSTACK_PC_EXACT. No other flag bit is defined. */
#define FASTSTACK_PC_EXACT 0x1u

typedef struct faststack_symbolizer faststack_symbolizer;

typedef struct faststack_symbolizer_options {
  /* Memory budget for decoded compile units, in bytes; 0 = default
   * (64 MiB). Least recently used units are evicted beyond it. */
  size_t cache_bytes;
  /* Non-zero: do not demangle C++ names. */
  int no_demangle;
} faststack_symbolizer_options;

/* [not AS-safe] Creates a symbolizer for the running process: PCs are
 * absolute addresses, mapped to modules through the module map. opts may
 * be NULL. Returns NULL only when memory runs out. Free with
 * faststack_symbolizer_free. */
FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_create(const faststack_symbolizer_options *opts);

/* [not AS-safe] Creates a symbolizer for one ELF file on disk (offline
 * use): PCs are module-relative addresses (ELF virtual addresses, what
 * addr2line takes). Returns NULL when the file cannot be opened or is not
 * ELF; then *error (if error != NULL) points to a static message. */
FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open(const char *elf_path,
                          const faststack_symbolizer_options *opts,
                          const char **error);

/* [not AS-safe] Frees a symbolizer and everything it holds. NULL is
 * ignored. No other thread may be using it. */
FASTSTACK_API void faststack_symbolizer_free(faststack_symbolizer *s);

/* [not AS-safe] The process-wide symbolizer of the running process,
 * created on first use with default options and never freed. */
FASTSTACK_API faststack_symbolizer *faststack_default_symbolizer(void);

/* [not AS-safe] Symbolizes one PC into frames[0..max), strings into
 * strbuf[0..strcap). Returns the number of frames stored (>= 1 whenever
 * max >= 1: an unknown PC gives one frame with NULL names), or a negative
 * value on bad arguments. Return addresses are looked up at pc-1 unless
 * flags has FASTSTACK_PC_EXACT. If strbuf is too small, names that do not
 * fit are NULL. Thread-safe; allocates nothing once the PC's compile unit
 * is decoded. */
FASTSTACK_API int faststack_symbolize(faststack_symbolizer *s, uintptr_t pc,
                                      unsigned flags, faststack_frame *frames,
                                      int max, char *strbuf, size_t strcap);

/* [not AS-safe] A message describing the last error the symbolizer met
 * (a corrupt section, a missing debug file), or "" — for people, not
 * programs. The text is the calling thread's own copy, taken under the
 * symbolizer's lock, so other threads recording errors meanwhile never
 * change it under the caller: valid in this thread until its next call of
 * faststack_symbolizer_last_error (on any symbolizer) or its exit. */
FASTSTACK_API const char *
faststack_symbolizer_last_error(faststack_symbolizer *s);

/* Where a symbolizer looks for debug information, beyond
 * faststack_symbolizer_options. Zero-initialize it: every field's zero is
 * the default, and fields added later take space from reserved, so a
 * caller built against this header keeps working. */
typedef struct faststack_symbolizer_config {
  faststack_symbolizer_options base; /* as for faststack_symbolizer_open */
  /* Debug roots, colon-separated, searched before FASTSTACK_DEBUG_ROOT
   * (default /usr/lib/debug) the way that is: ROOT/.build-id/xx/yyyy.debug,
   * .gnu_debuglink names, dwz files under ROOT/.dwz/. NULL: none. */
  const char *debug_dirs;
  /* Folders, colon-separated, where faststack_symbolizer_open_module
   * looks for a module that is not at its recorded path (a trace from
   * another host): DIR/.build-id/xx/yyyy[.debug] by build-id, then
   * DIR/NAME by the module's base name (its build-id must match, when
   * known). Like pprof's PPROF_BINARY_PATH. NULL: none. */
  const char *search_path;
  /* debuginfod: 1 fetches debug files (and, for
   * faststack_sources_use_debuginfod, sources) by build-id from the
   * servers in DEBUGINFOD_URLS through elfutils' libdebuginfod, loaded
   * at run time (faststack works without it), sharing its cache with
   * gdb (DEBUGINFOD_CACHE_PATH, else its default). 0 or -1: never (a
   * program printing its own trace never waits on the network unless
   * asked). */
  int debuginfod;
  int debuginfod_timeout_s; /* per download; 0: 30 s */
  /* A progress line on stderr while downloading: 1 always, 0 when stderr
   * is a terminal, -1 never. */
  int debuginfod_progress;
  /* Bytes all files of the symbolizer may decompress together (zlib,
   * zstd, xz); 0: 4 GiB. Each file may also decompress at most 32 times
   * its size (at least 64 MiB). */
  uint64_t max_decompressed;
  void *reserved[8]; /* zero */
} faststack_symbolizer_config;

/* [not AS-safe] faststack_symbolizer_create with a configuration (NULL:
 * defaults). Returns NULL only when memory runs out. */
FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_create_config(const faststack_symbolizer_config *c);

/* [not AS-safe] faststack_symbolizer_open with a configuration (NULL:
 * defaults): the file's separate debug file is also looked for under
 * c->debug_dirs and, with c->debuginfod, fetched by build-id. */
FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open_config(const char *elf_path,
                                 const faststack_symbolizer_config *c,
                                 const char **error);

/* [not AS-safe] Opens the module a trace names — possibly recorded on
 * another host — for offline use: path as recorded (it need not exist here) and its
 * build-id in hex (NULL or "" if unknown). Tried in order: path itself
 * when its build-id matches; each c->search_path folder by build-id and
 * by base name; the build-id's debug file under the debug roots; with
 * c->debuginfod, the debug file fetched by build-id. Returns NULL when
 * nothing is found (then *error says so); the path of the file read is
 * faststack_symbolizer_path. */
FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open_module(const char *path, const char *build_id,
                                 const faststack_symbolizer_config *c,
                                 const char **error);

/* [not AS-safe] The file an offline symbolizer reads (what
 * faststack_symbolizer_open or _open_module opened), or NULL for a
 * process symbolizer. Valid until s is freed. */
FASTSTACK_API const char *faststack_symbolizer_path(faststack_symbolizer *s);

/* A data address: the variable (STT_OBJECT) or thread-local variable
 * (STT_TLS) that holds it. */
typedef struct faststack_data_symbol {
  const char *name;   /* as in the symbol table (C++ demangled unless
                       no_demangle); in strbuf; NULL if unknown */
  uintptr_t start;    /* the symbol's address: absolute for a process
                       symbolizer, module-relative offline; for STT_TLS
                       the address of its initial value in the module's
                       TLS image (PT_TLS), not a thread's copy */
  uintptr_t size;     /* its size in bytes (0 if the table says none) */
  uintptr_t offset;   /* the address minus start */
  int tls;            /* 1: a thread-local variable */
  const char *module; /* owned by the symbolizer; NULL if unknown */
} faststack_data_symbol;

/* [not AS-safe] Names the data symbol holding addr (absolute for a
 * process symbolizer, module-relative offline), like llvm-symbolizer's
 * DATA. The symbol
 * tables are the object's .symtab (or its debug file's), else .dynsym;
 * they are read on the first data lookup of a module, not before.
 * Returns 1 when found, 0 when not (out->name NULL), -1 on bad
 * arguments. The name goes into strbuf (NULL if it does not fit).
 * Thread-safe. */
FASTSTACK_API int faststack_symbolize_data(faststack_symbolizer *s,
                                           uintptr_t addr,
                                           faststack_data_symbol *out,
                                           char *strbuf, size_t strcap);

/* [not AS-safe] The GNU build-id of the ELF file at path, as lowercase
 * hex into hex[0..cap) (NUL-terminated; 2 * FASTSTACK_BUILD_ID_MAX + 1
 * bytes always suffice). Returns the build-id's size in bytes (0: the
 * file has none), or -1 when the file cannot be read as ELF or cap is too
 * small. Reads the file (what `faststack symbolize` matches raw traces
 * against). */
FASTSTACK_API int faststack_elf_build_id(const char *path, char *hex,
                                         size_t cap);

/* ======================================================================
 * Annotate: the source line at a frame
 * ====================================================================== */

/* Status of one annotated line (faststack_source_line.status). */
enum {
  FASTSTACK_LINE_OK = 0,      /* text is the line, current */
  FASTSTACK_LINE_NO_INFO,     /* the frame has no file or line */
  FASTSTACK_LINE_MISSING,     /* the file is not on this machine */
  FASTSTACK_LINE_UNREADABLE,  /* permission denied or I/O error */
  FASTSTACK_LINE_NOT_REGULAR, /* a directory, FIFO or device */
  FASTSTACK_LINE_BINARY,      /* the file contains NUL bytes */
  FASTSTACK_LINE_PAST_EOF,    /* the file has fewer lines */
  FASTSTACK_LINE_CHANGING,    /* the file changed while being read */
  FASTSTACK_LINE_STALE_MD5,   /* the file's MD5 differs from the one
                                     recorded at compile time */
  FASTSTACK_LINE_STALE_NEWER, /* the file is newer than the module */
};

/* One source line for a frame. */
typedef struct faststack_source_line {
  /* The line's text — CR stripped, tabs expanded, invalid UTF-8 escaped
   * as \xNN, cut with "…" past the width — or NULL when status says it is
   * not available (or is stale and the policy hides stale lines).
   * Lifetime: the strbuf passed to the call that filled it. */
  const char *text;
  int line;   /* the line number asked for */
  int status; /* FASTSTACK_LINE_* */
} faststack_source_line;

/* A source line provider with a process-wide cache. Thread-safe. */
typedef struct faststack_sources faststack_sources;

typedef struct faststack_sources_options {
  size_t cache_bytes; /* cached line text budget; 0 = 4 MiB (LRU) */
  int max_open_files; /* descriptors open at once by this provider
                            across all threads; 0 = no global cap (each
                            call opens at most one at a time anyway) */
  int width;          /* cut lines longer than this (columns); 0 = 160 */
  int tab_width;      /* tab stops; 0 = 4 */
  int hide_stale;     /* 1: stale lines get text NULL; 0: show them,
                            marked by their status */
  /* Search roots and prefix maps; NULL = from the environment variables
   * FASTSTACK_SOURCE_PATH ("dir:dir") and FASTSTACK_SOURCE_MAP
   * ("from=to:from=to", the inverse of -ffile-prefix-map). */
  const char *source_path;
  const char *source_map;
} faststack_sources_options;

/* [not AS-safe] Creates a provider. opts may be NULL (defaults). NULL on
 * OOM. */
FASTSTACK_API faststack_sources *
faststack_sources_create(const faststack_sources_options *opts);
/* [not AS-safe] Frees a provider. NULL is ignored. No other thread may be
 * using it. */
FASTSTACK_API void faststack_sources_free(faststack_sources *s);
/* [not AS-safe] The process-wide provider (default options), created on
 * first use. */
FASTSTACK_API faststack_sources *faststack_default_sources(void);

/* [not AS-safe] Fills out[i] with the source line of frames[i], for i <
 * n. Within one call each file is read at most once, only up to the last
 * line needed, frames grouped by file; lines come from the cache when
 * present (then no file is touched). Text goes into strbuf (lines that do
 * not fit get text NULL). Returns 0, or -1 on bad arguments. */
FASTSTACK_API int faststack_annotate(faststack_sources *s,
                                     const faststack_frame *frames, int n,
                                     faststack_source_line *out, char *strbuf,
                                     size_t strcap);

/* [not AS-safe] Lines [line-context, line+context] of one frame's file
 * into out[0..max). Returns the number of lines stored (0 if
 * unavailable). */
FASTSTACK_API int
faststack_annotate_context(faststack_sources *s, const faststack_frame *frame,
                           int context, faststack_source_line *out, int max,
                           char *strbuf, size_t strcap);

/* [not AS-safe] on = 1: source files that are not on this machine are
 * fetched from the debuginfod servers in DEBUGINFOD_URLS by the frame's build-id and
 * path (/buildid/ID/source/PATH), through libdebuginfod loaded at run
 * time, once per file, and read from its cache (shared with gdb) — an
 * annotated trace on a machine that has neither the debug information
 * nor the source. The download blocks the call that needs it, which is
 * never a signal handler's. Off by default; 0 turns it off. */
FASTSTACK_API void faststack_sources_use_debuginfod(faststack_sources *s,
                                                    int on);

/* [AS-safe] What a line's status means, for people, to print beside the
 * line: "stale: source newer than binary", "stale: source differs from
 * the one compiled (MD5)", "line past end of file", ... ; NULL when the
 * status needs no note (FASTSTACK_LINE_OK, NO_INFO, MISSING). Every
 * program that shows a source line shows this note with it, so a stale
 * line is never printed as if it were the code that runs. The string is
 * static. */
FASTSTACK_API const char *faststack_source_status_note(int status);

/* Counters of a provider, for tests and benchmarks. */
typedef struct faststack_sources_stats {
  unsigned long long opens;        /* files opened */
  unsigned long long probes;       /* stat calls looking for files */
  unsigned long long bytes_read;   /* bytes read from files */
  unsigned long long hits, misses; /* line cache */
  int max_open_at_once;            /* high-water mark of open files */
  size_t cached_bytes;             /* line text held now */
} faststack_sources_stats;
/* [not AS-safe] The provider's counters (taken under its lock). */
FASTSTACK_API void faststack_sources_get_stats(faststack_sources *s,
                                               faststack_sources_stats *st);

/* ======================================================================
 * Format: Go, gin, JSON, raw
 * ====================================================================== */

enum {
  FASTSTACK_FORMAT_GO = 0, /* Go panic style: "function(...)" then
                              "\tfile:line +0xoffset" */
  FASTSTACK_FORMAT_GIN,    /* gin's Recovery: "file:line (0xpc)" then
                              "\tfunction: source line" */
  FASTSTACK_FORMAT_JSON,   /* one JSON object per trace */
  FASTSTACK_FORMAT_RAW,    /* module+offset+build-id per frame (AS-safe) */
};

/* Function names (faststack_format_options.names). */
enum {
  FASTSTACK_NAMES_DEFAULT = 0, /* pruned in Go and gin, full in JSON */
  FASTSTACK_NAMES_FULL,        /* as demangled, everywhere */
  FASTSTACK_NAMES_PRUNED,      /* pruned in Go and gin (JSON stays full) */
};

/* File paths in the Go and gin formats (faststack_format_options.paths);
 * JSON always carries the full path. */
enum {
  FASTSTACK_PATHS_FULL = 0, /* as the debug info records them */
  FASTSTACK_PATHS_BASE,     /* the base name: "server.c" */
  FASTSTACK_PATHS_RELATIVE, /* relative to path_root when under it */
};

/* Options of the formatters. Always start from
 * faststack_format_options_init, then set fields: it fills the defaults,
 * the environment's among them. Fields are appended over time (names
 * and the ones after it were, after 0.1.0): a struct filled by hand
 * would leave them undefined. */
typedef struct faststack_format_options {
  int format;         /* FASTSTACK_FORMAT_* */
  int source;         /* 1: annotate with source lines */
  int context;        /* with source: N lines around each frame's line
                         (Go format; gin shows the frame's own line) */
  int max_frames;     /* elide beyond this many frames, keeping the
                            innermost and outermost halves; 0 = 100 */
  int color;          /* -1 (default when options are NULL): colour
                            when FORCE_COLOR is set (and not "0"), or
                            when writing to a TTY and NO_COLOR is unset;
                            0 never; 1 always */
  const char *header; /* first line; NULL = "trace (pid P, tid T):"
                            style per format; "" = none */
  faststack_symbolizer *symbolizer; /* NULL = the default symbolizer */
  faststack_sources *sources;       /* NULL = the default provider */
  /* The init function reads each default below from the variable
   * named; the strings are then the environment's (valid until it
   * changes) — copy or set your own when that matters. */
  int names;             /* FASTSTACK_NAMES_* (FASTSTACK_NAMES=full|pruned)
                          */
  int paths;             /* FASTSTACK_PATHS_* (FASTSTACK_PATHS=
                            full|base|relative) */
  const char *path_root; /* for _RELATIVE; NULL = the current directory
                            at formatting time (FASTSTACK_PATH_ROOT) */
  /* Frames not printed, in every format but raw (the elision plan still
   * counts them). hide_modules: comma-separated module names, each
   * matching a module whose base name is it or starts with it and a
   * '.' ("libstdc++" hides libstdc++.so.6), or, with a '/', the whole
   * path (FASTSTACK_HIDE_MODULES). hide_functions: comma-separated
   * prefixes of the pruned name without its return type ("std::__"
   * hides libstdc++'s internals, "faststack_" faststack's own
   * functions) (FASTSTACK_HIDE_FUNCTIONS). NULL or "": none. */
  const char *hide_modules;
  const char *hide_functions;
  void *reserved[4]; /* zero */
} faststack_format_options;

/* [not AS-safe] Initializes opts to the defaults of a format, reading
 * FASTSTACK_NAMES, FASTSTACK_PATHS, FASTSTACK_PATH_ROOT,
 * FASTSTACK_HIDE_MODULES and FASTSTACK_HIDE_FUNCTIONS (getenv;
 * docs/format.md). */
FASTSTACK_API void faststack_format_options_init(faststack_format_options *o,
                                                 int format);

/* [not AS-safe] Should output to fd be coloured? FORCE_COLOR set (and not
 * "0"): yes; else NO_COLOR set: no; else whether fd is a terminal. What
 * the formatters decide for color -1, for programs that print around them
 * (the faststack command does). */
FASTSTACK_API int faststack_color_wanted(int fd);

/* [not AS-safe] Formats already symbolized frames (lines may be NULL: no
 * source) into buf[0..cap), NUL-terminated; returns the length the whole
 * text needs. Allocates nothing; the colour decision of opts->color -1
 * reads the environment.
 * Beyond opts->max_frames PCs the middle ones are elided. elided_pcs > 0
 * says the caller already dropped that many PCs from the middle: the
 * "...N frames elided..." marker then goes after the first half of the
 * PCs given, and nothing more is elided. */
FASTSTACK_API size_t faststack_format_frames(
    const faststack_frame *frames, int n, const faststack_source_line *lines,
    int elided_pcs, const faststack_format_options *opts, char *buf,
    size_t cap);

/* [not AS-safe] One frame in the Go format with source context:
 * ctx[0..nctx) are the lines faststack_annotate_context returned for it
 * (the frame's own line marked with '>'). Into buf[0..cap),
 * NUL-terminated; returns the length the whole text needs. Colour per
 * opts (NULL: none); opts' colour decision reads the environment, the
 * text itself allocates nothing. */
FASTSTACK_API size_t faststack_format_frame_context(
    const faststack_frame *frame, const faststack_source_line *ctx, int nctx,
    const faststack_format_options *opts, char *buf, size_t cap);

/* [AS-safe] s as a JSON string literal (with its quotes; "null" for
 * NULL): quotes, backslashes and control bytes escaped, bytes of invalid
 * UTF-8 as \u00XX, so the output is always valid JSON. Into buf[0..cap),
 * NUL-terminated; returns the length needed. */
FASTSTACK_API size_t faststack_json_quote(const char *s, char *buf, size_t cap);

/* [not AS-safe] Symbolizes, annotates and formats pcs[0..n) (flags as
 * for the raw format) into buf; returns the length needed. Uses a
 * per-thread scratch area allocated on a thread's first call: no heap
 * allocation after that. Signal handlers use the raw format. */
FASTSTACK_API size_t faststack_format_trace(const uintptr_t *pcs, int n,
                                            unsigned flags,
                                            const faststack_format_options *o,
                                            char *buf, size_t cap);

/* [not AS-safe] The same, written to fd. Returns 0, or -1 if a write
 * failed. */
FASTSTACK_API int faststack_write_trace(int fd, const uintptr_t *pcs, int n,
                                        unsigned flags,
                                        const faststack_format_options *o);

/* The one-call functions above keep, for the Go and gin formats, the
 * formatted text of each PC they printed in a process-wide cache (about
 * 1 MiB): a trace of PCs printed before is copied, not recomputed. An
 * entry is reused for at most one second (a source file edited since is
 * noticed as soon as the source provider itself would notice it), and the
 * cache is dropped when a library is loaded or unloaded. */

/* [not AS-safe] Empties the formatted-PC cache above (for tests and
 * benchmarks that want cold traces). */
FASTSTACK_API void faststack_trace_cache_clear(void);

/* [not AS-safe] Captures the calling thread's stack (skip as for
 * faststack_capture) and writes it to fd: capture -> symbolize ->
 * annotate -> format in one call. opts may be NULL (Go style with
 * source). Returns 0, or -1 if a write failed.
 *
 * It writes with write(2), around stdio: text the program printed with
 * printf and that still sits in stdout's buffer (stdout is fully
 * buffered when it is a pipe or a file) comes out AFTER the trace. Call
 * fflush(stdout) first, or use faststack_fprint_stack(stdout, ...). */
FASTSTACK_API int faststack_print_stack(int fd, int skip,
                                        const faststack_format_options *o);

/* [not AS-safe] The same through stdio: the trace is formatted in memory
 * and written to f with one fwrite, so it lands in order with the
 * program's own output on f (and is flushed with it). Colour per opts,
 * deciding on fileno(f). Returns 0, or -1 when f is NULL, memory ran out
 * or the write failed. */
FASTSTACK_API int faststack_fprint_stack(FILE *f, int skip,
                                         const faststack_format_options *o);

/* ======================================================================
 * Raw traces and crash reports back into symbolized ones
 * ====================================================================== */

/* One frame of the raw format (faststack_format_raw, crash reports):
 *   #N  0xPC MODULE+0xOFFSET [build-id=HEX]
 * parsed by faststack_raw_frame_parse. */
typedef struct faststack_raw_frame {
  uintptr_t pc;       /* the PC as captured */
  uint64_t offset;    /* module-relative address to look up (the pc-1
                         adjustment for return addresses already applied) */
  char module[4096];  /* the module's path as the trace names it */
  char build_id[129]; /* lowercase hex; "" when the line has none */
} faststack_raw_frame;

/* [not AS-safe] Parses one line (without its newline) into *out. Returns
 * 1 when it is a raw frame (module "" for a frame in no module, printed
 * "??"), else 0 (any other text, or NULL arguments). The line is
 * untrusted text: a path or build-id longer than the fields hold makes
 * it "not a frame". */
FASTSTACK_API int faststack_raw_frame_parse(const char *line,
                                            faststack_raw_frame *out);

/* [not AS-safe] Reads text from IN to its end and writes it to OUT with
 * every run of raw frame lines replaced by the same frames symbolized
 * and formatted per opts (NULL: Go with source lines): opts->format
 * FASTSTACK_FORMAT_GO, _GIN or _JSON, source, context, color, names,
 * paths and the frame filters (header and max_frames are ignored: traces
 * in the text were elided already). Each module is opened once per call
 * with faststack_symbolizer_open_module and cfg (NULL: defaults; the
 * search path, debug roots and debuginfod are the caller's to allow); a
 * module that cannot be found is said once on WARNINGS (NULL: nowhere)
 * and its frames stay unresolved.
 * Other lines pass through unchanged, so a whole crash report, a thread
 * dump or a log can be piped through (`faststack symbolize --format`);
 * in Go and gin a crash report's first line is painted when colour is
 * on. In JSON, each crash report and thread dump becomes one JSON
 * object on one line (docs/faststack.schema.json, "report": signal,
 * code, address, pid, thread, time, registers, every thread's frames
 * with build-ids), other runs of frames one trace object each.
 * OUT is flushed after every trace. The text is untrusted: lines are
 * read in pieces of 16 KiB (a longer line is no frame and passes
 * through), runs of frames are cut at 1024 lines, at most 256 modules
 * are opened, and memory stays bounded whatever the text holds. Returns
 * 0, 1 when a frame's module could not be read, -1 for NULL streams or
 * no memory. Allocates; uses symbolizers of its own, freed before it
 * returns; safe to call from several threads at once. */
FASTSTACK_API int faststack_symbolize_report(
    FILE *in, FILE *out, const faststack_format_options *opts,
    const faststack_symbolizer_config *cfg, FILE *warnings);

/* ======================================================================
 * Crash handler and thread dumps
 * ====================================================================== */

/* When a thread dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP
 * or SIGSYS, the crash handler prints a report, then lets the process die
 * the way it would have died without faststack: it chains to the handler
 * installed before it (a sanitizer's, the program's own) or restores the
 * default action and re-raises, so the exit status and any core dump are
 * those of the original signal. The report:
 *
 *   fatal signal SIGSEGV: segmentation violation
 *   [signal SIGSEGV code=1 (SEGV_MAPERR: address not mapped to object)
 *    addr=0x0 pc=0x55d2c1a2b3c4]
 *   pid 4242, thread 4242 "server", 2026-11-22T13:51:55.123Z
 *
 *   thread 4242 "server" [SIGSEGV, faulting]:
 *   parse_header(...)
 *   \t/src/server.c:120 +0x1d
 *   ...
 *
 * The handler writes each frame raw (module+offset and build-id) to a
 * process that is not crashing, which symbolizes it with everything the
 * symbolizer knows (function, inline frames, file:line, source) and
 * prints it: the supervisor of `faststack run` (FASTSTACK_REPORT_SOCKET),
 * else a symbolizer process started at crash time (FASTSTACK_SYMBOLIZER,
 * else the `faststack` command next to the library, else the program
 * itself, re-executed: this library's first constructor symbolizes and
 * exits before the program's code runs). When none takes the report,
 * the handler prints it itself: the lookup table's frames (when asked
 * for, see table below), else raw ones, resolvable offline with
 * `faststack symbolize --format go`. Everything the handler does is
 * async-signal-safe: no malloc, no stdio, no lock the crashing code could
 * hold; output goes out with write(2). docs/crash.md has the details. */

/* Traceback levels (faststack_crash_options.traceback, or the
 * environment variable FASTSTACK_TRACEBACK=none|single|all|crash). */
enum {
  FASTSTACK_TRACEBACK_DEFAULT = 0, /* FASTSTACK_TRACEBACK, else SINGLE */
  FASTSTACK_TRACEBACK_NONE,        /* no report; only the chaining/re-raise */
  FASTSTACK_TRACEBACK_SINGLE,      /* header and the faulting thread */
  FASTSTACK_TRACEBACK_ALL,         /* also every other thread; identical stacks
                                 print once with their thread count */
  FASTSTACK_TRACEBACK_CRASH,       /* like ALL, and raises the soft core-size
                                 limit to the hard one so a core is left */
};

typedef struct faststack_crash_options {
  /* FASTSTACK_TRACEBACK_*. */
  int traceback;
  /* Report destination: a path opened at crash time with O_APPEND (never
   * truncated) and O_NONBLOCK. NULL: FASTSTACK_OUTPUT, else stderr as it
   * is at install (a private duplicate is kept: a data file that later
   * gets descriptor 2 never receives the report). Copied at install. If
   * it cannot be opened then (a FIFO without a reader too), the report
   * goes to stderr. Writes never wait more than 1 s for the output to
   * take bytes (the rest is dropped) and never raise SIGPIPE. */
  const char *output;
  /* Signal that dumps every thread's stack and lets the program go on
   * (like jstack); 0: FASTSTACK_DUMP_SIGNAL (a number or a name such as
   * "SIGUSR2"), else none; -1: none. */
  int dump_signal;
  /* Lookup table for in-handler symbolization, used only when no process
   * takes the report (above): 1 built on a background thread (at install
   * and after dlopen); 2 the same, but the modules loaded at install are
   * done before faststack_crash_install returns; -1 off; 0:
   * FASTSTACK_CRASH_TABLE (0/1/2, "sync"), else off. Off costs nothing;
   * on costs the builder's CPU and the tables' memory for the life of
   * the process. */
  int table;
  /* Cap of one module's table, in bytes; 0: 64 MiB. A module whose
   * table would exceed it keeps the part built so far. */
  size_t table_max_bytes;
  /* 1: print the faulting thread's registers; -1: not; 0:
   * FASTSTACK_REGISTERS=1, else not. */
  int registers;
  /* 1: read source lines from the files in the handler. open/read are
   * async-signal-safe, but a file on a hung network file system would
   * stall the report until the watchdog ends the process. -1: not;
   * 0: FASTSTACK_CRASH_SOURCE=1, else not. */
  int source;
  /* Seconds the report may take before a watchdog (SIGALRM, the
   * ITIMER_REAL timer alarm(2) uses) ends the process with the original
   * signal, whatever the output does; 0: FASTSTACK_CRASH_WATCHDOG, else
   * 10. The program's own timer and SIGALRM handler are put back when the
   * fault is passed to a handler installed before faststack's. */
  int watchdog_seconds;
  /* Milliseconds the ALL level and thread dumps wait for other threads
   * to record their stacks; threads that do not answer are listed as
   * such. 0: 1000. */
  int thread_timeout_ms;
  void *reserved[4]; /* zero */
} faststack_crash_options;

/* [not AS-safe] Installs the crash handler for the signals above (opts
 * NULL or zeroed: defaults and environment variables). Gives the calling
 * thread an alternate signal stack so that a stack overflow can be
 * reported; other threads need faststack_crash_thread_init (the preload
 * object of `faststack run` does it for every new thread). Also prepares
 * thread dumps (faststack_dump_prepare) and what a crash needs to hand
 * its report over: the supervisor's socket name, the symbolizer
 * process's path, arguments and a copy of the environment (taken now:
 * later changes to the environment do not reach it). Starts no thread
 * unless the table option asks for one. Calling it again updates the
 * options. When another copy of faststack in this process (the
 * `faststack run` preload, a library carrying its own copy) has
 * installed its crash handler, returns 0 and does nothing: one report per
 * crash. That mark is a mapping (docs/crash.md), so an exec'd program
 * starts without it; the environment is never modified. Returns 0, or -1
 * with errno set. Thread-safe. */
FASTSTACK_API int faststack_crash_install(const faststack_crash_options *o);

/* [not AS-safe] Stops reporting: faults then behave as if faststack were
 * not there (the handlers stay, forwarding; they are shared with
 * faststack_recover) and the dump signal gets its previous action back.
 * Tables stay. Returns 0. */
FASTSTACK_API int faststack_crash_uninstall(void);

/* [not AS-safe] Gives the calling thread an alternate signal stack (64
 * KiB and a guard page, mmap'ed; freed at thread exit) unless it has one,
 * so a stack overflow in it is reported. Call it first thing in threads
 * you create when faststack is linked in rather than preloaded. Returns 0
 * or -1. */
FASTSTACK_API int faststack_crash_thread_init(void);

/* [not AS-safe] Waits up to timeout_ms for the lookup tables of the
 * modules loaded now to be built (when the table option is on). Returns 1
 * if they are all ready, 0 on timeout or when tables are off. */
FASTSTACK_API int faststack_crash_table_wait(int timeout_ms);

/* Flags of faststack_dump_threads. */
#define FASTSTACK_DUMP_NO_DEDUP 0x1u /* print identical stacks one by one */
#define FASTSTACK_DUMP_RAW                                                     \
  0x2u /* raw frames even where a table is
                                        ready */

/* [not AS-safe] Prepares thread dumps outside signal context: maps the
 * slots every thread records its stack into (and the table that groups
 * identical stacks) and installs the handler of the real-time signal
 * (SIGRTMAX-2, reserved from then on while faststack is used) that asks
 * threads for their stacks. faststack_crash_install calls it. Idempotent
 * and thread-safe; returns 0, or -1 when the memory or the handler could
 * not be had. */
FASTSTACK_API int faststack_dump_prepare(void);

/* [AS-safe] Writes every thread's stack to fd and returns (the program
 * goes on): the calling thread's own, then the others', which are asked
 * with SIGRTMAX-2 (reserved while faststack is used) to record themselves
 * into preallocated slots; threads that do not answer within
 * thread_timeout_ms (they block the signal, or are stopped) are listed as
 * such. Writes wait at most 1 s for fd to take bytes (the rest of the
 * dump is dropped then) and never raise SIGPIPE. Returns the number of
 * threads whose stack was written, or -1 (errno EBUSY while another dump
 * or a crash report runs, or while the dump setup runs in another thread
 * or was interrupted by this call; another errno when the setup or the
 * output failed). Up to 4096 threads.
 * The setup is faststack_dump_prepare's. When neither it nor
 * faststack_crash_install ran before, the first call does it: mmap and
 * sigaction, system calls that are safe in a handler too, but better
 * made once outside one. */
FASTSTACK_API int faststack_dump_threads(int fd, unsigned flags);

/* ======================================================================
 * Format: raw
 * ====================================================================== */

/* Flags for the formatters and the stack table: pcs[0] is an exact PC
 * (from faststack_capture_ucontext), not a return address. The same bit
 * as FASTSTACK_PC_EXACT (see there). */
#define FASTSTACK_PCS_UCONTEXT FASTSTACK_PC_EXACT

/* [AS-safe] Writes the raw trace of pcs[0..n): one line per frame,
 *
 *   #0  0x000055d2c1a2b3c4 /path/to/module+0x1233 build-id=3f2a...
 *
 * The module offset is the address to look the frame up at: pc - bias,
 * minus 1 for return addresses (so it falls inside the call instruction);
 * it can be passed as is to `faststack symbolize -e MODULE`, addr2line or
 * llvm-symbolizer. A PC in no known object prints "??". Formats into
 * buf[0..cap) and NUL-terminates when cap > 0; returns the length the full
 * text needs (like snprintf), so a return value >= cap means truncation. */
FASTSTACK_API size_t faststack_format_raw(const uintptr_t *pcs, int n,
                                          unsigned flags, char *buf,
                                          size_t cap);

/* [AS-safe] The same text written to fd with write(2), in small chunks
 * from a stack buffer. Returns 0 on success, -1 if a write failed. */
FASTSTACK_API int faststack_write_raw(int fd, const uintptr_t *pcs, int n,
                                      unsigned flags);

/* ======================================================================
 * Profiles: stack table, pprof and folded writers
 * ====================================================================== */

/* A table interning captured stacks with counts: the frequency table every
 * profile is. Its memory is mapped once at creation; insertion allocates
 * nothing, takes no lock and may run in signal handlers of many threads at
 * once. Each distinct stack gets a stable id (>= 1) for the table's life. */
typedef struct faststack_stack_table faststack_stack_table;

/* One interned stack, as seen by faststack_stack_table_foreach/get.
 * pcs points into the table: valid until the table is reset or freed. */
typedef struct faststack_stack_entry {
  uint64_t id;          /* stable id, >= 1 */
  const uintptr_t *pcs; /* innermost first, as captured */
  int n;
  unsigned flags; /* FASTSTACK_PCS_* given at insertion */
  uint64_t count; /* sum of the counts inserted so far */
} faststack_stack_entry;

/* [not AS-safe] Creates a table for up to max_stacks distinct stacks
 * holding together up to max_pcs PCs (0 = defaults: 4096 stacks, 32 PCs
 * each). Returns NULL when the memory cannot be mapped. */
FASTSTACK_API faststack_stack_table *
faststack_stack_table_create(size_t max_stacks, size_t max_pcs);

/* [not AS-safe] Unmaps the table. No insertion may be running. NULL is
 * ignored. */
FASTSTACK_API void faststack_stack_table_free(faststack_stack_table *t);

/* [AS-safe] Adds count to the stack pcs[0..n) (flags: FASTSTACK_PCS_*,
 * part of the stack's identity), interning it on first sight. Returns its
 * id, or 0 when the table is full: the count then goes to the overflow
 * counter. Lock-free: a writer never waits for another, so under a race a
 * stack may rarely be interned twice (readers merge by content). */
FASTSTACK_API uint64_t faststack_stack_table_insert(faststack_stack_table *t,
                                                    const uintptr_t *pcs, int n,
                                                    unsigned flags,
                                                    uint64_t count);

/* Visitor for faststack_stack_table_foreach; return non-zero to stop. */
typedef int (*faststack_stack_visit)(void *arg, const faststack_stack_entry *e);

/* [AS-safe] Calls fn for every interned stack, in slot order; returns
 * how many were visited. Safe while other threads insert (it sees a
 * consistent entry for every stack complete when it gets there; counts
 * may still grow). Meant for aggregation off the signal path; itself it
 * allocates nothing and takes no lock (in a handler, fn must keep to
 * async-signal-safe calls too). */
FASTSTACK_API size_t faststack_stack_table_foreach(
    const faststack_stack_table *t, faststack_stack_visit fn, void *arg);

/* [AS-safe] Looks up a stack by id; 1 when found and filled, else 0. */
FASTSTACK_API int faststack_stack_table_get(const faststack_stack_table *t,
                                            uint64_t id,
                                            faststack_stack_entry *out);

/* [AS-safe] Counts that did not fit (table or PC arena full). */
FASTSTACK_API uint64_t
faststack_stack_table_overflow(const faststack_stack_table *t);

/* [AS-safe] Sum of all counts inserted, overflow included, added up
 * over every slot at the call (the table keeps no running total, which
 * threads inserting at once would contend on): exact once insertions
 * have stopped, O(max_stacks). */
FASTSTACK_API uint64_t
faststack_stack_table_total(const faststack_stack_table *t);

/* [AS-safe] Empties the table; ids restart. Stores only (no system call,
 * no lock), so a signal handler may reset a table it owns — the thread
 * dump groups identical stacks this way — but the caller must have the
 * table to itself: no insertion or iteration may be running in another
 * thread or in a handler it interrupted. */
FASTSTACK_API void faststack_stack_table_reset(faststack_stack_table *t);

/* What a profile's values mean. All strings may be NULL (defaults shown). */
typedef struct faststack_profile_options {
  const char *sample_type; /* second value's type: "cpu" */
  const char *sample_unit; /* its unit: "nanoseconds" */
  int64_t period;          /* sample period in sample_unit; 0 = no second
                              value (count only) */
  int64_t time_nanos;      /* profile start, ns since the epoch; 0 = now */
  int64_t duration_nanos;  /* 0 = unknown */
  /* Symbolizer for function names, files, lines and inline chains; NULL
   * uses faststack_default_symbolizer() when the library has one, else
   * writes addresses and mappings only (pprof can then symbolize from the
   * binaries itself). */
  faststack_symbolizer *symbolizer;
} faststack_profile_options;

/* [not AS-safe] Writes the table as a gzip-compressed pprof profile
 * (profile.proto) to fd. Samples carry the value "samples/count" = the stack's count and,
 * when period > 0, sample_type/sample_unit = count * period. Mappings
 * carry the modules' paths and build-ids; locations their addresses (return
 * addresses minus 1, so they fall in the call) and inline chains,
 * innermost first. Modules are looked up now, so write before objects are
 * dlclose'd. opts may be NULL. Returns 0, or -1 (errno set) on a failed
 * write or allocation. Allocates and symbolizes. */
FASTSTACK_API int faststack_write_pprof(int fd, const faststack_stack_table *t,
                                        const faststack_profile_options *opts);

/* [not AS-safe] Writes the table in folded form for flame-graph tools: one
 * line per stack, root first, frames joined by ';', then a space and the
 * count:
 *   main;run;hot_a 1234
 * Inlined calls appear as their own frames; unknown frames as
 * module+0xOFFSET or 0xPC. Returns 0, or -1 on failure. */
FASTSTACK_API int faststack_write_folded(int fd, const faststack_stack_table *t,
                                         const faststack_profile_options *opts);

/* Sampling CPU profiler. Every armed thread gets a timer on its own CPU
 * clock delivering SIGPROF to it hz times per CPU-second; the handler
 * captures the interrupted stack and counts it in a preallocated stack
 * table. The process must not use SIGPROF or timer signals otherwise. */

/* [not AS-safe] Installs the SIGPROF handler and arms every thread that
 * exists now (hz <= 0: 100; at most 10000). Threads created later must
 * call faststack_profiler_thread_init (the `faststack profile` preload
 * does this by wrapping pthread_create). Returns 0, or -1 if already
 * running or on failure. */
FASTSTACK_API int faststack_profiler_start(int hz);

/* [not AS-safe] Arms the calling thread's timer when the profiler runs
 * (creates a timer); 0 otherwise or on success, -1 on failure. */
FASTSTACK_API int faststack_profiler_thread_init(void);

/* [not AS-safe] Disarms all timers; samples stay in the table. Returns -1
 * when not running. */
FASTSTACK_API int faststack_profiler_stop(void);

/* [not AS-safe] Writes the samples so far: pprof (gzip, sample types
 * samples/count and cpu/nanoseconds) or, with folded != 0, folded
 * stacks. Returns 0 or -1. May be called while running. */
FASTSTACK_API int faststack_profiler_write(int fd, int folded);

/* [AS-safe] Stops without touching timers and empties the table: for a
 * forked child, which inherits neither timers nor ownership of the
 * samples. Only stores: callable from a pthread_atfork child handler. */
FASTSTACK_API void faststack_profiler_reset(void);

/* [AS-safe] For a forked child, from a pthread_atfork child handler (where
 * a child of a multi-threaded process may make only async-signal-safe
 * calls): empties the table as faststack_profiler_reset and, if the
 * parent was profiling, goes on profiling in the child without starting
 * any thread: the thread that forked (the child's only one) gets a timer
 * (raw system calls) and the handler puts each sample straight into the
 * table. Threads the child creates later arm themselves with
 * faststack_profiler_thread_init as usual. Returns 0 when the child is
 * profiled, -1 when the parent was not profiling (or the timer failed). */
FASTSTACK_API int faststack_profiler_after_fork(void);

/* [AS-safe] The profiler's table (NULL before the first start), for
 * custom output. */
FASTSTACK_API const faststack_stack_table *faststack_profiler_table(void);

/* ======================================================================
 * Recovery: survive a fault in one call (Go's recover, gin's Recovery)
 * ====================================================================== */

/* faststack_recover runs fn(arg) on the calling thread. If fn (or
 * anything it calls on this thread) faults with SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL or SIGABRT, the shared fault handler captures the trace from the
 * signal's context into the report and jumps (siglongjmp) back into
 * faststack_recover, which returns the signal number instead of letting
 * the process die. Faults outside a guarded call, faults in other threads
 * and SIGTRAP/SIGSYS keep the crash handler's behaviour (a report if
 * faststack_crash_install was called, then death by the signal), and so
 * do fault signals sent by another process with kill(2).
 *
 * Guards nest: a fault is caught by the innermost faststack_recover active
 * on the faulting thread; outer ones carry on.
 *
 * WHAT RECOVERY CANNOT UNDO. The guarded call's stack is abandoned where
 * it faulted: no cleanup code of fn or its callees runs (no destructors,
 * no pthread cleanup handlers, no free). Therefore
 *   - locks fn held stay held (a later lock of the same mutex deadlocks);
 *   - memory fn allocated and had not freed is leaked;
 *   - data fn was updating stays half updated (lists, counters, buffers);
 *   - a SIGABRT raised by the allocator on a corrupted heap (glibc's
 *     "double free or corruption") leaves the heap corrupted and possibly
 *     its arena lock held by this thread: the next malloc may deadlock or
 *     crash for real;
 *   - a stack overflow is recoverable only when the thread has an
 *     alternate signal stack (faststack_crash_install gives the calling
 *     thread one, faststack_crash_thread_init others); the kernel kills
 *     the process otherwise.
 * Recover to report, answer an error and keep serving other work; exit
 * (the policy below) when faults repeat. fn must not leave the call by
 * longjmp or a C++ exception (the guard would stay on the thread's chain).
 *
 * The report is written from the signal handler (async-signal-safe) into
 * memory the caller owns, so catching a fault allocates nothing. Logging
 * and formatting it afterwards (Go, gin, JSON) symbolize, which is not
 * async-signal-safe but runs after the jump, in normal context. */

/* Most PCs a report keeps (innermost first; deeper frames are cut). */
#define FASTSTACK_RECOVER_MAX_PCS 128

/* What faststack_recover caught. */
typedef struct faststack_recover_report {
  int signal;      /* SIGSEGV, ...; 0 when fn returned normally */
  int code;        /* si_code (SEGV_MAPERR, FPE_INTDIV, SI_TKILL...) */
  uintptr_t addr;  /* si_addr: the faulting address (SIGSEGV, SIGBUS) or
                        instruction (SIGILL, SIGFPE); 0 for SIGABRT */
  uintptr_t pc;    /* the interrupted instruction (= pcs[0]) */
  int tid;         /* the thread (always the caller's) */
  int depth;       /* nesting depth of the guard that caught it, 1 =
                        outermost */
  int64_t time_ns; /* CLOCK_REALTIME of the fault, ns since the epoch */
  uint64_t count;  /* recoveries in this process so far, this one
                        included */
  int n;           /* PCs in pcs */
  unsigned flags;  /* FASTSTACK_PCS_UCONTEXT: pass it to the formatters */
  uintptr_t pcs[FASTSTACK_RECOVER_MAX_PCS]; /* pcs[0] is the faulting
                        instruction, then its callers' return addresses */
} faststack_recover_report;

/* [not AS-safe] Calls fn(arg) under a guard (see above). Returns 0 when
 * fn returned,
 * the signal number when a fault was recovered, -1 when fn is NULL or the
 * fault handlers could not be installed (errno set; fn is not called).
 * out may be NULL; when given it is filled on every return (signal 0 when
 * fn returned). The first call installs the shared fault handlers
 * (the crash handler's seven signals; handlers installed before are chained
 * to for faults outside guards). Cost without a fault: a sigsetjmp that
 * does not save the signal mask (no system call; a few ns). After a
 * recovery the thread's signal mask is that of fn's code: the faulting
 * code's, or, when the fault happened inside handlers of signals that
 * interrupted fn (their frames are abandoned by the jump), the mask the
 * outermost of them interrupted — signals their delivery blocked are
 * unblocked again. The same as at the call unless fn changed its mask
 * itself. */
FASTSTACK_API int faststack_recover(void (*fn)(void *), void *arg,
                                    faststack_recover_report *out);

/* What happens on each recovery, process-wide. */
typedef struct faststack_recover_policy {
  /* Each recovered fault's report is written here (faststack_recover_write
   * with log_format) before faststack_recover returns; -1: not logged (the
   * caller logs it, as a server's middleware does). Default 2. */
  int log_fd;
  int log_format; /* FASTSTACK_FORMAT_*; default GO (with source) */
  /* 0: log and continue, always. N > 0: log and exit — at most N faults
   * are recovered within any window_ms; the fault that would be the
   * (N+1)th is not recovered: a line saying so goes to log_fd (stderr if
   * -1), then the crash handler's behaviour applies (its report when
   * installed; death by that signal, with its core dump). */
  int max_recoveries;
  int window_ms;     /* 0: 60000 */
  void *reserved[4]; /* zero */
} faststack_recover_policy;

/* [AS-safe] Fills *p with the defaults (log to stderr in Go format, no
 * limit). */
FASTSTACK_API void faststack_recover_policy_init(faststack_recover_policy *p);

/* [not AS-safe] Sets the policy (copied). p NULL restores the defaults.
 * Returns 0, or -1 (EINVAL: a negative field or max_recoveries over
 * 16,777,216; ENOMEM). Resets the window's history. Thread-safe. */
FASTSTACK_API int
faststack_recover_set_policy(const faststack_recover_policy *p);

/* [AS-safe] Recoveries so far in this process. */
FASTSTACK_API uint64_t faststack_recover_count(void);

/* [not AS-safe] Formats a report: for Go, gin and raw, one line
 *
 *   panic recovered: SIGSEGV: segmentation violation [code=1 SEGV_MAPERR
 *   addr=0x0 pc=0x55d2c1a2b3c4] (thread 4242)
 *
 * then the trace in that format (faststack_format_trace, header as in
 * o); for JSON one object {"signal":"SIGSEGV","signo":11,"code":1,
 * "code_name":"SEGV_MAPERR","addr":"0x0","pc":"0x...","tid":...,
 * "time_ns":...,"count":...,"trace":{...}} and a newline. o NULL: Go with
 * source. Into buf[0..cap), NUL-terminated; returns the length needed.
 * Symbolizes, except with the raw format (which a handler may use through
 * faststack_write_raw on the report's pcs). */
FASTSTACK_API size_t faststack_recover_format(const faststack_recover_report *r,
                                              const faststack_format_options *o,
                                              char *buf, size_t cap);

/* [not AS-safe] The same text written to fd. Returns 0, or -1 if a write
 * failed. */
FASTSTACK_API int faststack_recover_write(int fd,
                                          const faststack_recover_report *r,
                                          const faststack_format_options *o);

/* ======================================================================
 * C++ exceptions: the trace at the throw point
 * ====================================================================== */

/* In a program that links faststack (shared, or static: see
 * docs/exceptions.md for the one case that needs a link flag) or runs
 * under `faststack run`, every C++ exception thrown through libstdc++ —
 * a throw expression (__cxa_throw), `throw;` (__cxa_rethrow) or
 * std::rethrow_exception — has the PCs of its thread recorded at the
 * throw (the capture stage; up to FASTSTACK_EXCEPTION_MAX_PCS) and kept
 * with the exception object until the object is destroyed. A rethrow is
 * the same object, so it keeps the original site; an exception carried
 * by std::exception_ptr to another thread keeps it too; an exception
 * thrown inside a catch block is a new object with its own. An exception
 * that was never thrown (std::make_exception_ptr) gets the site of its
 * first std::rethrow_exception. g++ and clang++ alike (both use
 * libstdc++'s runtime on Linux); libc++'s runtime is not supported.
 *
 * FASTSTACK_EXCEPTIONS=0 in the environment turns recording and the
 * terminate report off (read once, at the first throw). The cost is a
 * capture and a small allocation per throw, on top of the throw itself;
 * docs/exceptions.md has the mechanism, the costs and the memory. */

/* Most PCs recorded per throw (the innermost frames of deeper stacks). */
#define FASTSTACK_EXCEPTION_MAX_PCS 64

/* [not AS-safe] The PCs recorded when the exception now being handled on
 * this thread (the innermost active catch block: what
 * std::current_exception would return) was thrown, into pcs[0..max); returns how many. pcs[0] is the
 * return address into the function that threw (look it up at pc-1, as
 * the formatters do): the throw's caller. Returns 0 when no exception is
 * being handled, when it was thrown with recording off, or for a foreign
 * (non-C++) exception. Pass the result to faststack_write_trace with
 * flags 0. Thread-safe; allocates nothing. */
FASTSTACK_API int faststack_exception_pcs(uintptr_t *pcs, int max);

/* [not AS-safe] Writes the exception now being handled on this thread:
 * the line
 *
 *   exception std::runtime_error: disk full
 *
 * (the demangled type; ": " and what() when the type derives from
 * std::exception), then its throw-site trace in o's format, headed
 * "thrown in thread 4242 "name":" unless o->header says otherwise (Go
 * style with source lines when o is NULL). JSON: one object
 * {"exception":"std::runtime_error","what":"disk full","trace":{...}}
 * and a newline; raw: the line, then raw frames. An exception with no
 * recorded trace prints "(no throw site recorded)" instead. Returns 0,
 * or -1 when no exception is being handled or a write failed. Calls the
 * exception's what() (a what() that throws propagates out of here). */
FASTSTACK_API int faststack_print_exception(int fd,
                                            const faststack_format_options *o);

/* [not AS-safe] The same text into buf[0..cap), NUL-terminated when
 * cap > 0; returns the length the whole text needs (like snprintf), 0
 * when no exception is being handled. */
FASTSTACK_API size_t faststack_format_exception(
    const faststack_format_options *o, char *buf, size_t cap);

/* An exception that no catch clause takes ends the program in
 * std::terminate. faststack_crash_install (and so `faststack run`)
 * installs a terminate handler that writes, to the crash report's
 * output,
 *
 *   terminate called after throwing std::runtime_error: disk full
 *   thrown in thread 4242 "server":
 *   parse_config(...)
 *   \t/src/config.cpp:88 +0x5d
 *   ...
 *
 * and for the other reasons says which (an exception that left a
 * noexcept function, a std::thread destroyed while joinable, a pure
 * virtual call) with the trace of where std::terminate was called. Then
 * the program ends as it would have without faststack: a handler it had
 * installed before is called, else abort() — SIGABRT, exit status 134 in
 * a shell, the same core. */

#ifdef __cplusplus
}
#endif

#endif /* FASTSTACK_H */

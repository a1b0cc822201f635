/* symbolize.h — the symbolize stage: program counters to frames
 * (faststack_symbolize and the symbolizer objects in the public header).
 * What later stages may use beyond the public API: the ELF reader (elf.h:
 * a file's sections, build-id and function symbols) and the function
 * symbols an offline symbolizer found. */
#ifndef FASTSTACK_SYMBOLIZE_H
#define FASTSTACK_SYMBOLIZE_H

#include "capture/capture.h"
#include "symbolize/elf.h"

/* The function symbols of an offline symbolizer's file — its .symtab, or
 * its debug file's for a stripped binary, else .dynsym — sorted, one per
 * address, living as long as s; their count (0: none). Not AS-safe. */
size_t fs_symbolizer_functions(faststack_symbolizer *s, const fs_sym **out);
/* Has a file an offline symbolizer reads shrunk under it (fs_elf_changed)?
 * Then what was read through it, those symbols included, may be wrong. */
int fs_symbolizer_changed(faststack_symbolizer *s);

/* A C++ name demangled into buf[0..cap), NUL-terminated, the way frames
 * show it (parameters included); with types != 0 a mangled type as well
 * (what std::type_info::name() holds: "St13runtime_error"). Returns the
 * length, or 0 (buf "") when the name is not mangled or does not fit.
 * Allocates nothing. Not AS-safe. */
size_t fs_demangle(const char *mangled, int types, char *buf, size_t cap);
/* debuginfod (debuginfod.c): is the client library loadable and
 * DEBUGINFOD_URLS set? */
int fs_debuginfod_available(void);
/* The debug file of build_id (hex), fetched or from the shared cache:
 * its path into out[0..cap). show: 1 a progress line on stderr, 0 when
 * stderr is a terminal, -1 never; timeout_s 0: 30 s. 1 found. Blocks
 * for the download: never call it from a signal handler. */
int fs_debuginfod_debuginfo(const char *build_id, int timeout_s, int show,
                            char *out, size_t cap);
/* The source file path (absolute, as the debug information names it) of
 * the object with build_id, likewise: what annotate reads when the file
 * is not on this machine. */
int fs_debuginfod_source(const char *build_id, const char *path, int timeout_s,
                         int show, char *out, size_t cap);

#endif /* FASTSTACK_SYMBOLIZE_H */

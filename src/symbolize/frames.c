/* frames.c — the frames of one address in one symfile: DWARF's inline
 * chain (dwarf.c) or the symbol table's function, with names demangled
 * (libiberty's allocation-free callback demangler) and paths joined, all
 * strings packed into the caller's buffer. */
#define _GNU_SOURCE
#include <ctype.h>
#if FS_HAVE_DEMANGLE
#include <libiberty/demangle.h>
#endif
#include <string.h>

#include "symbolize/symbolizer.h"

static void w_begin(strw *w)
{
  w->overflow = 0;
}

static void w_add(strw *w, const char *s, size_t n)
{
  if (w->overflow || n > w->cap - w->len) {
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

/* Ends the string begun at mark: its start, or NULL if it did not fit
 * (then its bytes are given back). */
static const char *w_end(strw *w, size_t mark)
{
  if (!w->overflow && w->len < w->cap) {
    w->buf[w->len++] = '\0';
    return w->buf + mark;
  }
  w->len = mark;
  w->overflow = 0;
  w->lost = 1;
  return NULL;
}

static const char *w_str(strw *w, const char *s)
{
  return s ? fs_strw_strn(w, s, strlen(s)) : NULL;
}

#if FS_HAVE_DEMANGLE
static void demangle_cb(const char *s, size_t n, void *arg)
{
  w_add(arg, s, n);
}
#endif

/* The name people read: C++ linkage names demangled (params included,
 * like addr2line -C and llvm-symbolizer), else the plain name. */
static const char *w_function(faststack_symbolizer *s, strw *w,
                              const char *linkage, const char *name)
{
  if (!linkage) return w_str(w, name);
  if (s->opts.no_demangle) return w_str(w, linkage);
#if !FS_HAVE_DEMANGLE
  /* Built without the demangler (FASTSTACK_WITH_DEMANGLE): the plain
   * name when the DWARF has one, else the linkage name. */
  return w_str(w, name ? name : linkage);
#else
  size_t mark = w->len;
  w_begin(w);
  if (cplus_demangle_v3_callback(linkage, DMGL_PARAMS | DMGL_ANSI, demangle_cb,
                                 w)) {
    const char *r = w_end(w, mark);
    if (r) return r;
  } else {
    w->len = mark;
  }
  /* Not a mangled name (or it did not fit): as recorded. */
  return w_str(w, name ? name : linkage);
#endif
}

const char *fs_strw_symbol(faststack_symbolizer *s, strw *w, const char *name)
{
  return w_function(s, w, name, name);
}

size_t fs_demangle(const char *mangled, int types, char *buf, size_t cap)
{
  if (!mangled || !buf || cap == 0) return 0;
#if !FS_HAVE_DEMANGLE
  (void)types; /* built without the demangler: nothing demangled */
  buf[0] = '\0';
  return 0;
#else
  strw w = {buf, cap, 0, 0, 0};
  int opts = DMGL_PARAMS | DMGL_ANSI | (types ? DMGL_TYPES : 0);
  if (!cplus_demangle_v3_callback(mangled, opts, demangle_cb, &w) ||
      !w_end(&w, 0)) {
    buf[0] = '\0';
    return 0;
  }
  return w.len - 1;
#endif
}

/* Appends linkage demangled; 0 when it is no mangled name or the library
 * was built without the demangler. */
static int demangle_into(strw *w, const char *linkage)
{
#if FS_HAVE_DEMANGLE
  return cplus_demangle_v3_callback(linkage, DMGL_PARAMS | DMGL_ANSI,
                                    demangle_cb, w);
#else
  (void)w;
  (void)linkage;
  return 0;
#endif
}

/* A name without a linkage name, qualified by the DWARF scopes around
 * it: "outer::run(unsigned long)::{lambda…}::operator()" — the enclosing
 * function demangled, then the classes (a closure has no name: a
 * lambda's, when the name is its call operator) and the name. */
static const char *w_qualified(faststack_symbolizer *s, strw *w,
                               const fs_dwarf_frame *d)
{
  size_t mark = w->len;
  w_begin(w);
  if (d->scope_linkage) {
    if (s->opts.no_demangle || !demangle_into(w, d->scope_linkage))
      w_add(w, d->scope_linkage, strlen(d->scope_linkage));
    w_add(w, "::", 2);
  }
  int lambda = !strncmp(d->name, "operator()", 10);
  for (int i = 0; i < d->nscope; i++) {
    const char *c = d->scope[i] ? d->scope[i]
                    : lambda    ? "{lambda\xe2\x80\xa6}"
                                : "{unnamed type}";
    w_add(w, c, strlen(c));
    w_add(w, "::", 2);
  }
  w_add(w, d->name, strlen(d->name));
  const char *r = w_end(w, mark);
  return r ? r : w_str(w, d->name);
}

/* comp_dir + dir + file, each absolute part restarting the path. */
static const char *w_path(strw *w, const char *comp_dir, const char *dir,
                          const char *file)
{
  if (!file) return NULL;
  const char *parts[3] = {comp_dir, dir, file};
  int first = 0;
  for (int i = 0; i < 3; i++)
    if (parts[i] && parts[i][0] == '/') first = i;
  size_t mark = w->len;
  w_begin(w);
  int any = 0;
  for (int i = first; i < 3; i++) {
    if (!parts[i] || !parts[i][0]) continue;
    if (any && w->len > mark && w->buf[w->len - 1] != '/') w_add(w, "/", 1);
    w_add(w, parts[i], strlen(parts[i]));
    any = 1;
  }
  return w_end(w, mark);
}

#define FS_INLINE_MAX 64

/* Itanium C++ constructors and destructors have variants (C1/C2, D0/D1/
 * D2) that are often one function with several symbols. The DWARF
 * linkage name says which variant the code is; an alias must not rename
 * it (they demangle the same anyway). */
static int ctor_dtor_alias(const char *sym, const char *linkage)
{
  if (!linkage || strncmp(sym, "_Z", 2) || strlen(sym) != strlen(linkage))
    return 0;
  int diffs = 0;
  for (size_t i = 0; sym[i]; i++)
    if (sym[i] != linkage[i]) {
      if (i == 0 || !(sym[i - 1] == 'C' || sym[i - 1] == 'D') ||
          !isdigit((unsigned char)sym[i]) ||
          !isdigit((unsigned char)linkage[i]) || ++diffs > 1)
        return 0;
    }
  return diffs == 1;
}

/* Is sym, a local symbol at a function's start, merely another name for
 * it — glibc's __GI_strlen for the __strlen_generic its DWARF names —
 * rather than the function's own name or a compiler's copy of it
 * (foo.isra.0, foo.constprop.0, foo.part.0: "foo" and a '.')? A
 * distribution's debug file keeps such local aliases in its .symtab;
 * the stripped binary's .dynsym, all llvm-symbolizer reads there, has
 * none. A C++ symbol (mangled: "_Z") is never one: demangled it says
 * at least what the DWARF name does (a lambda's operator() and its
 * enclosing function, a local template's arguments). */
static int local_alias(const char *sym, const char *linkage, const char *name)
{
  if (!strncmp(sym, "_Z", 2)) return 0;
  const char *own[2] = {linkage, name};
  for (int i = 0; i < 2; i++) {
    if (!own[i]) continue;
    size_t n = strlen(own[i]);
    if (!strncmp(sym, own[i], n) && (sym[n] == '\0' || sym[n] == '.')) return 0;
  }
  return linkage || name;
}

int fs_symfile_frames(faststack_symbolizer *s, fs_symfile *f, uint64_t addr,
                      faststack_frame *out, int max, strw *w)
{
  fs_dwarf_frame df[FS_INLINE_MAX];
  int n = 0;
  if (f->dwarf)
    n = fs_dwarf_lookup(f->dwarf, addr, df,
                        max < FS_INLINE_MAX ? max : FS_INLINE_MAX);
  const fs_symtab *tab = &f->syms;
  const fs_sym *sym = f->syms.n ? fs_symtab_find(&f->syms, addr) : NULL;
  /* Tables kept for what the first does not know (symfile.c); only an
   * address without a symbol pays for them. */
  for (int i = 0; !sym && i < f->nfallback; i++)
    if ((sym = fs_symtab_find(&f->fallback[i], addr))) tab = &f->fallback[i];
  unsigned symsrc = tab->dynamic ? FASTSTACK_SRC_DYNSYM : FASTSTACK_SRC_SYMTAB;
  int sym_local = sym && tab->local && tab->local[sym - tab->syms];
  if (n <= 0) {
    if (!sym) return 0;
    out[0].function = w_function(s, w, sym->name, sym->name);
    out[0].function_offset = addr - sym->addr;
    out[0].source = symsrc;
    return 1;
  }
  /* The physical function's start, for offsets. */
  uint64_t func_lo = df[n - 1].func_low_pc;
  if (!func_lo && sym) func_lo = sym->addr;
  for (int i = 0; i < n; i++) {
    const fs_dwarf_frame *d = &df[i];
    faststack_frame *o = &out[i];
    if (i) memset(o, 0, sizeof *o);
    const char *linkage = d->linkage_name, *name = d->name;
    o->source = FASTSTACK_SRC_DWARF;
    if (!d->inlined && sym &&
        ((!name && !linkage) ||
         (sym->addr == d->func_low_pc && !ctor_dtor_alias(sym->name, linkage) &&
          !(sym_local && local_alias(sym->name, linkage, name))))) {
      /* Line info without a subprogram DIE: the symbol names it. And a
       * symbol that starts exactly at the function names the same code;
       * its (global) name is the one callers use — printf, not the
       * __printf that glibc defines and aliases — as llvm-symbolizer
       * prints it. So a compiler's specialized copy keeps its symbol's
       * name (foo.isra.0, "foo [clone .isra.0]" demangled), telling the
       * reader which copy ran; addr2line prints foo. A function's cold
       * part (foo.cold) does not start at the function: it stays foo.
       * But a local symbol that is merely another name (local_alias)
       * does not replace the function's own. */
      if (!name && !linkage) o->source = symsrc;
      linkage = name = sym->name;
    }
    if (!linkage && name && (d->scope_linkage || d->nscope))
      o->function = w_qualified(s, w, d);
    else o->function = w_function(s, w, linkage, name);
    o->file = w_path(w, d->comp_dir, d->dir, d->file);
    o->line = d->line;
    o->column = d->column;
    o->inlined = d->inlined;
    o->function_offset = func_lo && func_lo <= addr ? addr - func_lo : 0;
    if (d->md5) {
      o->file_md5_valid = 1;
      memcpy(o->file_md5, d->md5, 16);
    }
  }
  return n;
}

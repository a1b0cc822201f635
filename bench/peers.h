/* peers.h — the functions a benchmark compares faststack with, each looked
 * up in the object that should define it, and the object that actually
 * holds it, for the table.
 *
 * A peer is never called through its plain name: libunwind exports a
 * weak `backtrace` and `_Unwind_Backtrace` of its own, glibc a weak
 * `backtrace`, so a benchmark that links libunwind and calls backtrace()
 * measures whichever object the dynamic linker binds first. Each peer is
 * found with dlopen(LIB, RTLD_LOCAL) + dlsym on that handle (a local
 * object interposes nothing), and dladdr says where the address found
 * lives. */
#ifndef BENCH_PEERS_H
#define BENCH_PEERS_H

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef struct bench_peer {
  const char *lib;  /* the object to load: "libc.so.6"; NULL: this program */
  const char *sym;  /* the function's name there */
  void *fn;         /* its address, NULL when not found */
  char object[256]; /* the object holding fn (dladdr), as a path */
  char symbol[64];  /* the symbol dladdr names at fn */
} bench_peer;

/* Fills p->object and p->symbol for p->fn. */
static inline void bench_peer_where(bench_peer *p)
{
  Dl_info di;
  snprintf(p->object, sizeof p->object, "?");
  snprintf(p->symbol, sizeof p->symbol, "?");
  if (!p->fn || !dladdr(p->fn, &di)) return;
  /* The main program's name is "" in the link map: say what it is. */
  snprintf(p->object, sizeof p->object, "%s",
           di.dli_fname && di.dli_fname[0] ? di.dli_fname : "(this program)");
  if (di.dli_sname) snprintf(p->symbol, sizeof p->symbol, "%s", di.dli_sname);
}

/* Loads p->lib (RTLD_LOCAL) and looks p->sym up in it; for lib NULL,
 * p->fn must be set already (a function linked into this program). */
static inline void bench_peer_resolve(bench_peer *p)
{
  if (p->lib) {
    void *h = dlopen(p->lib, RTLD_NOW | RTLD_LOCAL);
    p->fn = h ? dlsym(h, p->sym) : NULL;
  }
  bench_peer_where(p);
}

/* The object's file name without its directory, for a table column. */
static inline const char *bench_peer_base(const bench_peer *p)
{
  const char *s = strrchr(p->object, '/');
  return s ? s + 1 : p->object;
}

/* One line per peer: where each function measured lives. */
static inline void bench_peer_print(const char *label, const bench_peer *p)
{
  printf("  %-22s %s() in %s%s\n", label, p->sym, p->object,
         p->fn ? "" : " — not found, row skipped");
  if (p->fn && strcmp(p->symbol, p->sym) && strcmp(p->symbol, "?"))
    printf("  %-22s (dladdr names the address %s)\n", "", p->symbol);
}

#endif

/* pccache.c — the symbolizer's PC cache: answers of earlier lookups,
 * so a warm PC costs a hash probe, one record and a copy instead of a
 * DWARF walk. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolizer.h"

/* ---------------------------------------------------------- PC cache
 * A table of tagged pointers to immutable records, in buckets of 8
 * slots (one cache line). A slot holds a record's address in its low 48
 * bits and 16 bits of the key's hash above; a reader loads the bucket's
 * slots (acquire), follows only a pointer whose tag matches, and uses
 * the record only if it is for the same symfile and address: a slot is
 * one atomic word, so it cannot tear, and a record, once published,
 * never changes. Records and their strings live in an arena freed with
 * the symbolizer, and every record is also in a map (under pcc_lock), so
 * an answer pushed out of its bucket comes back without a DWARF walk or
 * a second record. Past FS_PCC_ARENA_MAX new answers are no longer cached
 * (lookups stay correct, just slower): the cache's memory is bounded. A
 * warm lookup touches the bucket's cache line and the record (about 64
 * bytes): that is what keeps 10,000 hot PCs fast. */

#define FS_PCC_PTR ((1ull << 48) - 1)

static uint64_t pcc_hash(const fs_symfile *f, uint64_t a)
{
  return ((uintptr_t)f ^ (a * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
}

/* A nonzero 16-bit tag from the hash (so an empty slot never matches). */
static uint64_t pcc_tag(uint64_t h)
{
  return ((h >> 48) | 1) << 48;
}

static _Atomic uint64_t *pcc_bucket(_Atomic uint64_t *t, uint64_t h)
{
  return t +
         ((size_t)(h >> 20) & (FS_PCC_SLOTS / FS_PCC_WAYS - 1)) * FS_PCC_WAYS;
}

/* The record of (f, a) if cached. */
static const pcc_rec *pcc_find(faststack_symbolizer *s, const fs_symfile *f,
                               uint64_t a)
{
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_acquire);
  if (!t) return NULL;
  uint64_t h = pcc_hash(f, a), tag = pcc_tag(h);
  _Atomic uint64_t *b = pcc_bucket(t, h);
  for (int k = 0; k < FS_PCC_WAYS; k++) {
    uint64_t v = atomic_load_explicit(&b[k], memory_order_acquire);
    if ((v & ~FS_PCC_PTR) != tag) continue;
    const pcc_rec *r = (const pcc_rec *)(uintptr_t)(v & FS_PCC_PTR);
    if (r->f == f && r->addr == a) return r;
  }
  return NULL;
}

/* Puts r in its bucket: an empty slot, else one picked by the hash.
 * Caller holds pcc_lock (the only writer). */
static void pcc_install(_Atomic uint64_t *t, pcc_rec *r)
{
  uint64_t h = pcc_hash(r->f, r->addr);
  _Atomic uint64_t *b = pcc_bucket(t, h);
  int k = (int)((h >> 8) % FS_PCC_WAYS);
  for (int i = 0; i < FS_PCC_WAYS; i++)
    if (!atomic_load_explicit(&b[i], memory_order_relaxed)) {
      k = i;
      break;
    }
  atomic_store_explicit(&b[k], pcc_tag(h) | (uint64_t)(uintptr_t)r,
                        memory_order_release);
}

/* The map of all records: the record of (f, a), or NULL; with ins, adds
 * ins (growing the map as it fills). Caller holds pcc_lock. */
static pcc_rec *pcc_map(faststack_symbolizer *s, const fs_symfile *f,
                        uint64_t a, pcc_rec *ins)
{
  if (ins && s->nrecs * 2 >= s->recs_cap) {
    size_t cap = s->recs_cap ? s->recs_cap * 2 : 4096;
    pcc_rec **m = calloc(cap, sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < s->recs_cap; i++) {
      pcc_rec *e = s->recs[i];
      if (!e) continue;
      size_t j = (size_t)pcc_hash(e->f, e->addr) & (cap - 1);
      while (m[j]) j = (j + 1) & (cap - 1);
      m[j] = e;
    }
    free(s->recs);
    s->recs = m;
    s->recs_cap = cap;
  }
  if (!s->recs_cap) return NULL;
  size_t j = (size_t)pcc_hash(f, a) & (s->recs_cap - 1);
  for (pcc_rec *e; (e = s->recs[j]); j = (j + 1) & (s->recs_cap - 1))
    if (e->f == f && e->addr == a) return e;
  if (ins) {
    s->recs[j] = ins;
    s->nrecs++;
  }
  return ins;
}

/* A record pushed out of its bucket, put back: 1 if there was one. */
static int pcc_revive(faststack_symbolizer *s, const fs_symfile *f, uint64_t a)
{
  pthread_mutex_lock(&s->pcc_lock);
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_relaxed);
  pcc_rec *r = t ? pcc_map(s, f, a, NULL) : NULL;
  if (r) pcc_install(t, r);
  pthread_mutex_unlock(&s->pcc_lock);
  return r != NULL;
}

static int pcc_copy(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                    faststack_frame *out, int max, strw *w)
{
  const pcc_rec *r = pcc_find(s, f, a);
  if (!r || r->nframes > (uint32_t)max) return 0;
  for (uint32_t i = 0; i < r->nframes; i++) {
    const pcc_frame *p = &r->fr[i];
    faststack_frame *o = &out[i];
    o->function = fs_strw_strn(w, p->function, p->function_len);
    o->file = fs_strw_strn(w, p->file, p->file_len);
    o->line = p->line;
    o->column = p->column;
    o->inlined = p->inlined;
    o->function_offset = p->function_offset;
    o->source = p->source;
    o->file_md5_valid = p->md5 != NULL;
    if (p->md5) memcpy(o->file_md5, p->md5, 16);
    else memset(o->file_md5, 0, 16);
  }
  return (int)r->nframes;
}

int fs_pcc_get(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
               faststack_frame *out, int max, strw *w)
{
  int n = pcc_copy(s, f, a, out, max, w);
  if (!n && pcc_revive(s, f, a)) n = pcc_copy(s, f, a, out, max, w);
  return n;
}

/* n bytes from the arena, 16-aligned, or NULL past its bound. Caller
 * holds pcc_lock. */
static void *arena_alloc(faststack_symbolizer *s, size_t n)
{
  n = (n + 15) & ~(size_t)15;
  pcc_chunk *c = s->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > FS_PCC_CHUNK ? n : FS_PCC_CHUNK;
    if (s->arena_bytes + cap > FS_PCC_ARENA_MAX) return NULL;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->next = s->chunks;
    c->used = 0;
    c->cap = cap;
    s->chunks = c;
    s->arena_bytes += cap;
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

/* Eight bytes a step: interning hashes every string of every answer
 * cached (paths are long). */
static uint64_t str_hash(const void *p, size_t n)
{
  const unsigned char *b = p;
  uint64_t h = 0xcbf29ce484222325ull ^ n, w;
  for (; n >= 8; b += 8, n -= 8) {
    memcpy(&w, b, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  w = 0;
  memcpy(&w, b, n);
  h = (h ^ w) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 32);
}

/* The length of an interned string (kept in the 2 bytes before it). */
static size_t interned_len(const char *e)
{
  const unsigned char *u = (const unsigned char *)e;
  return (size_t)u[-2] | (size_t)u[-1] << 8;
}

/* The interned copy of the n bytes at p (NUL-terminated; the length is
 * stored in the 2 bytes before it), so every record naming the same
 * function or file shares one copy. NULL when the arena is full. Caller
 * holds pcc_lock. */
static const char *pcc_intern(faststack_symbolizer *s, const void *p, size_t n)
{
  if (n > 0xffff) return NULL;
  if (s->ninterned * 2 >= s->intern_cap) { /* keep it at most half full */
    size_t cap = s->intern_cap ? s->intern_cap * 2 : 1024;
    const char **t = calloc(cap, sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < s->intern_cap; i++) {
      const char *e = s->interned[i];
      if (!e) continue;
      size_t j = (size_t)str_hash(e, interned_len(e)) & (cap - 1);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = e;
    }
    free(s->interned);
    s->interned = t;
    s->intern_cap = cap;
  }
  size_t j = (size_t)str_hash(p, n) & (s->intern_cap - 1);
  for (const char *e; (e = s->interned[j]); j = (j + 1) & (s->intern_cap - 1)) {
    if (interned_len(e) == n && !memcmp(e, p, n)) return e;
  }
  unsigned char *c = arena_alloc(s, n + 3);
  if (!c) return NULL;
  c[0] = (unsigned char)n;
  c[1] = (unsigned char)(n >> 8);
  memcpy(c + 2, p, n);
  c[2 + n] = '\0';
  s->interned[j] = (const char *)c + 2;
  s->ninterned++;
  return (const char *)c + 2;
}

/* Offline symbolizers: has addr been asked before? (A hash collision
 * answers yes: then an answer is cached the first time, harmlessly.) */
int fs_pcc_seen(faststack_symbolizer *s, uint64_t addr)
{
  uint64_t h = (addr * 0x9e3779b97f4a7c15ull) >> 48;
  uint64_t bit = 1ull << (h & 63);
  return (atomic_fetch_or_explicit(&s->seen[h >> 6], bit,
                                   memory_order_relaxed) &
          bit) != 0;
}

/* Caches a complete answer. Answers that do not fit a record's fields
 * (a name longer than 64 KiB, a column past 65535, a function of 4 GiB)
 * are simply not cached. */
void fs_pcc_put(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                const faststack_frame *fr, int n)
{
  for (int i = 0; i < n; i++)
    if (fr[i].column < 0 || fr[i].column > 0xffff ||
        fr[i].function_offset > 0xffffffffu)
      return;
  pthread_mutex_lock(&s->pcc_lock);
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_relaxed);
  if (!t) {
    t = calloc(FS_PCC_SLOTS, sizeof *t);
    if (t) atomic_store_explicit(&s->pcc, t, memory_order_release);
  }
  pcc_rec *r = NULL;
  if (t && (r = pcc_map(s, f, a, NULL))) {
    pcc_install(t, r); /* another thread cached it meanwhile */
    pthread_mutex_unlock(&s->pcc_lock);
    return;
  }
  if (t) r = arena_alloc(s, sizeof *r + (size_t)n * sizeof r->fr[0]);
  for (int i = 0; r && i < n; i++) {
    pcc_frame *p = &r->fr[i];
    size_t fl = fr[i].function ? strlen(fr[i].function) : 0;
    size_t pl = fr[i].file ? strlen(fr[i].file) : 0;
    p->function = fr[i].function ? pcc_intern(s, fr[i].function, fl) : NULL;
    p->file = fr[i].file ? pcc_intern(s, fr[i].file, pl) : NULL;
    p->md5 = fr[i].file_md5_valid
                 ? (const unsigned char *)pcc_intern(s, fr[i].file_md5, 16)
                 : NULL;
    if ((fr[i].function && !p->function) || (fr[i].file && !p->file) ||
        (fr[i].file_md5_valid && !p->md5))
      r = NULL; /* the arena is full: leave it uncached */
    else {
      p->function_len = (uint16_t)fl;
      p->file_len = (uint16_t)pl;
      p->function_offset = (uint32_t)fr[i].function_offset;
      p->line = fr[i].line;
      p->column = (uint16_t)fr[i].column;
      p->inlined = (uint8_t)fr[i].inlined;
      p->source = (uint8_t)fr[i].source;
    }
  }
  if (r) {
    r->f = f;
    r->addr = a;
    r->nframes = (uint32_t)n;
    if (pcc_map(s, f, a, r) == r) pcc_install(t, r);
  }
  pthread_mutex_unlock(&s->pcc_lock);
}

void fs_pcc_free(faststack_symbolizer *s)
{
  free((void *)atomic_load(&s->pcc));
  for (pcc_chunk *c = s->chunks, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(s->interned);
  free(s->recs);
}

/* pprof.c — profile.proto (gzip) and folded-stack writers over a stack
 * table. Runs off the signal path: it allocates, symbolizes and looks up
 * modules. The protobuf encoding is written by hand: the schema is small
 * and fixed, and a generator would be a heavy dependency. */
#define _GNU_SOURCE 1
#include "sinks/sinks.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if FS_HAVE_ZLIB
#include <zlib.h>
#endif

/* The symbolizer is referenced strongly: a static link must pull it in
 * (a weak reference would not, and profiles would lose their names). */

/* ---- growable byte buffer and protobuf primitives ---- */

typedef struct buf {
  unsigned char *p;
  size_t len, cap;
  int oom;
} buf;

static void b_reserve(buf *b, size_t more)
{
  if (b->oom || b->len + more <= b->cap) return;
  size_t nc = b->cap ? b->cap * 2 : 256;
  while (nc < b->len + more) nc *= 2;
  unsigned char *np = realloc(b->p, nc);
  if (!np) {
    b->oom = 1;
    return;
  }
  b->p = np;
  b->cap = nc;
}

static void b_put(buf *b, const void *d, size_t n)
{
  b_reserve(b, n);
  if (b->oom) return;
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

static void b_varint(buf *b, uint64_t v)
{
  unsigned char t[10];
  size_t n = 0;
  do {
    t[n] = (unsigned char)(v & 0x7f);
    v >>= 7;
    if (v) t[n] |= 0x80;
    n++;
  } while (v);
  b_put(b, t, n);
}

/* Wire types: 0 varint, 2 length-delimited. */
static void pb_uint(buf *b, unsigned field, uint64_t v)
{
  if (v == 0) return; /* proto3 default: omitted */
  b_varint(b, (uint64_t)field << 3);
  b_varint(b, v);
}

static void pb_bytes(buf *b, unsigned field, const void *d, size_t n)
{
  b_varint(b, ((uint64_t)field << 3) | 2);
  b_varint(b, n);
  b_put(b, d, n);
}

/* ---- string interning (profile.string_table) ---- */

typedef struct strtab {
  char **strs;
  size_t n, cap;
  size_t *idx; /* open addressing: index+1, 0 empty */
  size_t icap;
  int oom;
} strtab;

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int st_grow(strtab *st)
{
  size_t nic = st->icap ? st->icap * 2 : 256;
  size_t *ni = calloc(nic, sizeof(size_t));
  if (!ni) return -1;
  for (size_t i = 0; i < st->n; i++) {
    size_t j = hash_str(st->strs[i]) & (nic - 1);
    while (ni[j]) j = (j + 1) & (nic - 1);
    ni[j] = i + 1;
  }
  free(st->idx);
  st->idx = ni;
  st->icap = nic;
  return 0;
}

/* Returns the string's index; string 0 is always "". */
static int64_t st_intern(strtab *st, const char *s)
{
  if (!s) s = "";
  if (st->oom) return 0;
  if ((st->n + 1) * 2 > st->icap && st_grow(st) != 0) goto oom;
  size_t j = hash_str(s) & (st->icap - 1);
  while (st->idx[j]) {
    if (strcmp(st->strs[st->idx[j] - 1], s) == 0)
      return (int64_t)(st->idx[j] - 1);
    j = (j + 1) & (st->icap - 1);
  }
  if (st->n == st->cap) {
    size_t nc = st->cap ? st->cap * 2 : 64;
    char **ns = realloc(st->strs, nc * sizeof(char *));
    if (!ns) goto oom;
    st->strs = ns;
    st->cap = nc;
  }
  char *c = strdup(s);
  if (!c) goto oom;
  st->strs[st->n] = c;
  st->idx[j] = ++st->n;
  return (int64_t)(st->n - 1);
oom:
  st->oom = 1;
  return 0;
}

static void st_free(strtab *st)
{
  for (size_t i = 0; i < st->n; i++) free(st->strs[i]);
  free(st->strs);
  free(st->idx);
}

/* ---- u64 -> u64 map (pc -> location id, etc.) ---- */

typedef struct umap {
  uint64_t *k, *v; /* key 0 is reserved as empty; callers store key+1 */
  size_t n, cap;
} umap;

static uint64_t mix(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

static int um_put(umap *m, uint64_t key, uint64_t val);

static int um_grow(umap *m)
{
  size_t nc = m->cap ? m->cap * 2 : 256;
  umap nm = {calloc(nc, 8), calloc(nc, 8), 0, nc};
  if (!nm.k || !nm.v) {
    free(nm.k);
    free(nm.v);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->k[i]) um_put(&nm, m->k[i], m->v[i]);
  free(m->k);
  free(m->v);
  *m = nm;
  return 0;
}

static int um_put(umap *m, uint64_t key, uint64_t val)
{
  if ((m->n + 1) * 2 > m->cap && um_grow(m) != 0) return -1;
  size_t j = mix(key) & (m->cap - 1);
  while (m->k[j] && m->k[j] != key) j = (j + 1) & (m->cap - 1);
  if (!m->k[j]) m->n++;
  m->k[j] = key;
  m->v[j] = val;
  return 0;
}

static uint64_t um_get(const umap *m, uint64_t key)
{
  if (!m->cap) return 0;
  size_t j = mix(key) & (m->cap - 1);
  while (m->k[j]) {
    if (m->k[j] == key) return m->v[j];
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

static void um_free(umap *m)
{
  free(m->k);
  free(m->v);
}

/* ---- symbolization helper ---- */

enum { MAX_INLINE = 32, STRBUF = 4096 };

typedef struct symres {
  faststack_frame f[MAX_INLINE];
  int n;
  char strbuf[STRBUF];
} symres;

static faststack_symbolizer *pick_symbolizer(const faststack_profile_options *o)
{
  if (o && o->symbolizer) return o->symbolizer;
  return faststack_default_symbolizer();
}

/* Symbolizes pc; returns the number of frames with a function name known
 * (0 when the symbolizer is missing or knows nothing). */
static int symbolize(faststack_symbolizer *s, uintptr_t pc, int exact,
                     symres *r)
{
  r->n = 0;
  if (!s) return 0;
  int n = faststack_symbolize(s, pc, exact ? FASTSTACK_PC_EXACT : 0, r->f,
                              MAX_INLINE, r->strbuf, sizeof r->strbuf);
  if (n <= 0) return 0;
  int named = 0;
  for (int i = 0; i < n; i++) named += r->f[i].function != NULL;
  r->n = n;
  return named ? n : 0;
}

/* ---- pprof ---- */

typedef struct pctx {
  buf samples, mappings, locations, functions;
  strtab st;
  umap loc_of_pc;    /* (pc<<1|exact)+1 -> location id */
  umap fn_of_key;    /* hash(name,file) -> function id */
  umap map_of_start; /* module start+1 -> mapping id */
  uint64_t next_loc, next_fn, next_map;
  faststack_symbolizer *sym;
  int64_t period;
  int failed;
  buf tmp, tmp2;
} pctx;

/* The loadable segment holding pc, found through the program headers.
 * pprof (like perf) maps an address to a file offset with the mapping's
 * start and file offset, then to an ELF address through the segment with
 * that offset; so each mapping must be one segment, not the module's whole
 * span. dl_iterate_phdr is fine here: writers run off the signal path. */
typedef struct segq {
  uintptr_t pc, start, limit, offset;
  int found;
} segq;

static int seg_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  segq *q = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    uintptr_t hi = lo + ph->p_memsz;
    if (q->pc < lo || q->pc >= hi) continue;
    /* Page-align like the kernel's mapping, keeping start - offset. */
    uintptr_t adj = ph->p_vaddr & 0xfff;
    if ((ph->p_offset & 0xfff) != adj) adj = 0;
    q->start = lo - adj;
    q->limit = hi;
    q->offset = ph->p_offset - adj;
    q->found = 1;
    return 1;
  }
  return 0;
}

static uint64_t mapping_for(pctx *c, uintptr_t pc)
{
  faststack_module m;
  if (!faststack_module_find(pc, &m)) return 0;
  segq q = {.pc = pc};
  dl_iterate_phdr(seg_cb, &q);
  if (!q.found) { /* the vDSO or an odd object: the module's span */
    q.start = m.start;
    q.limit = m.end;
    q.offset = 0;
  }
  uint64_t id = um_get(&c->map_of_start, (uint64_t)q.start + 1);
  if (id) return id;
  id = ++c->next_map;
  if (um_put(&c->map_of_start, (uint64_t)q.start + 1, id) != 0) c->failed = 1;
  buf *t = &c->tmp;
  t->len = 0;
  pb_uint(t, 1, id);
  pb_uint(t, 2, q.start);
  pb_uint(t, 3, q.limit);
  pb_uint(t, 4, q.offset);
  pb_uint(t, 5, (uint64_t)st_intern(&c->st, m.path));
  pb_uint(t, 6, (uint64_t)st_intern(&c->st, m.build_id));
  int have_sym = c->sym != NULL;
  pb_uint(t, 7, have_sym);  /* has_functions */
  pb_uint(t, 8, have_sym);  /* has_filenames */
  pb_uint(t, 9, have_sym);  /* has_line_numbers */
  pb_uint(t, 10, have_sym); /* has_inline_frames */
  pb_bytes(&c->mappings, 3, t->p, t->len);
  return id;
}

static uint64_t function_for(pctx *c, const char *name, const char *file)
{
  uint64_t key = mix(hash_str(name) ^ mix(hash_str(file ? file : "")));
  if (!key) key = 1;
  uint64_t id = um_get(&c->fn_of_key, key);
  if (id) return id;
  id = ++c->next_fn;
  if (um_put(&c->fn_of_key, key, id) != 0) c->failed = 1;
  buf *t = &c->tmp2;
  t->len = 0;
  int64_t ni = st_intern(&c->st, name);
  pb_uint(t, 1, id);
  pb_uint(t, 2, (uint64_t)ni);
  /* system_name stays empty: pprof takes a name equal to its
   * system_name for one still to demangle, and its simplifier strips
   * the template arguments and parameters of a demangled C++ name, so
   * work<1>(double) and work<2>(double) would both be "work". */
  pb_uint(t, 3, 0);
  pb_uint(t, 4, (uint64_t)st_intern(&c->st, file));
  pb_bytes(&c->functions, 5, t->p, t->len);
  return id;
}

static uint64_t location_for(pctx *c, uintptr_t pc, int exact)
{
  uint64_t key = (((uint64_t)pc << 1) | (unsigned)exact) + 1;
  uint64_t id = um_get(&c->loc_of_pc, key);
  if (id) return id;
  id = ++c->next_loc;
  if (um_put(&c->loc_of_pc, key, id) != 0) c->failed = 1;
  /* Return addresses point past the call; pprof expects an address in
   * the instruction that was executing. */
  uint64_t addr = exact ? pc : pc - 1;
  uint64_t map = mapping_for(c, pc);
  symres r;
  int n = symbolize(c->sym, pc, exact, &r);
  buf loc = {0};
  pb_uint(&loc, 1, id);
  pb_uint(&loc, 2, map);
  pb_uint(&loc, 3, addr);
  /* Line entries: innermost (inlined callee) first, the physical
   * function last — the symbolizer's order, as profile.proto wants. */
  for (int i = 0; i < n; i++) {
    const faststack_frame *f = &r.f[i];
    char unk[40];
    const char *name = f->function;
    if (!name) {
      snprintf(unk, sizeof unk, "0x%lx", (unsigned long)addr);
      name = unk;
    }
    uint64_t fid = function_for(c, name, f->file);
    buf ln = {0};
    pb_uint(&ln, 1, fid);
    pb_uint(&ln, 2, f->line > 0 ? (uint64_t)f->line : 0);
    pb_uint(&ln, 3, f->column > 0 ? (uint64_t)f->column : 0);
    pb_bytes(&loc, 4, ln.p, ln.len);
    if (ln.oom) c->failed = 1;
    free(ln.p);
  }
  pb_bytes(&c->locations, 4, loc.p, loc.len);
  if (loc.oom) c->failed = 1;
  free(loc.p);
  return id;
}

static int visit_sample(void *arg, const faststack_stack_entry *e)
{
  pctx *c = arg;
  buf s = {0}, ids = {0};
  for (int i = 0; i < e->n; i++)
    b_varint(&ids,
             location_for(c, e->pcs[i],
                          i == 0 && (e->flags & FASTSTACK_PCS_UCONTEXT) != 0));
  pb_bytes(&s, 1, ids.p, ids.len); /* packed location_id */
  buf vals = {0};
  b_varint(&vals, e->count);
  if (c->period > 0) b_varint(&vals, e->count * (uint64_t)c->period);
  pb_bytes(&s, 2, vals.p, vals.len); /* packed value */
  pb_bytes(&c->samples, 2, s.p, s.len);
  if (s.oom || ids.oom || vals.oom) c->failed = 1;
  free(s.p);
  free(ids.p);
  free(vals.p);
  return c->failed;
}

static void value_type(pctx *c, buf *out, unsigned field, const char *type,
                       const char *unit)
{
  buf t = {0};
  pb_uint(&t, 1, (uint64_t)st_intern(&c->st, type));
  pb_uint(&t, 2, (uint64_t)st_intern(&c->st, unit));
  pb_bytes(out, field, t.p ? t.p : (unsigned char *)"", t.len);
  if (t.oom) c->failed = 1;
  free(t.p);
}

static int write_all(int fd, const void *p, size_t n)
{
  const char *q = p;
  while (n) {
    ssize_t w = write(fd, q, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    q += w;
    n -= (size_t)w;
  }
  return 0;
}

#if FS_HAVE_ZLIB
static int gzip_write(int fd, const unsigned char *p, size_t n)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16: a gzip wrapper, which pprof expects. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    errno = ENOMEM;
    return -1;
  }
  unsigned char out[16384];
  z.next_in = (unsigned char *)p;
  z.avail_in = (uInt)n;
  int rc, err = 0;
  do {
    z.next_out = out;
    z.avail_out = sizeof out;
    rc = deflate(&z, Z_FINISH);
    if (rc == Z_STREAM_ERROR) {
      err = 1;
      break;
    }
    if (write_all(fd, out, sizeof out - z.avail_out) != 0) {
      err = 1;
      break;
    }
  } while (rc != Z_STREAM_END);
  deflateEnd(&z);
  return err ? -1 : 0;
}
#else
/* Built without zlib (FASTSTACK_WITH_ZLIB): the profile uncompressed,
 * which pprof reads as well. */
static int gzip_write(int fd, const unsigned char *p, size_t n)
{
  return write_all(fd, p, n);
}
#endif

int faststack_write_pprof(int fd, const faststack_stack_table *t,
                          const faststack_profile_options *o)
{
  if (fd < 0 || !t) {
    errno = EINVAL;
    return -1;
  }
  pctx c;
  memset(&c, 0, sizeof c);
  c.sym = pick_symbolizer(o);
  c.period = o ? o->period : 0;
  st_intern(&c.st, ""); /* string_table[0] must be "" */
  const char *stype = o && o->sample_type ? o->sample_type : "cpu";
  const char *sunit = o && o->sample_unit ? o->sample_unit : "nanoseconds";

  buf head = {0};
  value_type(&c, &head, 1, "samples", "count");
  if (c.period > 0) value_type(&c, &head, 1, stype, sunit);
  faststack_stack_table_foreach(t, visit_sample, &c);

  buf out = {0};
  b_put(&out, head.p ? head.p : (unsigned char *)"", head.len);
  b_put(&out, c.samples.p ? c.samples.p : (unsigned char *)"", c.samples.len);
  b_put(&out, c.mappings.p ? c.mappings.p : (unsigned char *)"",
        c.mappings.len);
  b_put(&out, c.locations.p ? c.locations.p : (unsigned char *)"",
        c.locations.len);
  b_put(&out, c.functions.p ? c.functions.p : (unsigned char *)"",
        c.functions.len);
  int64_t tn = o ? o->time_nanos : 0;
  if (tn == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tn = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  pb_uint(&out, 9, (uint64_t)tn);
  if (o && o->duration_nanos > 0)
    pb_uint(&out, 10, (uint64_t)o->duration_nanos);
  if (c.period > 0) {
    value_type(&c, &out, 11, stype, sunit);
    pb_uint(&out, 12, (uint64_t)c.period);
  }
  /* The string table goes last: every string is interned by now. */
  for (size_t i = 0; i < c.st.n; i++)
    pb_bytes(&out, 6, c.st.strs[i], strlen(c.st.strs[i]));

  int rc = -1;
  if (out.oom || head.oom || c.samples.oom || c.mappings.oom ||
      c.locations.oom || c.functions.oom || c.st.oom || c.failed)
    errno = ENOMEM;
  else rc = gzip_write(fd, out.p, out.len);
  free(out.p);
  free(head.p);
  free(c.samples.p);
  free(c.mappings.p);
  free(c.locations.p);
  free(c.functions.p);
  free(c.tmp.p);
  free(c.tmp2.p);
  st_free(&c.st);
  um_free(&c.loc_of_pc);
  um_free(&c.fn_of_key);
  um_free(&c.map_of_start);
  return rc;
}

/* ---- folded ---- */

/* Distinct PC sequences can name the same functions (two return
 * addresses in one function, a stack interned twice under a race): the
 * lines are collected, sorted and summed, so each stack is one line. */
typedef struct fline {
  char *text;
  uint64_t count;
} fline;

typedef struct fctx {
  faststack_symbolizer *sym;
  FILE *f; /* the current line's text */
  char *mem;
  size_t len;
  fline *lines;
  size_t n, cap;
  int failed;
} fctx;

static void folded_unknown(FILE *f, uintptr_t pc, int exact)
{
  faststack_module m;
  uintptr_t a = exact ? pc : pc - 1;
  if (faststack_module_find(pc, &m)) {
    const char *base = strrchr(m.path, '/');
    fprintf(f, "%s+0x%lx", base ? base + 1 : m.path,
            (unsigned long)(a - m.bias));
  } else {
    fprintf(f, "0x%lx", (unsigned long)a);
  }
}

/* Folded lines may not contain ';' inside a frame or a newline. */
static void folded_name(FILE *f, const char *s)
{
  for (; *s; s++)
    fputc(*s == ';' ? ':' : (*s == '\n' || *s == ' ') ? '_' : *s, f);
}

static void folded_stack(FILE *f, faststack_symbolizer *sym,
                         const faststack_stack_entry *e)
{
  int first = 1;
  for (int i = e->n - 1; i >= 0; i--) {
    int exact = i == 0 && (e->flags & FASTSTACK_PCS_UCONTEXT) != 0;
    symres r;
    int n = symbolize(sym, e->pcs[i], exact, &r);
    if (n == 0) {
      if (!first) fputc(';', f);
      folded_unknown(f, e->pcs[i], exact);
      first = 0;
      continue;
    }
    /* Root first: the physical function, then inlined callees inward. */
    for (int k = n - 1; k >= 0; k--) {
      if (!first) fputc(';', f);
      if (r.f[k].function) folded_name(f, r.f[k].function);
      else folded_unknown(f, e->pcs[i], exact);
      first = 0;
    }
  }
  if (first) fputs("[unknown]", f);
}

static int visit_folded(void *arg, const faststack_stack_entry *e)
{
  fctx *c = arg;
  c->mem = NULL;
  c->len = 0;
  FILE *f = open_memstream(&c->mem, &c->len);
  if (!f) return c->failed = 1;
  folded_stack(f, c->sym, e);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(c->mem);
    return c->failed = 1;
  }
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 256;
    fline *nl = realloc(c->lines, nc * sizeof *nl);
    if (!nl) {
      free(c->mem);
      return c->failed = 1;
    }
    c->lines = nl;
    c->cap = nc;
  }
  c->lines[c->n++] = (fline){c->mem, e->count};
  return 0;
}

static int cmp_fline(const void *a, const void *b)
{
  return strcmp(((const fline *)a)->text, ((const fline *)b)->text);
}

/* The sorted lines, equal ones summed, into f. */
static void folded_emit(FILE *f, fline *l, size_t n)
{
  if (n == 0) return; /* l may be NULL: qsort's contract wants an array */
  qsort(l, n, sizeof *l, cmp_fline);
  for (size_t i = 0; i < n;) {
    uint64_t sum = 0;
    size_t j = i;
    for (; j < n && !strcmp(l[j].text, l[i].text); j++) sum += l[j].count;
    fprintf(f, "%s %llu\n", l[i].text, (unsigned long long)sum);
    i = j;
  }
}

int faststack_write_folded(int fd, const faststack_stack_table *t,
                           const faststack_profile_options *o)
{
  if (fd < 0 || !t) {
    errno = EINVAL;
    return -1;
  }
  fctx c = {.sym = pick_symbolizer(o)};
  faststack_stack_table_foreach(t, visit_folded, &c);
  char *mem = NULL;
  size_t len = 0;
  FILE *f = c.failed ? NULL : open_memstream(&mem, &len);
  int rc = -1;
  if (f) {
    folded_emit(f, c.lines, c.n);
    uint64_t ov = faststack_stack_table_overflow(t);
    if (ov) fprintf(f, "[overflow] %llu\n", (unsigned long long)ov);
    int bad = ferror(f);
    if (fclose(f) == 0 && !bad) rc = write_all(fd, mem, len);
  }
  for (size_t i = 0; i < c.n; i++) free(c.lines[i].text);
  free(c.lines);
  free(mem);
  return rc;
}

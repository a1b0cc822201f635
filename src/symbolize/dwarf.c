/* dwarf.c — DWARF 2-5 reader: CU index, lazy per-CU line table and
 * function/inline tree, LRU-bounded cache. See docs/dwarf.md.
 * Every read goes through fs_rd, which never reads past its end and
 * latches an error flag instead; callers check the flag at unit
 * boundaries, so corrupt input degrades to "unknown".
 *
 * Why one file of this size: it is one concern, answering "which
 * function, file and line hold this address" from .debug_info and
 * .debug_line, and its parts (the bounds-checked reader, forms, DIEs,
 * line programs) are small static functions that the compiler inlines
 * into the hot decode loops — libbacktrace's dwarf.c is one file for the
 * same reason. Sections are marked below. */

#include "symbolize/dwarf.h"
#include "common/common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bounds-checked reader ---------------------------------------- */

typedef struct fs_rd {
  const uint8_t *p, *end;
  int bad;
} fs_rd;

static void rd_init(fs_rd *r, fs_bytes b, uint64_t off, uint64_t len)
{
  r->bad = 0;
  if (!b.p || off > b.n || len > b.n - off) {
    r->p = r->end = NULL;
    r->bad = 1;
    return;
  }
  r->p = b.p + off;
  r->end = r->p + len;
}

static int rd_need(fs_rd *r, size_t n)
{
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    r->p = r->end;
    return 0;
  }
  return 1;
}

static inline uint64_t rd_uN(fs_rd *r, int n)
{
  uint64_t v = 0;
  if (!rd_need(r, (size_t)n)) return 0;
  /* Little-endian host: the common sizes are one load. */
  switch (n) {
  case 1: v = r->p[0]; break;
  case 2: {
    uint16_t t;
    memcpy(&t, r->p, 2);
    v = t;
    break;
  }
  case 4: {
    uint32_t t;
    memcpy(&t, r->p, 4);
    v = t;
    break;
  }
  case 8: memcpy(&v, r->p, 8); break;
  default:
    for (int i = 0; i < n && i < 8; i++) v |= (uint64_t)r->p[i] << (8 * i);
  }
  r->p += n;
  return v;
}

static uint8_t rd_u8(fs_rd *r)
{
  return (uint8_t)rd_uN(r, 1);
}

static void rd_skip(fs_rd *r, uint64_t n)
{
  if (n > (uint64_t)(r->end - r->p)) {
    r->bad = 1;
    r->p = r->end;
    return;
  }
  r->p += n;
}

static uint64_t rd_uleb_slow(fs_rd *r)
{
  uint64_t v = 0;
  int shift = 0;
  for (;;) {
    if (!rd_need(r, 1)) return 0;
    uint8_t b = *r->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) return v;
  }
}

/* Most LEB128 values in DWARF are one byte: that case inline. */
static inline uint64_t rd_uleb(fs_rd *r)
{
  if (!r->bad && r->p < r->end && !(*r->p & 0x80)) return *r->p++;
  return rd_uleb_slow(r);
}

static int64_t rd_sleb(fs_rd *r)
{
  uint64_t v = 0;
  int shift = 0;
  uint8_t b;
  do {
    if (!rd_need(r, 1)) return 0;
    b = *r->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}

/* A NUL-terminated string inside the reader; advances past it. */
static const char *rd_cstr(fs_rd *r)
{
  if (r->bad) return NULL;
  const uint8_t *z = memchr(r->p, 0, (size_t)(r->end - r->p));
  if (!z) {
    r->bad = 1;
    r->p = r->end;
    return NULL;
  }
  const char *s = (const char *)r->p;
  r->p = z + 1;
  return s;
}

/* A string at off in a section, or NULL when off is out of range or the
 * string is unterminated (so we never hand out a runaway pointer). */
static const char *sec_str(fs_bytes b, uint64_t off)
{
  if (!b.p || off >= b.n) return NULL;
  if (!memchr(b.p + off, 0, b.n - off)) return NULL;
  return (const char *)b.p + off;
}

/* ---- constants ---------------------------------------------------- */

enum {
  F_addr = 0x01,
  F_block2 = 0x03,
  F_block4 = 0x04,
  F_data2 = 0x05,
  F_data4 = 0x06,
  F_data8 = 0x07,
  F_string = 0x08,
  F_block = 0x09,
  F_block1 = 0x0a,
  F_data1 = 0x0b,
  F_flag = 0x0c,
  F_sdata = 0x0d,
  F_strp = 0x0e,
  F_udata = 0x0f,
  F_ref_addr = 0x10,
  F_ref1 = 0x11,
  F_ref2 = 0x12,
  F_ref4 = 0x13,
  F_ref8 = 0x14,
  F_ref_udata = 0x15,
  F_indirect = 0x16,
  F_sec_offset = 0x17,
  F_exprloc = 0x18,
  F_flag_present = 0x19,
  F_strx = 0x1a,
  F_addrx = 0x1b,
  F_ref_sup4 = 0x1c,
  F_strp_sup = 0x1d,
  F_data16 = 0x1e,
  F_line_strp = 0x1f,
  F_ref_sig8 = 0x20,
  F_implicit_const = 0x21,
  F_loclistx = 0x22,
  F_rnglistx = 0x23,
  F_ref_sup8 = 0x24,
  F_strx1 = 0x25,
  F_strx2 = 0x26,
  F_strx3 = 0x27,
  F_strx4 = 0x28,
  F_addrx1 = 0x29,
  F_addrx2 = 0x2a,
  F_addrx3 = 0x2b,
  F_addrx4 = 0x2c,
  F_GNU_addr_index = 0x1f01,
  F_GNU_str_index = 0x1f02,
  F_GNU_ref_alt = 0x1f20,
  F_GNU_strp_alt = 0x1f21
};

enum {
  A_name = 0x03,
  A_stmt_list = 0x10,
  A_low_pc = 0x11,
  A_high_pc = 0x12,
  A_comp_dir = 0x1b,
  A_abstract_origin = 0x31,
  A_declaration = 0x3c,
  A_specification = 0x47,
  A_ranges = 0x55,
  A_call_column = 0x57,
  A_call_file = 0x58,
  A_call_line = 0x59,
  A_linkage_name = 0x6e,
  A_inline = 0x20,
  A_sibling = 0x01,
  A_MIPS_linkage_name = 0x2007,
  A_str_offsets_base = 0x72,
  A_addr_base = 0x73,
  A_rnglists_base = 0x74,
  A_dwo_name = 0x76,
  A_GNU_dwo_name = 0x2130,
  A_GNU_dwo_id = 0x2131,
  A_GNU_ranges_base = 0x2132,
  A_GNU_addr_base = 0x2133
};

enum {
  T_compile_unit = 0x11,
  T_partial_unit = 0x3c,
  T_skeleton_unit = 0x4a,
  T_subprogram = 0x2e,
  T_inlined_subroutine = 0x1d
};

/* Value classes of a decoded attribute. */
enum {
  V_NONE,
  V_UNS,
  V_SIGNED,
  V_ADDR,
  V_ADDRX,
  V_STR,
  V_STRX,
  V_REF,
  V_REFADDR,
  V_REFSUP, /* an offset in the supplementary file's .debug_info */
  V_SECOFF,
  V_RNGLISTX
};

typedef struct fs_attrval {
  int cls;
  uint64_t u;
  const char *s;
} fs_attrval;

/* ---- abbreviations ------------------------------------------------ */

typedef struct fs_abbrev_attr {
  uint32_t name, form;
  int64_t implicit;
  uint8_t slot; /* the fs_die field it fills (attr_slot), 0: none */
  int8_t size;  /* the value's size in the planned unit, -1: variable or
                   not planned (abbrevs_plan) */
} fs_abbrev_attr;

typedef struct fs_abbrev {
  uint64_t code;
  uint32_t tag, nattr, first; /* first: index into attrs */
  uint8_t children;
  /* Bytes of all attribute values when every form has a fixed size in
   * the unit being walked (abbrevs_plan), else -1: skipping a DIE the
   * walk does not need is then one bounds-checked add. */
  int32_t fixed;
  /* Where DW_AT_sibling's value starts in the DIE's values, when every
   * value before it has a fixed size (and its form), else -1: a subtree
   * the walk does not need is then one jump. */
  int32_t sib_off;
  uint32_t sib_form;
  uint8_t has_pc;     /* a low_pc or ranges attribute */
  uint8_t has_inline; /* DW_AT_inline: an abstract instance root */
} fs_abbrev;

typedef struct fs_abbrevs {
  fs_abbrev *a;
  size_t n;
  fs_abbrev_attr *attrs;
  size_t nattrs;
  int dense; /* a[i].code == i + 1 for all i: O(1) lookup */
} fs_abbrevs;

static void abbrevs_free(fs_abbrevs *t)
{
  free(t->a);
  free(t->attrs);
  memset(t, 0, sizeof *t);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return 0;
  *p = q;
  *cap = c;
  return 1;
}

/* The DIE fields the reader keeps (fs_die), by attribute. */
enum {
  S_none,
  S_name,
  S_linkage,
  S_origin,
  S_spec,
  S_low,
  S_high,
  S_ranges,
  S_call_file,
  S_call_line,
  S_call_col,
  S_stmt,
  S_comp_dir,
  S_str_base,
  S_addr_base,
  S_rng_base,
  S_decl,
  S_inline,
  S_dwo_name,
  S_dwo_id,
  S_gnu_rng_base,
  S_count
};

static uint8_t attr_slot(uint64_t name)
{
  switch (name) {
  case A_name: return S_name;
  case A_linkage_name:
  case A_MIPS_linkage_name: return S_linkage;
  case A_abstract_origin: return S_origin;
  case A_specification: return S_spec;
  case A_low_pc: return S_low;
  case A_high_pc: return S_high;
  case A_ranges: return S_ranges;
  case A_call_file: return S_call_file;
  case A_call_line: return S_call_line;
  case A_call_column: return S_call_col;
  case A_stmt_list: return S_stmt;
  case A_comp_dir: return S_comp_dir;
  case A_str_offsets_base: return S_str_base;
  case A_addr_base:
  case A_GNU_addr_base: return S_addr_base;
  case A_rnglists_base: return S_rng_base;
  case A_dwo_name:
  case A_GNU_dwo_name: return S_dwo_name;
  case A_GNU_dwo_id: return S_dwo_id;
  case A_GNU_ranges_base: return S_gnu_rng_base;
  case A_declaration: return S_decl;
  case A_inline: return S_inline;
  default: return S_none;
  }
}

static int abbrevs_parse(fs_bytes sec, uint64_t off, fs_abbrevs *t)
{
  fs_rd r;
  size_t cap = 0, acap = 0;
  memset(t, 0, sizeof *t);
  rd_init(&r, sec, off, off <= sec.n ? sec.n - off : 0);
  t->dense = 1;
  for (;;) {
    uint64_t code = rd_uleb(&r);
    if (r.bad) goto fail;
    if (code == 0) return 0;
    if (!grow((void **)&t->a, &cap, t->n + 1, sizeof *t->a)) goto fail;
    fs_abbrev *a = &t->a[t->n];
    a->code = code;
    a->tag = (uint32_t)rd_uleb(&r);
    a->children = rd_u8(&r);
    a->first = (uint32_t)t->nattrs;
    a->nattr = 0;
    a->fixed = -1; /* until abbrevs_plan */
    a->sib_off = -1;
    a->has_pc = a->has_inline = 0;
    for (;;) {
      uint64_t name = rd_uleb(&r), form = rd_uleb(&r);
      int64_t ic = form == F_implicit_const ? rd_sleb(&r) : 0;
      if (r.bad) goto fail;
      if (name == 0 && form == 0) break;
      if (!grow((void **)&t->attrs, &acap, t->nattrs + 1, sizeof *t->attrs))
        goto fail;
      t->attrs[t->nattrs++] = (fs_abbrev_attr){(uint32_t)name, (uint32_t)form,
                                               ic, attr_slot(name), -1};
      a->nattr++;
    }
    if (code != t->n + 1) t->dense = 0;
    t->n++;
  }
fail:
  abbrevs_free(t);
  return -1;
}

static const fs_abbrev *abbrev_find(const fs_abbrevs *t, uint64_t code)
{
  if (t->dense) return code >= 1 && code <= t->n ? &t->a[code - 1] : NULL;
  for (size_t i = 0; i < t->n; i++)
    if (t->a[i].code == code) return &t->a[i];
  return NULL;
}

/* Size of a value of form in a unit with the given address and offset
 * sizes, or -1 when it is variable (LEB128, strings, blocks, indirect). */
static int form_size(uint32_t form, int addr_size, int offsz, int version)
{
  switch (form) {
  case F_addr: return addr_size;
  case F_data1:
  case F_flag:
  case F_ref1:
  case F_strx1:
  case F_addrx1: return 1;
  case F_data2:
  case F_ref2:
  case F_strx2:
  case F_addrx2: return 2;
  case F_strx3:
  case F_addrx3: return 3;
  case F_data4:
  case F_ref4:
  case F_ref_sup4:
  case F_strx4:
  case F_addrx4: return 4;
  case F_data8:
  case F_ref8:
  case F_ref_sig8:
  case F_ref_sup8: return 8;
  case F_data16: return 16;
  case F_flag_present:
  case F_implicit_const: return 0;
  case F_strp:
  case F_line_strp:
  case F_sec_offset:
  case F_strp_sup:
  case F_GNU_strp_alt:
  case F_GNU_ref_alt: return offsz;
  case F_ref_addr: return version <= 2 ? addr_size : offsz;
  default: return -1;
  }
}

/* Computes each abbreviation's fixed size for a unit's sizes. */
static void abbrevs_plan(fs_abbrevs *t, int addr_size, int offsz, int version)
{
  for (size_t i = 0; i < t->n; i++) {
    fs_abbrev *a = &t->a[i];
    int64_t sum = 0;
    a->sib_off = -1;
    for (uint32_t k = 0; k < a->nattr; k++) {
      fs_abbrev_attr *at = &t->attrs[a->first + k];
      int sz = form_size(at->form, addr_size, offsz, version);
      at->size = (int8_t)(sz <= 64 ? sz : -1);
      if (at->name == A_sibling && sum >= 0 && sum <= INT32_MAX &&
          (at->form == F_ref1 || at->form == F_ref2 || at->form == F_ref4 ||
           at->form == F_ref8)) {
        a->sib_off = (int32_t)sum;
        a->sib_form = at->form;
      }
      if (at->name == A_low_pc || at->name == A_ranges) a->has_pc = 1;
      if (at->name == A_inline) a->has_inline = 1;
      sum = sz < 0 || sum < 0 ? -1 : sum + sz;
    }
    a->fixed = sum >= 0 && sum <= INT32_MAX ? (int32_t)sum : -1;
  }
}

/* ---- units -------------------------------------------------------- */

typedef struct fs_unit {
  uint64_t off, end; /* unit bounds in .debug_info */
  uint64_t die_off;  /* first DIE */
  uint64_t abbrev_off;
  int version, addr_size, offsz;
  int utype; /* DW_UT_*; DWARF 2-4 units are 1 (compile) */
  /* from the unit DIE */
  uint64_t str_offsets_base, addr_base, rnglists_base, base_addr;
  uint64_t stmt_list;
  int has_stmt;
  const char *comp_dir, *name;
  /* Split DWARF: a skeleton's split unit (dwo_name set); the base a GNU
   * DWARF 4 skeleton gives its split unit's DW_AT_ranges offsets
   * (DW_AT_GNU_ranges_base: not its own), and in the split unit the base
   * applied. */
  const char *dwo_name;
  uint64_t dwo_id, split_ranges_base, ranges_base;
  int has_dwo_id;
} fs_unit;

typedef struct fs_row {
  uint64_t addr;
  uint32_t line;
  uint16_t file; /* 0xffff: end of a sequence */
  uint16_t col;
} fs_row;

typedef struct fs_file {
  const char *dir, *name;
  const uint8_t *md5;
} fs_file;

typedef struct fs_func {
  const char *name, *linkage;
  uint64_t name_off; /* the DIE naming it, when it has no linkage name and
                        the name looks like C++ (qualify()); else 0 */
  int32_t parent;    /* enclosing function, -1 for a subprogram */
  uint32_t call_file, call_line, call_col;
  uint8_t inlined;
  uint64_t entry; /* low pc of the physical function */
} fs_func;

typedef struct fs_frange {
  uint64_t lo, hi;
  uint64_t maxhi; /* max hi over ranges[0..i]: bounds the backward scan */
  uint32_t func, depth;
} fs_frange;

typedef struct fs_decoded {
  fs_row *rows;
  size_t nrows;
  fs_file *files;
  size_t nfiles;
  fs_func *funcs;
  size_t nfuncs;
  fs_frange *ranges;
  size_t nranges;
  size_t bytes;
} fs_decoded;

typedef struct fs_cu {
  fs_unit u;
  fs_decoded *dec;
  uint64_t lru;
  int failed;
  int decoding; /* a thread is decoding it, without the lock */
} fs_cu;

typedef struct fs_cu_range {
  uint64_t lo, hi;
  uint32_t cu;
} fs_cu_range;

struct fs_dwarf {
  fs_dwarf_sections s;
  fs_cu *cus;
  size_t ncus;
  fs_cu_range *idx;
  size_t nidx;
  /* The supplementary file's units (headers only; their unit DIEs are
   * read when a reference first leads into them), by offset. */
  fs_unit *sup_units;
  size_t nsup;
  fs_dwo_fn dwo_fn; /* split DWARF: finds a skeleton's split unit */
  void *dwo_arg;
  size_t budget, used;
  uint64_t tick;
  pthread_mutex_t mu;
  pthread_cond_t decoded; /* a CU's decoding ended */
  char err[160];
};

static void set_err(fs_dwarf *d, const char *what, uint64_t off)
{
  snprintf(d->err, sizeof d->err, "dwarf: %s (at 0x%llx)", what,
           (unsigned long long)off);
}

/* Parses a unit header at off. Returns 0 and fills u; -1 if corrupt. */
static int unit_header(const fs_dwarf_sections *s, uint64_t off, fs_unit *u)
{
  fs_rd r;
  memset(u, 0, sizeof *u);
  rd_init(&r, s->info, off, s->info.n - (off <= s->info.n ? off : s->info.n));
  uint64_t len = rd_uN(&r, 4);
  u->offsz = 4;
  if (len == 0xffffffffu) {
    len = rd_uN(&r, 8);
    u->offsz = 8;
  } else if (len >= 0xfffffff0u) {
    return -1;
  }
  if (r.bad || len > (uint64_t)(r.end - r.p)) return -1;
  u->off = off;
  u->end = (uint64_t)(r.p - s->info.p) + len;
  r.end = r.p + len;
  u->version = (int)rd_uN(&r, 2);
  if (u->version < 2 || u->version > 5) return -1;
  int utype = 1;
  if (u->version >= 5) {
    utype = rd_u8(&r);
    u->addr_size = rd_u8(&r);
    u->abbrev_off = rd_uN(&r, u->offsz);
    if (utype == 4 || utype == 5) { /* skeleton, split: dwo_id */
      u->dwo_id = rd_uN(&r, 8);
      u->has_dwo_id = 1;
    }
    if (utype == 2 || utype == 6) rd_skip(&r, 8 + u->offsz); /* type */
  } else {
    u->abbrev_off = rd_uN(&r, u->offsz);
    u->addr_size = rd_u8(&r);
  }
  if (r.bad || (u->addr_size != 4 && u->addr_size != 8)) return -1;
  u->die_off = (uint64_t)(r.p - s->info.p);
  u->str_offsets_base = u->version >= 5 ? 8 : 0;
  u->utype = utype;
  return utype == 1 || utype == 3 || utype == 4 ? 0 : 1; /* 1: not a CU */
}

/* Reads one attribute value of the given form. */
static void read_form(const fs_dwarf_sections *s, const fs_unit *u, fs_rd *r,
                      uint32_t form, int64_t ic, fs_attrval *v)
{
  v->cls = V_UNS;
  v->s = NULL;
  v->u = 0;
  for (int hops = 0; form == F_indirect && hops < 4; hops++)
    form = (uint32_t)rd_uleb(r);
  switch (form) {
  case F_addr:
    v->cls = V_ADDR;
    v->u = rd_uN(r, u->addr_size);
    break;
  case F_data1:
  case F_flag: v->u = rd_uN(r, 1); break;
  case F_data2: v->u = rd_uN(r, 2); break;
  case F_data4: v->u = rd_uN(r, 4); break;
  case F_data8: v->u = rd_uN(r, 8); break;
  case F_data16:
    rd_skip(r, 16);
    v->cls = V_NONE;
    break;
  case F_sdata:
    v->cls = V_SIGNED;
    v->u = (uint64_t)rd_sleb(r);
    break;
  case F_udata: v->u = rd_uleb(r); break;
  case F_implicit_const:
    v->cls = V_SIGNED;
    v->u = (uint64_t)ic;
    break;
  case F_flag_present: v->u = 1; break;
  case F_string:
    v->cls = V_STR;
    v->s = rd_cstr(r);
    break;
  case F_strp:
    v->cls = V_STR;
    v->s = sec_str(s->str, rd_uN(r, u->offsz));
    break;
  case F_line_strp:
    v->cls = V_STR;
    v->s = sec_str(s->line_str, rd_uN(r, u->offsz));
    break;
  case F_strp_sup:
  case F_GNU_strp_alt:
    /* dwz moved the string into the supplementary file. */
    v->u = rd_uN(r, u->offsz);
    v->s = s->sup ? sec_str(s->sup->str, v->u) : NULL;
    v->cls = v->s ? V_STR : V_NONE;
    break;
  case F_GNU_ref_alt:
    v->cls = V_REFSUP;
    v->u = rd_uN(r, u->offsz);
    break;
  case F_ref_sup4:
    v->cls = V_REFSUP;
    v->u = rd_uN(r, 4);
    break;
  case F_ref_sup8:
    v->cls = V_REFSUP;
    v->u = rd_uN(r, 8);
    break;
  case F_ref_sig8:
    rd_skip(r, 8);
    v->cls = V_NONE;
    break;
  case F_strx:
  case F_GNU_str_index:
    v->cls = V_STRX;
    v->u = rd_uleb(r);
    break;
  case F_strx1:
    v->cls = V_STRX;
    v->u = rd_uN(r, 1);
    break;
  case F_strx2:
    v->cls = V_STRX;
    v->u = rd_uN(r, 2);
    break;
  case F_strx3:
    v->cls = V_STRX;
    v->u = rd_uN(r, 3);
    break;
  case F_strx4:
    v->cls = V_STRX;
    v->u = rd_uN(r, 4);
    break;
  case F_addrx:
  case F_GNU_addr_index:
    v->cls = V_ADDRX;
    v->u = rd_uleb(r);
    break;
  case F_addrx1:
    v->cls = V_ADDRX;
    v->u = rd_uN(r, 1);
    break;
  case F_addrx2:
    v->cls = V_ADDRX;
    v->u = rd_uN(r, 2);
    break;
  case F_addrx3:
    v->cls = V_ADDRX;
    v->u = rd_uN(r, 3);
    break;
  case F_addrx4:
    v->cls = V_ADDRX;
    v->u = rd_uN(r, 4);
    break;
  case F_ref1:
    v->cls = V_REF;
    v->u = u->off + rd_uN(r, 1);
    break;
  case F_ref2:
    v->cls = V_REF;
    v->u = u->off + rd_uN(r, 2);
    break;
  case F_ref4:
    v->cls = V_REF;
    v->u = u->off + rd_uN(r, 4);
    break;
  case F_ref8:
    v->cls = V_REF;
    v->u = u->off + rd_uN(r, 8);
    break;
  case F_ref_udata:
    v->cls = V_REF;
    v->u = u->off + rd_uleb(r);
    break;
  case F_ref_addr:
    v->cls = V_REFADDR;
    v->u = rd_uN(r, u->version <= 2 ? u->addr_size : u->offsz);
    break;
  case F_sec_offset:
    v->cls = V_SECOFF;
    v->u = rd_uN(r, u->offsz);
    break;
  case F_loclistx:
    rd_uleb(r);
    v->cls = V_NONE;
    break;
  case F_rnglistx:
    v->cls = V_RNGLISTX;
    v->u = rd_uleb(r);
    break;
  case F_block1:
    rd_skip(r, rd_uN(r, 1));
    v->cls = V_NONE;
    break;
  case F_block2:
    rd_skip(r, rd_uN(r, 2));
    v->cls = V_NONE;
    break;
  case F_block4:
    rd_skip(r, rd_uN(r, 4));
    v->cls = V_NONE;
    break;
  case F_block:
  case F_exprloc:
    rd_skip(r, rd_uleb(r));
    v->cls = V_NONE;
    break;
  default: /* unknown size: the rest of the unit is unreadable */
    r->bad = 1;
    r->p = r->end;
    v->cls = V_NONE;
  }
}

static const char *val_str(const fs_dwarf_sections *s, const fs_unit *u,
                           const fs_attrval *v)
{
  if (v->cls == V_STR) return v->s;
  if (v->cls != V_STRX) return NULL;
  fs_rd r;
  uint64_t off = u->str_offsets_base + v->u * (uint64_t)u->offsz;
  if (v->u > s->str_offsets.n) return NULL;
  rd_init(&r, s->str_offsets, off, (uint64_t)u->offsz);
  uint64_t so = rd_uN(&r, u->offsz);
  return r.bad ? NULL : sec_str(s->str, so);
}

static int val_addr(const fs_dwarf_sections *s, const fs_unit *u,
                    const fs_attrval *v, uint64_t *out)
{
  if (v->cls == V_ADDR) {
    *out = v->u;
    return 1;
  }
  if (v->cls != V_ADDRX || v->u > s->addr.n) return 0;
  fs_rd r;
  rd_init(&r, s->addr, u->addr_base + v->u * (uint64_t)u->addr_size,
          (uint64_t)u->addr_size);
  *out = rd_uN(&r, u->addr_size);
  return !r.bad;
}

/* The attributes of one DIE we care about: v[slot] (attr_slot), valid
 * where the bit of have is set (so a DIE costs no clearing of the rest). */
typedef struct fs_die {
  uint64_t off;
  const fs_abbrev *ab;
  uint32_t have;
  fs_attrval v[S_count];
} fs_die;

static const fs_attrval fs_absent = {V_NONE, 0, NULL};

/* A DIE's value in a slot, or an absent value (cls V_NONE). */
static inline const fs_attrval *die_val(const fs_die *die, int slot)
{
  return (die->have >> slot) & 1 ? &die->v[slot] : &fs_absent;
}

/* Has the DIE a usable value in slot (one of a form we decode)? */
static inline int die_has(const fs_die *die, int slot)
{
  return die_val(die, slot)->cls != V_NONE;
}

/* Skips one LEB128 value. */
static inline void rd_skip_leb(fs_rd *r)
{
  while (rd_need(r, 1) && (*r->p++ & 0x80)) {
  }
}

static inline int form_is_leb(uint32_t form)
{
  return form == F_udata || form == F_sdata || form == F_strx ||
         form == F_addrx || form == F_ref_udata || form == F_rnglistx ||
         form == F_loclistx;
}

/* Skips one attribute value: by its planned size, as a LEB128, or read
 * and dropped. */
static inline void skip_value(const fs_dwarf_sections *s, const fs_unit *u,
                              fs_rd *r, const fs_abbrev_attr *a)
{
  if (a->size >= 0) {
    rd_skip(r, (uint64_t)a->size);
  } else if (form_is_leb(a->form)) {
    rd_skip_leb(r);
  } else {
    fs_attrval v;
    read_form(s, u, r, a->form, a->implicit, &v);
  }
}

/* Reads the DIE at r; returns 0 ok, 1 null entry, -1 corrupt. Values of
 * attributes without a slot are skipped by size where it is known. */
static int read_die_some(const fs_dwarf_sections *s, const fs_unit *u,
                         const fs_abbrevs *t, fs_rd *r, fs_die *die,
                         uint32_t want)
{
  die->off = (uint64_t)(r->p - s->info.p);
  uint64_t code = rd_uleb(r);
  if (r->bad) return -1;
  if (code == 0) return 1;
  const fs_abbrev *ab = abbrev_find(t, code);
  if (!ab) return -1;
  die->ab = ab;
  die->have = 0;
  for (uint32_t i = 0; i < ab->nattr; i++) {
    const fs_abbrev_attr *a = &t->attrs[ab->first + i];
    if (!(want >> a->slot & 1)) {
      skip_value(s, u, r, a);
      continue;
    }
    read_form(s, u, r, a->form, a->implicit, &die->v[a->slot]);
    die->have |= 1u << a->slot;
  }
  return r->bad ? -1 : 0;
}

/* Every slot (bit 0, S_none, is never wanted). */
#define FS_ALL_SLOTS (~1u)

static int read_die(const fs_dwarf_sections *s, const fs_unit *u,
                    const fs_abbrevs *t, fs_rd *r, fs_die *die)
{
  return read_die_some(s, u, t, r, die, FS_ALL_SLOTS);
}

/* Skips the attribute values of a DIE the walk does not need: one add
 * when its abbreviation has a fixed size (abbrevs_plan), else value by
 * value. */
static void skip_die(const fs_dwarf_sections *s, const fs_unit *u,
                     const fs_abbrevs *t, fs_rd *r, const fs_abbrev *ab)
{
  if (ab->fixed >= 0) {
    rd_skip(r, (uint64_t)ab->fixed);
    return;
  }
  for (uint32_t i = 0; i < ab->nattr && !r->bad; i++)
    skip_value(s, u, r, &t->attrs[ab->first + i]);
}

/* Reads the unit DIE and fills the unit's bases and names. */
static int unit_die(const fs_dwarf_sections *s, fs_unit *u, const fs_abbrevs *t,
                    fs_die *die)
{
  fs_rd r;
  rd_init(&r, s->info, u->die_off, u->end - u->die_off);
  if (read_die(s, u, t, &r, die) != 0) return -1;
  if (die_has(die, S_str_base)) u->str_offsets_base = die->v[S_str_base].u;
  if (die_has(die, S_addr_base)) u->addr_base = die->v[S_addr_base].u;
  if (die_has(die, S_rng_base)) u->rnglists_base = die->v[S_rng_base].u;
  if (die_has(die, S_stmt)) {
    u->stmt_list = die->v[S_stmt].u;
    u->has_stmt = 1;
  }
  u->comp_dir = val_str(s, u, die_val(die, S_comp_dir));
  u->name = val_str(s, u, die_val(die, S_name));
  u->dwo_name = val_str(s, u, die_val(die, S_dwo_name));
  if (die_has(die, S_dwo_id)) {
    u->dwo_id = die->v[S_dwo_id].u;
    u->has_dwo_id = 1;
  }
  if (die_has(die, S_gnu_rng_base))
    u->split_ranges_base = die->v[S_gnu_rng_base].u;
  if (!val_addr(s, u, die_val(die, S_low), &u->base_addr)) u->base_addr = 0;
  return 0;
}

/* ---- address ranges ----------------------------------------------- */

typedef void (*range_fn)(void *ctx, uint64_t lo, uint64_t hi);

static void ranges_v4(const fs_dwarf_sections *s, const fs_unit *u,
                      uint64_t off, range_fn fn, void *ctx)
{
  fs_rd r;
  rd_init(&r, s->ranges, off, off <= s->ranges.n ? s->ranges.n - off : 0);
  uint64_t base = u->base_addr;
  uint64_t maxv = u->addr_size == 8 ? ~(uint64_t)0 : 0xffffffffu;
  while (!r.bad) {
    uint64_t a = rd_uN(&r, u->addr_size), b = rd_uN(&r, u->addr_size);
    if (r.bad || (a == 0 && b == 0)) break;
    if (a == maxv) {
      base = b;
      continue;
    }
    if (b > a) fn(ctx, base + a, base + b);
  }
}

static uint64_t addrx(const fs_dwarf_sections *s, const fs_unit *u, uint64_t i)
{
  fs_attrval v = {V_ADDRX, i, NULL};
  uint64_t a = 0;
  return val_addr(s, u, &v, &a) ? a : 0;
}

static void ranges_v5(const fs_dwarf_sections *s, const fs_unit *u,
                      uint64_t off, range_fn fn, void *ctx)
{
  fs_rd r;
  rd_init(&r, s->rnglists, off, off <= s->rnglists.n ? s->rnglists.n - off : 0);
  uint64_t base = u->base_addr, a, b;
  for (int n = 0; !r.bad && n < 1 << 20; n++) {
    switch (rd_u8(&r)) {
    case 0: return;
    case 1: base = addrx(s, u, rd_uleb(&r)); continue;
    case 2:
      a = addrx(s, u, rd_uleb(&r));
      b = addrx(s, u, rd_uleb(&r));
      break;
    case 3:
      a = addrx(s, u, rd_uleb(&r));
      b = a + rd_uleb(&r);
      break;
    case 4:
      a = base + rd_uleb(&r);
      b = base + rd_uleb(&r);
      break;
    case 5: base = rd_uN(&r, u->addr_size); continue;
    case 6:
      a = rd_uN(&r, u->addr_size);
      b = rd_uN(&r, u->addr_size);
      break;
    case 7:
      a = rd_uN(&r, u->addr_size);
      b = a + rd_uleb(&r);
      break;
    default: return;
    }
    if (!r.bad && b > a) fn(ctx, a, b);
  }
}

/* Calls fn for each [lo,hi) of a DIE: low/high pc or DW_AT_ranges. */
static void die_ranges(const fs_dwarf_sections *s, const fs_unit *u,
                       const fs_die *die, range_fn fn, void *ctx)
{
  uint64_t lo, hi;
  if (die_has(die, S_ranges)) {
    uint64_t off = die_val(die, S_ranges)->u;
    if (die_val(die, S_ranges)->cls == V_RNGLISTX) {
      fs_rd r;
      rd_init(&r, s->rnglists, u->rnglists_base + off * u->offsz,
              (uint64_t)u->offsz);
      if (off > s->rnglists.n) return;
      off = u->rnglists_base + rd_uN(&r, u->offsz);
      if (r.bad) return;
    } else if (u->version >= 5 && die->ab->tag != T_compile_unit &&
               die->ab->tag != T_skeleton_unit) {
      /* sec_offset: absolute in .debug_rnglists */
    }
    if (u->version >= 5) ranges_v5(s, u, off, fn, ctx);
    else ranges_v4(s, u, off + u->ranges_base, fn, ctx);
    return;
  }
  if (!val_addr(s, u, die_val(die, S_low), &lo)) return;
  if (die_val(die, S_high)->cls == V_ADDR ||
      die_val(die, S_high)->cls == V_ADDRX) {
    if (!val_addr(s, u, die_val(die, S_high), &hi)) return;
  } else if (die_val(die, S_high)->cls == V_UNS ||
             die_val(die, S_high)->cls == V_SIGNED) {
    hi = lo + die_val(die, S_high)->u;
  } else {
    return;
  }
  if (hi > lo) fn(ctx, lo, hi);
}

/* ---- CU index ----------------------------------------------------- */

typedef struct idx_ctx {
  fs_dwarf *d;
  uint32_t cu;
  size_t cap;
  int oom;
} idx_ctx;

static void idx_add(void *vctx, uint64_t lo, uint64_t hi)
{
  idx_ctx *c = vctx;
  fs_dwarf *d = c->d;
  if (!grow((void **)&d->idx, &c->cap, d->nidx + 1, sizeof *d->idx)) {
    c->oom = 1;
    return;
  }
  d->idx[d->nidx++] = (fs_cu_range){lo, hi, c->cu};
}

static int cmp_idx(const void *a, const void *b)
{
  const fs_cu_range *x = a, *y = b;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Reads the unit DIE of every CU; adds its ranges to the index. */
static int index_units(fs_dwarf *d)
{
  size_t cap = 0;
  idx_ctx c = {d, 0, 0, 0};
  uint64_t off = 0;
  while (off + 11 <= d->s.info.n) {
    fs_unit u;
    int rc = unit_header(&d->s, off, &u);
    if (rc < 0) {
      set_err(d, "corrupt unit header", off);
      break;
    }
    off = u.end;
    if (rc > 0) continue;
    if (!grow((void **)&d->cus, &cap, d->ncus + 1, sizeof *d->cus)) return -1;
    fs_abbrevs t;
    fs_die die;
    if (abbrevs_parse(d->s.abbrev, u.abbrev_off, &t) < 0) {
      set_err(d, "corrupt abbreviations", u.abbrev_off);
      continue;
    }
    int ok = unit_die(&d->s, &u, &t, &die) == 0;
    if (ok) {
      d->cus[d->ncus] = (fs_cu){u, NULL, 0, 0, 0};
      c.cu = (uint32_t)d->ncus++;
      die_ranges(&d->s, &u, &die, idx_add, &c);
    } else {
      set_err(d, "corrupt unit DIE", u.die_off);
    }
    abbrevs_free(&t);
    if (c.oom) return -1;
  }
  if (d->nidx) qsort(d->idx, d->nidx, sizeof *d->idx, cmp_idx);
  return 0;
}

/* The supplementary file's unit headers (dwz -m, DWARF 5 .debug_sup):
 * what GNU_ref_alt/ref_sup references land in. Only headers: a unit's
 * DIE is read when a reference first leads into it. */
static int index_sup(fs_dwarf *d)
{
  const fs_dwarf_sections *sup = d->s.sup;
  size_t cap = 0;
  uint64_t off = 0;
  while (sup && off + 11 <= sup->info.n) {
    fs_unit u;
    int rc = unit_header(sup, off, &u);
    if (rc < 0) {
      set_err(d, "corrupt unit header in the supplementary file", off);
      break;
    }
    off = u.end;
    if (rc > 0) continue;
    if (!grow((void **)&d->sup_units, &cap, d->nsup + 1, sizeof *d->sup_units))
      return -1;
    d->sup_units[d->nsup++] = u;
  }
  return 0;
}

/* ---- line program ------------------------------------------------- */

typedef struct lp_hdr {
  int version, offsz, addr_size;
  uint8_t min_inst, max_ops, default_stmt, line_range, opcode_base;
  int8_t line_base;
  const uint8_t *std_lens;
  const uint8_t *prog, *prog_end;
} lp_hdr;

typedef struct lp_out {
  fs_row *rows;
  size_t n, cap;
  fs_file *files;
  size_t nfiles, fcap;
  const char **dirs;
  size_t ndirs, dcap;
  int oom;
} lp_out;

static int add_dir(lp_out *o, const char *s)
{
  if (!grow((void **)&o->dirs, &o->dcap, o->ndirs + 1, sizeof *o->dirs))
    return o->oom = 1, -1;
  o->dirs[o->ndirs++] = s;
  return 0;
}

static int add_file(lp_out *o, const char *name, uint64_t dir,
                    const uint8_t *md5)
{
  if (o->nfiles >= 0xfffe) return -1;
  if (!grow((void **)&o->files, &o->fcap, o->nfiles + 1, sizeof *o->files))
    return o->oom = 1, -1;
  o->files[o->nfiles++] =
      (fs_file){dir < o->ndirs ? o->dirs[dir] : NULL, name, md5};
  return 0;
}

/* DWARF 5 directory/file tables: a format list, then entries. */
static int v5_entries(const fs_dwarf_sections *s, const fs_unit *u, fs_rd *r,
                      lp_out *o, int files)
{
  uint64_t fmt[16][2];
  unsigned nfmt = rd_u8(r);
  if (nfmt > 16) return -1;
  for (unsigned i = 0; i < nfmt; i++) {
    fmt[i][0] = rd_uleb(r);
    fmt[i][1] = rd_uleb(r);
  }
  uint64_t count = rd_uleb(r);
  if (r->bad || count > (uint64_t)(r->end - r->p)) return -1;
  for (uint64_t k = 0; k < count; k++) {
    const char *path = NULL;
    const uint8_t *md5 = NULL;
    uint64_t dir = 0;
    for (unsigned i = 0; i < nfmt; i++) {
      fs_attrval v;
      const uint8_t *at = r->p;
      read_form(s, u, r, (uint32_t)fmt[i][1], 0, &v);
      if (fmt[i][0] == 1) path = val_str(s, u, &v);
      else if (fmt[i][0] == 2) dir = v.u;
      else if (fmt[i][0] == 5 && fmt[i][1] == F_data16 && !r->bad) md5 = at;
    }
    if (r->bad) return -1;
    if (files ? add_file(o, path, dir, md5) : add_dir(o, path)) return -1;
  }
  return 0;
}

/* DWARF 2-4 include_directories and file_names. */
static int v4_entries(fs_rd *r, lp_out *o, const char *comp_dir)
{
  add_dir(o, comp_dir); /* index 0: the compilation directory */
  for (;;) {
    const char *sdir = rd_cstr(r);
    if (!sdir || !*sdir) break;
    if (add_dir(o, sdir)) return -1;
  }
  add_file(o, NULL, 0, NULL); /* file numbers start at 1 */
  for (;;) {
    const char *name = rd_cstr(r);
    if (!name || !*name) break;
    uint64_t dir = rd_uleb(r);
    rd_uleb(r);
    rd_uleb(r);
    if (add_file(o, name, dir == 0 ? (uint64_t)-1 : dir, NULL)) return -1;
  }
  return r->bad ? -1 : 0;
}

static int lp_header(const fs_dwarf_sections *s, const fs_unit *cu,
                     uint64_t off, lp_hdr *h, lp_out *o)
{
  fs_rd r;
  rd_init(&r, s->line, off, off <= s->line.n ? s->line.n - off : 0);
  uint64_t len = rd_uN(&r, 4);
  h->offsz = 4;
  if (len == 0xffffffffu) {
    len = rd_uN(&r, 8);
    h->offsz = 8;
  }
  if (r.bad || len > (uint64_t)(r.end - r.p)) return -1;
  r.end = r.p + len;
  h->version = (int)rd_uN(&r, 2);
  if (h->version < 2 || h->version > 5) return -1;
  h->addr_size = cu->addr_size;
  if (h->version >= 5) {
    h->addr_size = rd_u8(&r);
    rd_u8(&r); /* segment selector size */
  }
  uint64_t hlen = rd_uN(&r, h->offsz);
  if (r.bad || hlen > (uint64_t)(r.end - r.p)) return -1;
  h->prog = r.p + hlen;
  h->prog_end = r.end;
  h->min_inst = rd_u8(&r);
  h->max_ops = h->version >= 4 ? rd_u8(&r) : 1;
  h->default_stmt = rd_u8(&r);
  h->line_base = (int8_t)rd_u8(&r);
  h->line_range = rd_u8(&r);
  h->opcode_base = rd_u8(&r);
  h->std_lens = r.p;
  if (h->opcode_base) rd_skip(&r, h->opcode_base - 1u);
  if (r.bad || h->line_range == 0) return -1;
  fs_unit lu = *cu; /* forms in the header use the table's offset size */
  lu.offsz = h->offsz;
  lu.addr_size = h->addr_size;
  if (h->version >= 5)
    return v5_entries(s, &lu, &r, o, 0) || v5_entries(s, &lu, &r, o, 1) ? -1
                                                                        : 0;
  return v4_entries(&r, o, cu->comp_dir);
}

typedef struct lp_state {
  uint64_t addr;
  uint32_t file, line, col;
  int end_seq;
} lp_state;

static inline void lp_emit(lp_out *o, const lp_state *st)
{
  if (o->n >= o->cap &&
      !grow((void **)&o->rows, &o->cap, o->n + 1, sizeof *o->rows)) {
    o->oom = 1;
    return;
  }
  o->rows[o->n++] = (fs_row){st->addr, st->line,
                             st->end_seq         ? 0xffff
                             : st->file < 0xffff ? (uint16_t)st->file
                                                 : 0xfffe,
                             st->col < 0xffff ? (uint16_t)st->col : 0xffff};
}

/* The file register starts at 1 in every version (DWARF 5 too, where
 * gcc relies on it for sequences that never set the file). */
static void lp_reset(lp_state *st)
{
  *st = (lp_state){0, 1, 1, 0, 0};
}

static void lp_extended(fs_rd *r, lp_state *st, lp_out *o)
{
  uint64_t len = rd_uleb(r);
  if (len == 0 || len > (uint64_t)(r->end - r->p)) {
    r->bad = 1;
    return;
  }
  const uint8_t *next = r->p + len;
  uint8_t op = rd_u8(r);
  if (op == 1) {
    st->end_seq = 1;
    lp_emit(o, st);
    lp_reset(st);
  } else if (op == 2) {
    st->addr = rd_uN(r, len - 1 <= 8 ? (int)(len - 1) : 8);
  }
  r->p = next;
}

/* Runs the line-number program, appending rows to o. */
static int lp_run(const lp_hdr *h, lp_out *o)
{
  fs_rd r = {h->prog, h->prog_end, 0};
  lp_state st;
  lp_reset(&st);
  /* Every op that adds a row takes at least one byte of the program, so
   * rows <= bytes: sized once, the array never grows (bounded, so a
   * huge program still grows as it goes). */
  size_t bound = (size_t)(h->prog_end - h->prog) + 1;
  if (!o->cap && bound <= ((size_t)1 << 20)) {
    o->rows = malloc(bound * sizeof *o->rows);
    if (!o->rows) return -1;
    o->cap = bound;
  }
  /* The special opcodes' address and line steps, computed once: two
   * divisions by line_range per row otherwise. */
  uint64_t addr_step[256];
  int32_t line_step[256];
  for (unsigned op = h->opcode_base; op < 256; op++) {
    unsigned adj = op - h->opcode_base;
    addr_step[op] = (uint64_t)(adj / h->line_range) * h->min_inst;
    line_step[op] = h->line_base + (int)(adj % h->line_range);
  }
  while (!r.bad && r.p < r.end && !o->oom) {
    uint8_t op = *r.p++; /* r.p < r.end was checked */
    if (op >= h->opcode_base) {
      st.addr += addr_step[op];
      st.line += (uint32_t)line_step[op];
      lp_emit(o, &st);
      continue;
    }
    switch (op) {
    case 0: lp_extended(&r, &st, o); break;
    case 1: lp_emit(o, &st); break;
    case 2: st.addr += rd_uleb(&r) * h->min_inst; break;
    case 3: st.line += (uint32_t)rd_sleb(&r); break;
    case 4: st.file = (uint32_t)rd_uleb(&r); break;
    case 5: st.col = (uint32_t)rd_uleb(&r); break;
    case 6:
    case 7:
    case 10:
    case 11: break;
    case 8:
      st.addr +=
          (uint64_t)((255 - h->opcode_base) / h->line_range) * h->min_inst;
      break;
    case 9: st.addr += rd_uN(&r, 2); break;
    default: /* unknown standard opcode: skip its ULEB operands */
      for (unsigned i = 0; i < h->std_lens[op - 1]; i++) rd_uleb(&r);
    }
  }
  return o->oom ? -1 : 0;
}

static int cmp_row(const void *a, const void *b)
{
  const fs_row *x = a, *y = b;
  if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
  /* at one address an end of sequence sorts before a start, so a new
   * sequence wins over one that ends there */
  int ex = x->file == 0xffff, ey = y->file == 0xffff;
  if (ex != ey) return ex ? -1 : 1;
  return x < y ? -1 : x > y; /* in place: program order (sort_rows) */
}

/* ---- function tree ------------------------------------------------ */

/* Units that names were looked up in during one decode, with their
 * parsed abbreviations: with dwz, nearly every function's name is in a
 * partial unit of the supplementary file, so a decode hops into the same
 * few units again and again. */
#define FS_HOPS 4
typedef struct hop_unit {
  const fs_dwarf_sections *s; /* the file's sections (main or sup) */
  fs_unit u;
  fs_abbrevs t;
  int used;
} hop_unit;

typedef struct ft_out {
  fs_func *funcs;
  size_t n, cap;
  fs_frange *ranges;
  size_t nr, rcap;
  size_t max_ranges; /* by section sizes: shared range lists can't blow up */
  uint32_t cur_func, cur_depth;
  int oom;
  const fs_dwarf_sections *s;     /* the sections of the unit walked */
  const fs_abbrevs *unit_abbrevs; /* of the unit being decoded */
  hop_unit hops[FS_HOPS];
  unsigned next_hop; /* the slot to reuse next (round robin) */
} ft_out;

static void ft_add_range(void *vctx, uint64_t lo, uint64_t hi)
{
  ft_out *o = vctx;
  if (o->nr >= o->max_ranges ||
      !grow((void **)&o->ranges, &o->rcap, o->nr + 1, sizeof *o->ranges)) {
    o->oom = 1;
    return;
  }
  o->ranges[o->nr++] = (fs_frange){lo, hi, 0, o->cur_func, o->cur_depth};
}

/* Does a name without a linkage name look like a C++ member or template
 * instance, which only its enclosing DIEs can qualify? C names never
 * do: no '<', and "operator" only as part of a longer identifier. */
static int cxx_looking(const char *n)
{
  if (strchr(n, '<') || n[0] == '~') return 1;
  if (strncmp(n, "operator", 8)) return 0;
  char c = n[8];
  return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_');
}

/* The unit of file s (the main file, or its supplementary file when sup)
 * holding offset off, into *u; 0 when none does. */
static int unit_holding(const fs_dwarf *d, int sup, uint64_t off, fs_unit *u)
{
  size_t n = sup ? d->nsup : d->ncus, lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uint64_t end = sup ? d->sup_units[mid].end : d->cus[mid].u.end;
    if (end <= off) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= n) return 0;
  *u = sup ? d->sup_units[lo] : d->cus[lo].u;
  return off >= u->die_off;
}

/* The decode's cached unit of file s holding off, parsing its
 * abbreviations (and, in the supplementary file, its unit DIE's bases)
 * on first use; NULL when no unit holds it or it is corrupt. */
static hop_unit *hop_to(const fs_dwarf *d, ft_out *o,
                        const fs_dwarf_sections *s, uint64_t off)
{
  if (s != &d->s && s != d->s.sup) return NULL; /* a split unit's file */
  for (int i = 0; i < FS_HOPS; i++) {
    hop_unit *h = &o->hops[i];
    if (h->used && h->s == s && off >= h->u.die_off && off < h->u.end) return h;
  }
  fs_unit u;
  if (!unit_holding(d, s != &d->s, off, &u)) return NULL;
  hop_unit *h = &o->hops[o->next_hop++ % FS_HOPS];
  if (h->used) abbrevs_free(&h->t);
  h->used = 0;
  if (abbrevs_parse(s->abbrev, u.abbrev_off, &h->t) < 0) return NULL;
  abbrevs_plan(&h->t, u.addr_size, u.offsz, u.version);
  if (s != &d->s) { /* its bases, as index_units reads them for CUs */
    fs_die die;
    if (unit_die(s, &u, &h->t, &die) != 0) {
      abbrevs_free(&h->t);
      return NULL;
    }
  }
  h->s = s;
  h->u = u;
  h->used = 1;
  return h;
}

static void hops_free(ft_out *o)
{
  for (int i = 0; i < FS_HOPS; i++)
    if (o->hops[i].used) abbrevs_free(&o->hops[i].t);
}

/* Names of a DIE, following abstract_origin/specification (also across
 * units via ref_addr, and into the supplementary file via GNU_ref_alt
 * and ref_sup) up to a fixed depth so cycles terminate. */
static void die_names(const fs_dwarf *d, ft_out *o, const fs_unit *u0,
                      const fs_die *die0, const char **name,
                      const char **linkage, uint64_t *name_off)
{
  const fs_dwarf_sections *s = o->s;
  fs_die hopped; /* the DIEs the references lead to */
  const fs_die *die = die0;
  const fs_unit *u = u0;
  *name = *linkage = NULL;
  uint64_t named_at = 0;
  for (int hop = 0; hop < 8; hop++) {
    /* Where the name was found, when that is a DIE of the unit being
     * decoded in the main file (its scopes qualify a C++ name at lookup;
     * a split unit's or another unit's DIEs are not walked for them). */
    if (!*name && (*name = val_str(s, u, die_val(die, S_name))))
      named_at =
          s == &d->s && o->s == &d->s && u->off == u0->off ? die->off : 0;
    if (!*linkage) *linkage = val_str(s, u, die_val(die, S_linkage));
    if (*name && *linkage) break;
    const fs_attrval *ref = die_val(die, S_origin);
    if (ref->cls == V_NONE) ref = die_val(die, S_spec);
    if (ref->cls == V_REFSUP) {
      /* Only from the main file: a supplementary file has none. */
      if (s != &d->s || !d->s.sup) break;
      s = d->s.sup;
    } else if (ref->cls != V_REF && ref->cls != V_REFADDR) {
      break;
    }
    uint64_t off = ref->u;
    const fs_abbrevs *t = NULL;
    if (s == o->s && u == u0 && off >= u->die_off && off < u->end) {
      t = o->unit_abbrevs; /* the unit being decoded */
    } else {
      hop_unit *h = hop_to(d, o, s, off);
      if (!h) break;
      u = &h->u;
      t = &h->t;
    }
    fs_rd r;
    rd_init(&r, s->info, off, u->end - off);
    /* Only what naming needs: the rest is skipped by size. */
    if (read_die_some(s, u, t, &r, &hopped,
                      1u << S_name | 1u << S_linkage | 1u << S_origin |
                          1u << S_spec) != 0)
      break;
    die = &hopped;
  }
  if (name_off)
    *name_off = !*linkage && *name && cxx_looking(*name) ? named_at : 0;
}

/* Records a subprogram or inlined call. An abstract instance root
 * (DW_AT_inline) or a childless DIE without address ranges can never be
 * an answer nor enclose one: it gets no record, and its names are never
 * resolved (most of an -O2 unit's inline helpers). Other DIEs without
 * ranges are kept, so that code in their children keeps its caller.
 * Returns 1 when recorded. */
static int ft_func(const fs_dwarf *d, const fs_unit *u, const fs_abbrevs *t,
                   const fs_die *die, int32_t parent, ft_out *o)
{
  size_t before = o->nr;
  o->cur_func = (uint32_t)o->n;
  die_ranges(o->s, u, die, ft_add_range, o);
  if (o->nr == before && (!die->ab->children || die_has(die, S_inline)))
    return 0;
  if (!grow((void **)&o->funcs, &o->cap, o->n + 1, sizeof *o->funcs)) {
    o->oom = 1;
    return 0;
  }
  fs_func *f = &o->funcs[o->n++];
  memset(f, 0, sizeof *f);
  (void)t;
  die_names(d, o, u, die, &f->name, &f->linkage, &f->name_off);
  f->parent = parent;
  f->inlined = die->ab->tag == T_inlined_subroutine;
  f->call_file = (uint32_t)die_val(die, S_call_file)->u;
  f->call_line = (uint32_t)die_val(die, S_call_line)->u;
  f->call_col = (uint32_t)die_val(die, S_call_col)->u;
  uint64_t entry = 0;
  if (!val_addr(o->s, u, die_val(die, S_low), &entry) && o->nr > before)
    entry = o->ranges[before].lo;
  f->entry = parent >= 0 ? o->funcs[parent].entry : entry;
  return 1;
}

/* Walks all DIEs of the unit, recording subprograms and inlined calls
 * with their nesting. Lexical blocks etc. are walked through. */
/* Tags whose subtrees never hold code: types (C++ member functions are
 * declared in a class, defined outside it). */
static int tag_is_type(uint32_t tag)
{
  switch (tag) {
  case 0x01: /* array_type */
  case 0x02: /* class_type */
  case 0x04: /* enumeration_type */
  case 0x13: /* structure_type */
  case 0x15: /* subroutine_type */
  case 0x17: /* union_type */ return 1;
  default: return 0;
  }
}

/* The DIE after the subtree of the DIE whose values start at vals, by
 * its DW_AT_sibling; NULL when it has none or it does not point forward
 * inside the unit (then the walk goes through the children). */
static const uint8_t *sibling_of(const fs_dwarf_sections *s, const fs_unit *u,
                                 const fs_abbrev *ab, const uint8_t *vals)
{
  if (ab->sib_off < 0) return NULL;
  fs_rd r = {vals, s->info.p + u->end, 0};
  rd_skip(&r, (uint64_t)ab->sib_off);
  int n = ab->sib_form == F_ref1   ? 1
          : ab->sib_form == F_ref2 ? 2
          : ab->sib_form == F_ref4 ? 4
                                   : 8;
  uint64_t off = rd_uN(&r, n);
  if (r.bad || off > u->end - u->off) return NULL;
  const uint8_t *to = s->info.p + u->off + off;
  /* A subtree ends with a null entry: a sibling not right after one is
   * corrupt, and the walk goes through the children instead. */
  return to > vals && to[-1] == 0 ? to : NULL;
}

/* Walks all DIEs of the unit, recording subprograms and inlined calls
 * with their nesting. Lexical blocks etc. are walked through; the
 * subtrees of types and abstract instance roots are jumped over. */
static int ft_walk(const fs_dwarf *d, const fs_unit *u, const fs_abbrevs *t,
                   ft_out *o)
{
  enum { MAXD = 256 };
  int32_t encl[MAXD]; /* enclosing function per DIE nesting level */
  int depth = 0;
  fs_rd r;
  fs_die die;
  rd_init(&r, o->s->info, u->die_off, u->end - u->die_off);
  encl[0] = -1;
  while (r.p < r.end && !o->oom) {
    /* Only subprograms and inlined calls that can hold code are read
     * attribute by attribute; every other DIE is skipped (most of a
     * unit: types, variables, parameters, call sites). */
    const uint8_t *at = r.p;
    uint64_t code = rd_uleb(&r);
    if (r.bad) return -1;
    if (code == 0) {
      if (depth > 0) depth--;
      continue;
    }
    const fs_abbrev *ab = abbrev_find(t, code);
    if (!ab) return -1;
    int32_t here = encl[depth];
    uint32_t tag = ab->tag;
    int func = tag == T_subprogram || tag == T_inlined_subroutine;
    /* Without addresses, an abstract root or a childless DIE can never
     * be an answer nor enclose one (see ft_func). */
    if (func && !ab->has_pc && (ab->has_inline || !ab->children)) func = 0;
    if (func) {
      r.p = at;
      if (read_die(o->s, u, t, &r, &die) != 0) return -1;
      if (!die_val(&die, S_decl)->u) {
        o->cur_depth = here < 0 ? 0 : (uint32_t)depth;
        size_t nf = o->n;
        if (ft_func(d, u, t, &die, tag == T_subprogram ? -1 : here, o))
          here = (int32_t)nf;
      }
    } else {
      const uint8_t *vals = r.p;
      if (ab->children && (tag_is_type(tag) || ab->has_inline)) {
        const uint8_t *next = sibling_of(o->s, u, ab, vals);
        if (next) {
          r.p = next;
          continue; /* the subtree's closing null entry is skipped too */
        }
      }
      skip_die(o->s, u, t, &r, ab);
      if (r.bad) return -1;
    }
    if (ab->children) {
      if (depth + 1 >= MAXD) return -1;
      encl[++depth] = here;
    }
  }
  return o->oom ? -1 : 0;
}

static int cmp_frange(const void *a, const void *b)
{
  const fs_frange *x = a, *y = b;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  return x->depth < y->depth ? -1 : x->depth > y->depth;
}

/* ---- per-CU decode and cache -------------------------------------- */

static void dec_free(fs_decoded *x)
{
  if (!x) return;
  free(x->rows);
  free(x->files);
  free(x->funcs);
  free(x->ranges);
  free(x);
}

/* Compilers emit rows and ranges mostly in order already: checking is
 * linear, sorting is not. */
static int is_sorted(const void *base, size_t n, size_t size,
                     int (*cmp)(const void *, const void *))
{
  const char *p = base;
  for (size_t i = 1; i < n; i++)
    if (cmp(p + (i - 1) * size, p + i * size) > 0) return 0;
  return 1;
}

/* By address; at one address ends of sequences first, then program
 * order. qsort is not stable everywhere (musl's is a smoothsort: rows of
 * one address came out of program order and answered another line), so
 * two stable keyed sorts: by "not an end", then by address. qsort with
 * cmp_row only when memory runs out (its last tie-break, pointer order,
 * is program order only for a merge sort like glibc's). */
static void sort_rows(fs_row *r, size_t n)
{
  uint64_t *keys = malloc(n * sizeof *keys);
  int ok = keys != NULL;
  if (ok) {
    for (size_t i = 0; i < n; i++) keys[i] = r[i].file != 0xffff;
    ok = fs_sort_keyed(r, n, sizeof *r, keys) == 0;
  }
  if (ok) {
    for (size_t i = 0; i < n; i++) keys[i] = r[i].addr;
    ok = fs_sort_keyed(r, n, sizeof *r, keys) == 0;
  }
  free(keys);
  if (!ok) qsort(r, n, sizeof *r, cmp_row);
}

static int decode_lines(const fs_dwarf *d, const fs_unit *u, fs_decoded *x)
{
  lp_out o;
  lp_hdr h;
  memset(&o, 0, sizeof o);
  int rc = -1;
  if (lp_header(&d->s, u, u->stmt_list, &h, &o) == 0 && lp_run(&h, &o) == 0)
    rc = 0;
  free(o.dirs);
  if (rc == 0 && o.n && !is_sorted(o.rows, o.n, sizeof *o.rows, cmp_row))
    sort_rows(o.rows, o.n);
  if (o.rows && o.n < o.cap) { /* give back the presized excess */
    void *q = realloc(o.rows, (o.n ? o.n : 1) * sizeof *o.rows);
    if (q) o.rows = q;
  }
  x->rows = o.rows;
  x->nrows = o.n;
  x->files = o.files;
  x->nfiles = o.nfiles;
  return rc;
}

/* By (lo, depth): a radix sort on (lo - min) << 8 | depth (depth < 256:
 * ft_walk caps nesting), else qsort. gcc emits a unit's functions in
 * reverse address order, so this sort runs for most units. */
static void sort_franges(fs_frange *r, size_t n)
{
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    if (r[i].lo < lo) lo = r[i].lo;
    if (r[i].lo > hi) hi = r[i].lo;
  }
  uint64_t *keys =
      hi - lo < ((uint64_t)1 << 56) ? malloc(n * sizeof *keys) : NULL;
  for (size_t i = 0; keys && i < n; i++)
    keys[i] = (r[i].lo - lo) << 8 | (r[i].depth < 255 ? r[i].depth : 255);
  if (!keys || fs_sort_keyed(r, n, sizeof *r, keys) != 0)
    qsort(r, n, sizeof *r, cmp_frange);
  free(keys);
}

/* The function tree of unit u, whose DIEs are in sections s (the main
 * file's, or a split unit's). */
static int decode_funcs(const fs_dwarf *d, const fs_dwarf_sections *s,
                        const fs_unit *u, fs_decoded *x)
{
  fs_abbrevs t;
  ft_out o;
  memset(&o, 0, sizeof o);
  o.s = s;
  o.max_ranges = 2 * (s->info.n + s->ranges.n + s->rnglists.n) + 64;
  if (abbrevs_parse(s->abbrev, u->abbrev_off, &t) < 0) return -1;
  abbrevs_plan(&t, u->addr_size, u->offsz, u->version);
  o.unit_abbrevs = &t;
  int rc = ft_walk(d, u, &t, &o);
  hops_free(&o);
  abbrevs_free(&t);
  if (o.nr && !is_sorted(o.ranges, o.nr, sizeof *o.ranges, cmp_frange))
    sort_franges(o.ranges, o.nr);
  uint64_t m = 0;
  for (size_t i = 0; i < o.nr; i++) {
    if (o.ranges[i].hi > m) m = o.ranges[i].hi;
    o.ranges[i].maxhi = m;
  }
  x->funcs = o.funcs;
  x->nfuncs = o.n;
  x->ranges = o.ranges;
  x->nranges = o.nr;
  return rc;
}

/* The split unit of skeleton sk in sections ds (a .dwo file's, or a
 * .dwp's contributions for it), into *su: the one whose dwo_id is the
 * skeleton's, with the bases the skeleton gives it. 0 found. */
static int split_unit(const fs_dwarf *d, const fs_unit *sk,
                      const fs_dwarf_sections *ds, fs_unit *su)
{
  uint64_t off = 0;
  while (off + 11 <= ds->info.n) {
    if (unit_header(ds, off, su) < 0) return -1;
    off = su->end;
    if (su->utype != 5 && !(su->version < 5 && su->utype == 1)) continue;
    fs_abbrevs t;
    fs_die die;
    if (abbrevs_parse(ds->abbrev, su->abbrev_off, &t) < 0) return -1;
    int rc = unit_die(ds, su, &t, &die);
    abbrevs_free(&t);
    if (rc != 0) return -1;
    if (su->has_dwo_id && sk->has_dwo_id && su->dwo_id != sk->dwo_id) continue;
    /* Addresses are in the skeleton's file (.debug_addr), relative to
     * its base; DWARF 5 range list indexes count from the first offset
     * after the .debug_rnglists.dwo header. */
    su->addr_base = sk->addr_base;
    su->base_addr = sk->base_addr;
    su->ranges_base = sk->split_ranges_base;
    if (su->version >= 5) su->rnglists_base = su->offsz == 8 ? 20 : 12;
    su->comp_dir = sk->comp_dir;
    (void)d;
    return 0;
  }
  return -1;
}

/* The function tree of skeleton unit c from its split unit. 1 decoded, 0
 * split unit not found, -1 corrupt. */
static int decode_split(const fs_dwarf *d, const fs_unit *sk, fs_decoded *x)
{
  fs_dwo_ref ref = {sk->dwo_name, sk->comp_dir, sk->dwo_id, sk->version};
  fs_dwarf_sections ds;
  memset(&ds, 0, sizeof ds);
  if (!d->dwo_fn || !d->dwo_fn(d->dwo_arg, &ref, &ds)) return 0;
  ds.addr = d->s.addr; /* the skeleton's file has the addresses */
  if (sk->version < 5) ds.ranges = d->s.ranges;
  ds.sup = NULL;
  fs_unit su;
  if (split_unit(d, sk, &ds, &su) != 0) return -1;
  return decode_funcs(d, &ds, &su, x) < 0 ? -1 : 1;
}

static void evict(fs_dwarf *d, size_t keep)
{
  while (d->used > d->budget) {
    size_t victim = (size_t)-1;
    for (size_t i = 0; i < d->ncus; i++)
      if (d->cus[i].dec && i != keep &&
          (victim == (size_t)-1 || d->cus[i].lru < d->cus[victim].lru))
        victim = i;
    if (victim == (size_t)-1) return;
    d->used -= d->cus[victim].dec->bytes;
    dec_free(d->cus[victim].dec);
    d->cus[victim].dec = NULL;
  }
}

/* The decoded CU i, decoding it on first use. Called with d->mu held;
 * the decoding itself runs without it (it reads only the sections and
 * the unit index, which never change), so threads decode different
 * units at once; a thread that needs a unit being decoded waits for it. */
static fs_decoded *cu_decoded(fs_dwarf *d, size_t i)
{
  fs_cu *c = &d->cus[i];
  c->lru = ++d->tick;
  while (c->decoding) pthread_cond_wait(&d->decoded, &d->mu);
  if (c->dec || c->failed) return c->dec;
  c->decoding = 1;
  pthread_mutex_unlock(&d->mu);
  fs_decoded *x = calloc(1, sizeof *x);
  int lines_bad = 0, funcs_bad = 0, split = 1;
  if (x) {
    lines_bad = c->u.has_stmt && decode_lines(d, &c->u, x) < 0;
    /* A skeleton's functions are in its split unit; its own lines are
     * the addresses' (the split unit's line table has only files). */
    if (c->u.dwo_name) split = decode_split(d, &c->u, x);
    if (split < 0) funcs_bad = 1;
    else if (split == 0 || !c->u.dwo_name)
      funcs_bad = decode_funcs(d, &d->s, &c->u, x) < 0;
    x->bytes = sizeof *x + x->nrows * sizeof *x->rows +
               x->nfiles * sizeof *x->files + x->nfuncs * sizeof *x->funcs +
               x->nranges * sizeof *x->ranges;
  }
  pthread_mutex_lock(&d->mu);
  c->decoding = 0;
  pthread_cond_broadcast(&d->decoded);
  if (lines_bad) set_err(d, "corrupt line table", c->u.stmt_list);
  if (funcs_bad) set_err(d, "corrupt DIE tree", c->u.die_off);
  if (!split && x) {
    snprintf(d->err, sizeof d->err,
             "dwarf: split unit %.100s not found (no .dwo or .dwp)",
             c->u.dwo_name);
    /* Without the split unit the inline chain is unknown: a row of an
     * inlined callee would be printed as its caller's line, a wrong
     * trace. The unit answers nothing (the symbol table names the
     * function). */
    x->nrows = 0;
  }
  if (!x) return NULL; /* out of memory: maybe next time */
  if (!x->nrows && !x->nfuncs) {
    dec_free(x);
    c->failed = 1;
    return NULL;
  }
  c->dec = x;
  d->used += x->bytes;
  evict(d, i);
  return x;
}

/* ---- public ------------------------------------------------------- */

fs_dwarf *fs_dwarf_create(const fs_dwarf_sections *s, size_t cache_bytes,
                          const char **err)
{
  if (!s || !s->info.p || !s->info.n || !s->abbrev.p) {
    if (err) *err = "no .debug_info";
    return NULL;
  }
  fs_dwarf *d = calloc(1, sizeof *d);
  if (!d) {
    if (err) *err = "out of memory";
    return NULL;
  }
  d->s = *s;
  d->budget = cache_bytes ? cache_bytes : (size_t)64 << 20;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->decoded, NULL);
  if (index_units(d) < 0 || d->ncus == 0 || index_sup(d) < 0) {
    if (err) *err = d->ncus ? "out of memory" : "no usable compile unit";
    fs_dwarf_free(d);
    return NULL;
  }
  return d;
}

void fs_dwarf_free(fs_dwarf *d)
{
  if (!d) return;
  for (size_t i = 0; i < d->ncus; i++) dec_free(d->cus[i].dec);
  free(d->cus);
  free(d->idx);
  free(d->sup_units);
  pthread_cond_destroy(&d->decoded);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

void fs_dwarf_set_dwo(fs_dwarf *d, fs_dwo_fn fn, void *arg)
{
  d->dwo_fn = fn;
  d->dwo_arg = arg;
}

const char *fs_dwarf_error(fs_dwarf *d)
{
  return d ? d->err : "";
}

/* The CU whose range holds addr, or -1. Ranges of different CUs do not
 * nest in practice, so the last range starting at or before addr is
 * checked, then a few before it for overlapping tails. */
static long find_cu(const fs_dwarf *d, uint64_t addr)
{
  size_t lo = 0, hi = d->nidx;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (d->idx[mid].lo <= addr) lo = mid + 1;
    else hi = mid;
  }
  for (size_t k = 0; k < 8 && lo > k; k++) {
    const fs_cu_range *r = &d->idx[lo - 1 - k];
    if (addr < r->hi) return (long)r->cu;
  }
  return -1;
}

static const fs_row *find_row(const fs_decoded *x, uint64_t addr)
{
  size_t lo = 0, hi = x->nrows;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (x->rows[mid].addr <= addr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0 || x->rows[lo - 1].file == 0xffff) return NULL;
  return &x->rows[lo - 1];
}

/* The deepest function range holding addr, or -1. */
static long find_func(const fs_decoded *x, uint64_t addr)
{
  size_t lo = 0, hi = x->nranges;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (x->ranges[mid].lo <= addr) lo = mid + 1;
    else hi = mid;
  }
  long best = -1;
  uint32_t bd = 0;
  for (size_t i = lo; i-- > 0;) {
    const fs_frange *r = &x->ranges[i];
    if (r->maxhi <= addr) break;
    if (addr < r->hi && (best < 0 || r->depth > bd)) {
      best = (long)r->func;
      bd = r->depth;
    }
  }
  return best;
}

static void set_file(const fs_unit *u, const fs_decoded *x, uint32_t fi,
                     fs_dwarf_frame *f)
{
  f->comp_dir = u->comp_dir;
  if (fi < x->nfiles) {
    f->dir = x->files[fi].dir;
    f->file = x->files[fi].name;
    f->md5 = x->files[fi].md5;
  }
}

/* The DIEs enclosing the one at target in unit u, outermost first, into
 * anc[0..max): their count, or -1 when target is not found. Subtrees
 * that end before target are jumped over by their DW_AT_sibling. */
static int ancestors(const fs_dwarf *d, const fs_unit *u, const fs_abbrevs *t,
                     uint64_t target, uint64_t *anc, int max)
{
  enum { MAXD = 64 };
  uint64_t stack[MAXD];
  int depth = 0;
  fs_rd r;
  rd_init(&r, d->s.info, u->die_off, u->end - u->die_off);
  while (r.p < r.end && !r.bad) {
    uint64_t off = (uint64_t)(r.p - d->s.info.p);
    uint64_t code = rd_uleb(&r);
    if (code == 0) {
      if (depth > 0) depth--;
      continue;
    }
    const fs_abbrev *ab = abbrev_find(t, code);
    if (!ab || off > target) return -1;
    if (off == target) {
      int n = depth < max ? depth : max;
      memcpy(anc, stack + (depth - n), (size_t)n * sizeof *anc);
      return n;
    }
    const uint8_t *vals = r.p;
    if (ab->children) {
      const uint8_t *next = sibling_of(&d->s, u, ab, vals);
      if (next && (uint64_t)(next - d->s.info.p) <= target) {
        r.p = next;
        continue;
      }
    }
    skip_die(&d->s, u, t, &r, ab);
    if (ab->children) {
      if (depth >= MAXD) return -1;
      stack[depth++] = off;
    }
  }
  return -1;
}

/* Qualifies a frame named by the DIE at name_off (see fs_dwarf_frame):
 * the classes and namespaces around it up to the enclosing function,
 * whose linkage name says the rest. Only for names without a linkage
 * name that look like C++: a walk of the unit's tree. */
static void qualify(const fs_dwarf *d, const fs_unit *u, uint64_t name_off,
                    fs_dwarf_frame *f)
{
  fs_abbrevs t = {0};
  uint64_t anc[16];
  if (abbrevs_parse(d->s.abbrev, u->abbrev_off, &t) < 0) return;
  abbrevs_plan(&t, u->addr_size, u->offsz, u->version);
  int n = ancestors(d, u, &t, name_off, anc, 16);
  const char *scope[6];
  int ns = 0;
  for (int i = n - 1; i >= 0 && ns < 6; i--) { /* innermost first */
    fs_rd r;
    fs_die die;
    rd_init(&r, d->s.info, anc[i], u->end - anc[i]);
    if (read_die(&d->s, u, &t, &r, &die) != 0) break;
    uint32_t tag = die.ab->tag;
    if (tag == T_subprogram) {
      const char *nm, *lk;
      ft_out o; /* die_names' context: this unit, its hops */
      memset(&o, 0, sizeof o);
      o.s = &d->s;
      o.unit_abbrevs = &t;
      die_names(d, &o, u, &die, &nm, &lk, NULL);
      hops_free(&o);
      if (lk) f->scope_linkage = lk;
      else if (nm) scope[ns++] = nm;
      if (lk) break;
    } else if (tag == 0x02 || tag == 0x13 || tag == 0x17 || tag == 0x39) {
      /* class, structure, union, namespace */
      const char *nm = val_str(&d->s, u, die_val(&die, S_name));
      if (!nm && tag == 0x39) nm = "(anonymous namespace)";
      scope[ns++] = nm;
    } else if (tag != 0x0b) { /* lexical blocks are no scope */
      break;
    }
  }
  for (int i = 0; i < ns; i++) f->scope[i] = scope[ns - 1 - i];
  f->nscope = ns;
  abbrevs_free(&t);
}

static int fill(const fs_dwarf *d, const fs_unit *u, const fs_decoded *x,
                uint64_t addr, fs_dwarf_frame *frames, int max)
{
  const fs_row *row = find_row(x, addr);
  long fi = find_func(x, addr);
  if (max <= 0 || (!row && fi < 0)) return 0;
  int n = 0;
  uint32_t file = row ? row->file : 0xffffu;
  uint32_t line = row ? row->line : 0, col = row ? row->col : 0;
  for (int hop = 0; n < max && hop < 1024; hop++) {
    fs_dwarf_frame *f = &frames[n++];
    memset(f, 0, sizeof *f);
    set_file(u, x, file, f);
    f->comp_dir = u->comp_dir;
    f->line = (int)line;
    f->column = (int)col;
    if (fi < 0) break;
    const fs_func *fn = &x->funcs[fi];
    f->name = fn->name;
    f->linkage_name = fn->linkage;
    if (fn->name_off) qualify(d, u, fn->name_off, f);
    f->func_low_pc = fn->entry;
    f->inlined = fn->inlined;
    if (!fn->inlined || fn->parent < 0) {
      f->inlined = 0;
      break;
    }
    file = fn->call_file;
    line = fn->call_line;
    col = fn->call_col;
    fi = fn->parent;
  }
  return n;
}

int fs_dwarf_lookup(fs_dwarf *d, uint64_t addr, fs_dwarf_frame *frames, int max)
{
  if (!d || !frames || max <= 0) return 0;
  long ci = find_cu(d, addr);
  if (ci < 0) return 0;
  pthread_mutex_lock(&d->mu);
  int n = 0;
  fs_decoded *x = cu_decoded(d, (size_t)ci);
  if (x) n = fill(d, &d->cus[ci].u, x, addr, frames, max);
  pthread_mutex_unlock(&d->mu);
  return n;
}

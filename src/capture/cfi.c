/* cfi.c — the DWARF CFI unwinder (see cfi.h).
 *
 * Code built without frame pointers (Debian's glibc, -fomit-frame-pointer
 * builds) still describes every frame in .eh_frame, the table C++
 * exceptions unwind with. For a PC we find its FDE through the object's
 * .eh_frame_hdr (a sorted table: binary search), run the CIE's and FDE's
 * CFA programs up to the PC, and get the rules: where the canonical frame
 * address (CFA: the caller's stack pointer) is, and where the return
 * address and the caller's rbp were saved. Rules of the simple shape
 * (CFA = rsp or rbp + offset; RA and rbp at CFA + offset) are cached per
 * PC in a fixed, lock-free table, so a warm step is a probe and two
 * loads. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "capture/cfi.h"
#include "capture/unwind_fp.h"

/* DWARF register numbers (arch.h): the frame pointer (rbp, x29), the
 * stack pointer and the return address column (x86-64's rip, aarch64's
 * x30). The rule fields named rbp below hold the frame pointer's. */
#define R_RBP FS_DW_FP
#define R_RSP FS_DW_SP
#define R_RA FS_DW_RA
#define NREGS FS_DW_NREGS

/* Bounds against hostile or corrupt data. */
#define CFA_MAX_OPS 4096
#define CFA_STACK_DEPTH 8
#define EXPR_MAX_OPS 256
#define EXPR_STACK 16

/* ------------------------------------------------------------ reading */

typedef struct rd {
  const uint8_t *p, *end;
  int bad;
} rd;

static uint64_t rd_u(rd *r, unsigned n)
{
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  memcpy(&v, r->p, n); /* little-endian host */
  r->p += n;
  return v;
}

static uint64_t rd_uleb(rd *r)
{
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (r->bad || r->p >= r->end || shift > 63) {
      r->bad = 1;
      return 0;
    }
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

static int64_t rd_sleb(rd *r)
{
  int64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    if (r->bad || r->p >= r->end || shift > 63) {
      r->bad = 1;
      return 0;
    }
    b = *r->p++;
    v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) v |= (int64_t)(~(uint64_t)0 << shift);
  return v;
}

/* a*b wrapping, never undefined: corrupt data multiplies anything. */
static int64_t mul_wrap(int64_t a, int64_t b)
{
  return (int64_t)((uint64_t)a * (uint64_t)b);
}

/* A DW_EH_PE-encoded pointer. base_data: for datarel (.eh_frame_hdr). */
static uintptr_t rd_enc(rd *r, uint8_t enc, uintptr_t data_base)
{
  if (enc == 0xff) return 0; /* omit */
  uintptr_t here = (uintptr_t)r->p, v;
  switch (enc & 0x0f) {
  case 0x00: v = (uintptr_t)rd_u(r, 8); break;
  case 0x01: v = (uintptr_t)rd_uleb(r); break;
  case 0x02: v = (uintptr_t)rd_u(r, 2); break;
  case 0x03: v = (uintptr_t)rd_u(r, 4); break;
  case 0x04: v = (uintptr_t)rd_u(r, 8); break;
  case 0x09: v = (uintptr_t)rd_sleb(r); break;
  case 0x0a: v = (uintptr_t)(int64_t)(int16_t)rd_u(r, 2); break;
  case 0x0b: v = (uintptr_t)(int64_t)(int32_t)rd_u(r, 4); break;
  case 0x0c: v = (uintptr_t)rd_u(r, 8); break;
  default: r->bad = 1; return 0;
  }
  switch (enc & 0x70) {
  case 0x00: break;
  case 0x10: v += here; break;      /* pcrel */
  case 0x30: v += data_base; break; /* datarel */
  default: r->bad = 1; return 0;    /* textrel/funcrel: not on x86-64 */
  }
  /* 0x80 (indirect) only appears on the personality pointer, which is
   * skipped, never followed: the value is returned as read. */
  return v;
}

/* ------------------------------------------------------- CIE and FDE */

typedef struct cie {
  uint64_t code_align;
  int64_t data_align;
  uint64_t ra_reg;
  uint8_t fde_enc;
  int signal_frame;
  const uint8_t *insns, *insns_end;
} cie;

/* Parses the CIE at p (inside [lo, hi)). */
static int parse_cie(const uint8_t *lo, const uint8_t *hi, const uint8_t *p,
                     cie *c)
{
  if (p < lo || p + 4 > hi) return 0;
  rd r = {p, hi, 0};
  uint64_t len = rd_u(&r, 4);
  if (len == 0xffffffffu) len = rd_u(&r, 8);
  if (r.bad || len > (uint64_t)(hi - r.p)) return 0;
  const uint8_t *end = r.p + len;
  r.end = end;
  if (rd_u(&r, 4) != 0) return 0; /* CIE id is 0 in .eh_frame */
  uint8_t version = (uint8_t)rd_u(&r, 1);
  if (version != 1 && version != 3 && version != 4) return 0;
  const char *aug = (const char *)r.p;
  const uint8_t *nul = memchr(r.p, 0, (size_t)(end - r.p));
  if (!nul) return 0;
  r.p = nul + 1;
  if (version == 4) rd_u(&r, 2); /* address size, segment size */
  memset(c, 0, sizeof *c);
  c->code_align = rd_uleb(&r);
  c->data_align = rd_sleb(&r);
  c->ra_reg = version == 1 ? rd_u(&r, 1) : rd_uleb(&r);
  c->fde_enc = 0; /* absptr unless 'R' */
  if (aug[0] == 'z') {
    uint64_t alen = rd_uleb(&r);
    if (r.bad || alen > (uint64_t)(end - r.p)) return 0;
    const uint8_t *aend = r.p + alen;
    for (const char *a = aug + 1; *a && !r.bad; a++) {
      if (*a == 'R') c->fde_enc = (uint8_t)rd_u(&r, 1);
      else if (*a == 'L') rd_u(&r, 1);
      else if (*a == 'P') rd_enc(&r, (uint8_t)rd_u(&r, 1), 0);
      else if (*a == 'S') c->signal_frame = 1;
      else if (*a == 'B' || *a == 'G') continue; /* AArch64 / MTE */
      else return 0;
    }
    r.p = aend;
  } else if (aug[0]) {
    return 0; /* augmentations without 'z' cannot be skipped */
  }
  if (r.bad || c->code_align == 0 || c->ra_reg != R_RA) return 0;
  c->insns = r.p;
  c->insns_end = end;
  return 1;
}

typedef struct fde {
  uintptr_t pc_begin, pc_end;
  const uint8_t *insns, *insns_end;
} fde;

static int parse_fde(const uint8_t *lo, const uint8_t *hi, const uint8_t *p,
                     cie *c, fde *f)
{
  if (p < lo || p + 8 > hi) return 0;
  rd r = {p, hi, 0};
  uint64_t len = rd_u(&r, 4);
  if (len == 0xffffffffu) len = rd_u(&r, 8);
  if (r.bad || len > (uint64_t)(hi - r.p) || len < 4) return 0;
  const uint8_t *end = r.p + len;
  r.end = end;
  const uint8_t *idp = r.p;
  uint32_t cie_off = (uint32_t)rd_u(&r, 4);
  if (cie_off == 0 || cie_off > (uintptr_t)(idp - lo)) return 0;
  if (!parse_cie(lo, hi, idp - cie_off, c)) return 0;
  f->pc_begin = rd_enc(&r, c->fde_enc, 0);
  /* The range has the encoding's format, without its application. */
  uintptr_t range = rd_enc(&r, c->fde_enc & 0x0f, 0);
  f->pc_end = f->pc_begin + range;
  uint64_t alen = rd_uleb(&r); /* 'z': augmentation data (LSDA) */
  if (r.bad || alen > (uint64_t)(end - r.p)) return 0;
  f->insns = r.p + alen;
  f->insns_end = end;
  return !r.bad;
}

/* --------------------------------------------------- the CFA program */

enum {
  HOW_SAME = 0,
  HOW_UNDEF,
  HOW_OFFSET,
  HOW_VAL_OFFSET,
  HOW_REG,
  HOW_EXPR,
  HOW_VAL_EXPR
};

typedef struct regrule {
  uint8_t how, reg;
  int64_t off;
  const uint8_t *expr;
  uint32_t len;
} regrule;

typedef struct cfa_state {
  int cfa_is_expr;
  uint64_t cfa_reg;
  int64_t cfa_off;
  const uint8_t *cfa_expr;
  uint32_t cfa_len;
  regrule r[NREGS];
} cfa_state;

/* Runs instructions [p, end) while loc <= at. Returns 0 on corrupt data.
 * init: the state after the CIE's program (for DW_CFA_restore). */
static int run_cfa(const cie *c, const uint8_t *p, const uint8_t *end,
                   uintptr_t loc, uintptr_t at, cfa_state *s,
                   const cfa_state *init)
{
  cfa_state stack[CFA_STACK_DEPTH];
  int depth = 0;
  rd r = {p, end, 0};
  for (int ops = 0; r.p < r.end; ops++) {
    if (ops > CFA_MAX_OPS || r.bad) return 0;
    uint8_t op = (uint8_t)rd_u(&r, 1);
    uint64_t reg = 0, delta = 0;
    int64_t off;
    switch (op >> 6) {
    case 1: /* advance_loc */ delta = op & 0x3f; goto advance;
    case 2: /* offset */
      reg = op & 0x3f;
      off = mul_wrap((int64_t)rd_uleb(&r), c->data_align);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_OFFSET, 0, off, NULL, 0};
      continue;
    case 3: /* restore */
      reg = op & 0x3f;
      if (reg < NREGS) s->r[reg] = init ? init->r[reg] : (regrule){0};
      continue;
    }
    switch (op) {
    case 0x00: break; /* nop */
    case 0x01:        /* set_loc */
      loc = rd_enc(&r, c->fde_enc, 0);
      if (loc > at) return !r.bad;
      break;
    case 0x02: delta = rd_u(&r, 1); goto advance;
    case 0x03: delta = rd_u(&r, 2); goto advance;
    case 0x04: delta = rd_u(&r, 4); goto advance;
    case 0x05: /* offset_extended */
      reg = rd_uleb(&r);
      off = mul_wrap((int64_t)rd_uleb(&r), c->data_align);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_OFFSET, 0, off, NULL, 0};
      break;
    case 0x06: /* restore_extended */
      reg = rd_uleb(&r);
      if (reg < NREGS) s->r[reg] = init ? init->r[reg] : (regrule){0};
      break;
    case 0x07: /* undefined */
      reg = rd_uleb(&r);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_UNDEF, 0, 0, NULL, 0};
      break;
    case 0x08: /* same_value */
      reg = rd_uleb(&r);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_SAME, 0, 0, NULL, 0};
      break;
    case 0x09: { /* register */
      reg = rd_uleb(&r);
      uint64_t r2 = rd_uleb(&r);
      if (reg < NREGS)
        s->r[reg] =
            (regrule){HOW_REG, (uint8_t)(r2 < NREGS ? r2 : 0xff), 0, NULL, 0};
      break;
    }
    case 0x0a: /* remember_state */
      if (depth >= CFA_STACK_DEPTH) return 0;
      stack[depth++] = *s;
      break;
    case 0x0b: /* restore_state */
      if (depth == 0) return 0;
      *s = stack[--depth];
      break;
    case 0x0c: /* def_cfa */
      s->cfa_reg = rd_uleb(&r);
      s->cfa_off = (int64_t)rd_uleb(&r);
      s->cfa_is_expr = 0;
      break;
    case 0x0d:
      s->cfa_reg = rd_uleb(&r);
      s->cfa_is_expr = 0;
      break;
    case 0x0e: s->cfa_off = (int64_t)rd_uleb(&r); break;
    case 0x0f: { /* def_cfa_expression */
      uint64_t n = rd_uleb(&r);
      if (r.bad || n > (uint64_t)(r.end - r.p)) return 0;
      s->cfa_is_expr = 1;
      s->cfa_expr = r.p;
      s->cfa_len = (uint32_t)n;
      r.p += n;
      break;
    }
    case 0x10:
    case 0x16: { /* expression, val_expression */
      reg = rd_uleb(&r);
      uint64_t n = rd_uleb(&r);
      if (r.bad || n > (uint64_t)(r.end - r.p)) return 0;
      if (reg < NREGS)
        s->r[reg] = (regrule){op == 0x10 ? HOW_EXPR : HOW_VAL_EXPR, 0, 0, r.p,
                              (uint32_t)n};
      r.p += n;
      break;
    }
    case 0x11: /* offset_extended_sf */
      reg = rd_uleb(&r);
      off = mul_wrap(rd_sleb(&r), c->data_align);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_OFFSET, 0, off, NULL, 0};
      break;
    case 0x12: /* def_cfa_sf */
      s->cfa_reg = rd_uleb(&r);
      s->cfa_off = mul_wrap(rd_sleb(&r), c->data_align);
      s->cfa_is_expr = 0;
      break;
    case 0x13: s->cfa_off = mul_wrap(rd_sleb(&r), c->data_align); break;
    case 0x14:
    case 0x15: /* val_offset(_sf) */
      reg = rd_uleb(&r);
      off = op == 0x14 ? mul_wrap((int64_t)rd_uleb(&r), c->data_align)
                       : mul_wrap(rd_sleb(&r), c->data_align);
      if (reg < NREGS) s->r[reg] = (regrule){HOW_VAL_OFFSET, 0, off, NULL, 0};
      break;
    case 0x2e: rd_uleb(&r); break; /* GNU_args_size */
    case 0x2d: /* AARCH64_negate_ra_state (GNU_window_save elsewhere) */
      /* Signed return addresses are stripped wherever they are read. */
      if (!FS_ARCH_RA_IN_REG) return 0;
      break;
    case 0x2f: /* GNU_negative_offset_extended */
      reg = rd_uleb(&r);
      off = (int64_t)(0 -
                      (uint64_t)mul_wrap((int64_t)rd_uleb(&r), c->data_align));
      if (reg < NREGS) s->r[reg] = (regrule){HOW_OFFSET, 0, off, NULL, 0};
      break;
    default: return 0; /* unknown opcode: the rule would be a guess */
    }
    continue;
  advance:
    if (r.bad) return 0;
    loc += (uintptr_t)(delta * c->code_align); /* unsigned: wraps */
    if (loc > at) return 1;
  }
  return !r.bad;
}

/* ---------------------------------------------------- finding the FDE */

/* The FDE covering at, from the object's .eh_frame_hdr table. The image
 * is the object's mapped range; every read stays inside it. */
static const uint8_t *find_fde(uintptr_t at, const uint8_t **lo,
                               const uint8_t **hi)
{
  fs_object o;
  if (!fs_object_find(at, &o) || !o.eh_frame_hdr) return NULL;
  *lo = (const uint8_t *)o.start;
  *hi = (const uint8_t *)o.end;
  const uint8_t *h = o.eh_frame_hdr;
  if (h < *lo || h + 4 > *hi || h[0] != 1) return NULL;
  rd r = {h + 4, *hi, 0};
  uint8_t ptr_enc = h[1], cnt_enc = h[2], tab_enc = h[3];
  rd_enc(&r, ptr_enc, (uintptr_t)h); /* eh_frame start: unused */
  uintptr_t count = rd_enc(&r, cnt_enc, (uintptr_t)h);
  /* Only the layout every x86-64 linker writes: datarel sdata4 pairs. */
  if (r.bad || tab_enc != 0x3b || count == 0) return NULL;
  const uint8_t *tab = r.p;
  if ((size_t)(*hi - tab) / 8 < count) return NULL;
  /* Last entry whose initial location <= at. */
  size_t a = 0, b = count;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    int32_t loc;
    memcpy(&loc, tab + m * 8, 4);
    if ((uintptr_t)h + (intptr_t)loc <= at) a = m + 1;
    else b = m;
  }
  if (a == 0) return NULL;
  int32_t fde_rel;
  memcpy(&fde_rel, tab + (a - 1) * 8 + 4, 4);
  return h + fde_rel;
}

int fs_cfi_ra_vouched(uintptr_t ra)
{
  uintptr_t at = ra - 1;
  if (ra == fs_sigreturn_pc || fs_cfi_lookup(at)) return 1;
  fs_object o;
  if (!fs_object_find(at, &o)) return 0;
  if (!o.eh_frame_hdr) return 1;
  const uint8_t *lo, *hi;
  const uint8_t *fp = find_fde(at, &lo, &hi);
  cie c;
  fde f;
  if (fp && parse_fde(lo, hi, fp, &c, &f) && at >= f.pc_begin && at < f.pc_end)
    return 1;
  /* A signal trampoline without unwind information (musl's __restore_rt;
   * musl's sigaction does not report it, so fs_sigreturn_pc stays 0),
   * recognised by its code — read with fs_safe_copy: a garbage address
   * inside an object may lie in a PROT_NONE gap between its segments. */
  unsigned char code[FS_SIGRETURN_LEN];
  uintptr_t at_code = (uintptr_t)code;
  return o.end - ra >= FS_SIGRETURN_LEN &&
         fs_safe_copy(code, ra, FS_SIGRETURN_LEN) == 0 &&
         fs_sigreturn_code_at(at_code, at_code, at_code + FS_SIGRETURN_LEN);
}

int fs_cfi_rule_at(const uint8_t *lo, const uint8_t *hi, const uint8_t *fp,
                   uintptr_t at, fs_cfi_rule *out)
{
  cie c;
  fde f;
  if (!parse_fde(lo, hi, fp, &c, &f) || at < f.pc_begin || at >= f.pc_end)
    return 0;
  cfa_state init, s;
  memset(&init, 0, sizeof init);
  if (!run_cfa(&c, c.insns, c.insns_end, 0, UINTPTR_MAX, &init, NULL)) return 0;
  s = init;
  if (!run_cfa(&c, f.insns, f.insns_end, f.pc_begin, at, &s, &init)) return 0;
  memset(out, 0, sizeof *out);
  if (s.cfa_is_expr) {
    out->cfa_reg = 0xff;
    out->cfa_expr = s.cfa_expr;
    out->cfa_expr_len = s.cfa_len;
  } else {
    if (s.cfa_reg != R_RSP && s.cfa_reg != R_RBP) return 0;
    if (s.cfa_off < INT32_MIN || s.cfa_off > INT32_MAX) return 0;
    out->cfa_reg = (uint8_t)s.cfa_reg;
    out->cfa_off = (int32_t)s.cfa_off;
  }
  const regrule *ra = &s.r[R_RA], *bp = &s.r[R_RBP];
  if (ra->how == HOW_UNDEF) out->ra_how = 1;
  else if (FS_ARCH_RA_IN_REG && ra->how == HOW_SAME) out->ra_how = 2;
  else if (ra->how == HOW_OFFSET && ra->off >= INT32_MIN &&
           ra->off <= INT32_MAX)
    out->ra_off = (int32_t)ra->off;
  else return 0; /* unusual return-address rules: not guessed */
  if (bp->how == HOW_SAME) out->rbp_how = 0;
  else if ((bp->how == HOW_OFFSET || bp->how == HOW_VAL_OFFSET) &&
           bp->off >= INT32_MIN && bp->off <= INT32_MAX) {
    out->rbp_how = bp->how == HOW_OFFSET ? 1 : 2;
    out->rbp_off = (int32_t)bp->off;
  } else if (bp->how == HOW_UNDEF) out->rbp_how = 0;
  else return 0;
  (void)c.signal_frame;
  return 1;
}

/* ------------------------------------------------------- expressions */

/* Reads 8 bytes of the stack, only inside the walk's region. */
FS_NO_SANITIZE static int stack_read(const fs_cursor *c, uintptr_t a,
                                     uintptr_t *v)
{
  if (a < c->region.lo || a > c->region.hi - 8 || c->region.hi < 8 || (a & 7))
    return 0;
  *v = *(const uintptr_t *)a;
  return 1;
}

/* Evaluates a DWARF expression with the registers a walk knows (the
 * stack and frame pointers, and x86-64's rip). Memory reads only inside the stack region. */
static int eval_expr(const fs_cursor *c, uintptr_t pc, const uint8_t *p,
                     uint32_t len, uintptr_t *out)
{
  uintptr_t st[EXPR_STACK];
  int sp = 0, ops = 0;
  rd r = {p, p + len, 0};
  while (r.p < r.end) {
    if (++ops > EXPR_MAX_OPS || r.bad) return 0;
    uint8_t op = (uint8_t)rd_u(&r, 1);
    uintptr_t a, b;
    if (op >= 0x30 && op <= 0x4f) { /* lit0..31 */
      if (sp >= EXPR_STACK) return 0;
      st[sp++] = op - 0x30;
      continue;
    }
    if (op >= 0x70 && op <= 0x8f) { /* breg0..31 */
      int reg = op - 0x70;
      int64_t off = rd_sleb(&r);
      uintptr_t v;
      if (reg == R_RSP && (FS_ARCH_FP_SP_EXACT || c->sp_exact)) v = c->sp;
      else if (reg == R_RBP) v = c->fp;
      else if (reg == R_RA && !FS_ARCH_RA_IN_REG) v = pc;
      else return 0; /* a register the walk does not know */
      if (sp >= EXPR_STACK) return 0;
      st[sp++] = v + (uintptr_t)off;
      continue;
    }
    switch (op) {
    case 0x06: /* deref */
      if (sp < 1 || !stack_read(c, st[sp - 1], &st[sp - 1])) return 0;
      break;
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x0e:
    case 0x0f:
    case 0x10:
    case 0x11: { /* const* */
      uintptr_t v;
      switch (op) {
      case 0x08: v = (uintptr_t)rd_u(&r, 1); break;
      case 0x09: v = (uintptr_t)(int64_t)(int8_t)rd_u(&r, 1); break;
      case 0x0a: v = (uintptr_t)rd_u(&r, 2); break;
      case 0x0b: v = (uintptr_t)(int64_t)(int16_t)rd_u(&r, 2); break;
      case 0x0c: v = (uintptr_t)rd_u(&r, 4); break;
      case 0x0d: v = (uintptr_t)(int64_t)(int32_t)rd_u(&r, 4); break;
      case 0x0e:
      case 0x0f: v = (uintptr_t)rd_u(&r, 8); break;
      case 0x10: v = (uintptr_t)rd_uleb(&r); break;
      default: v = (uintptr_t)rd_sleb(&r); break;
      }
      if (sp >= EXPR_STACK) return 0;
      st[sp++] = v;
      break;
    }
    case 0x12: /* dup */
      if (sp < 1 || sp >= EXPR_STACK) return 0;
      st[sp] = st[sp - 1];
      sp++;
      break;
    case 0x13:
      if (sp < 1) return 0;
      sp--;
      break;   /* drop */
    case 0x14: /* over */
      if (sp < 2 || sp >= EXPR_STACK) return 0;
      st[sp] = st[sp - 2];
      sp++;
      break;
    case 0x16: /* swap */
      if (sp < 2) return 0;
      a = st[sp - 1];
      st[sp - 1] = st[sp - 2];
      st[sp - 2] = a;
      break;
    case 0x23: /* plus_uconst */
      if (sp < 1) return 0;
      st[sp - 1] += (uintptr_t)rd_uleb(&r);
      break;
    case 0x1a:
    case 0x1c:
    case 0x1e:
    case 0x21:
    case 0x22:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x27:
    case 0x29:
    case 0x2a:
    case 0x2b:
    case 0x2c:
    case 0x2d:
    case 0x2e: /* binary operators */
      if (sp < 2) return 0;
      b = st[--sp];
      a = st[sp - 1];
      switch (op) {
      case 0x1a: a &= b; break;
      case 0x1c: a -= b; break;
      case 0x1e: a *= b; break;
      case 0x21: a |= b; break;
      case 0x22: a += b; break;
      case 0x24: a = b < 64 ? a << b : 0; break;
      case 0x25: a = b < 64 ? a >> b : 0; break;
      case 0x26: a = b < 64 ? (uintptr_t)((intptr_t)a >> b) : 0; break;
      case 0x27: a ^= b; break;
      case 0x29: a = a == b; break;
      case 0x2a: a = (intptr_t)a >= (intptr_t)b; break;
      case 0x2b: a = (intptr_t)a > (intptr_t)b; break;
      case 0x2c: a = (intptr_t)a <= (intptr_t)b; break;
      case 0x2d: a = (intptr_t)a < (intptr_t)b; break;
      default: a = a != b; break;
      }
      st[sp - 1] = a;
      break;
    default: return 0; /* not needed for CFA rules on x86-64: unknown */
    }
  }
  if (r.bad || sp < 1) return 0;
  *out = st[sp - 1];
  return 1;
}

/* ------------------------------------------------------ the rule cache */

/* Simple rules pack into 64 bits (see pack); the layout and the
 * validity argument are in cfi.h. */
fs_cfi_cache_t fs_cfi_cache;

/* Architectures without the warm loop cache a rule for the general step
 * in a layout of their own: bits 0-15 the CFA offset, 16-31 the return
 * address's offset from the CFA, 32 valid, 33 CFA from the frame
 * pointer (else sp), 34-35 the frame pointer's rule, 36 outermost, 37-38
 * the return address's rule, 48-63 the frame pointer's offset. */
static uint64_t pack_general(const fs_cfi_rule *r)
{
  if (r->cfa_reg == 0xff || r->cfa_off < INT16_MIN || r->cfa_off > INT16_MAX ||
      r->ra_off < INT16_MIN || r->ra_off > INT16_MAX ||
      r->rbp_off < INT16_MIN || r->rbp_off > INT16_MAX)
    return 0;
  return (uint64_t)(uint16_t)r->cfa_off | (uint64_t)(uint16_t)r->ra_off << 16 |
         FS_CFI_PK_VALID | (r->cfa_reg == R_RBP ? FS_CFI_PK_RBP : 0) |
         (uint64_t)r->rbp_how << FS_CFI_PK_HOW_SHIFT |
         (uint64_t)r->ra_how << 37 | (uint64_t)(uint16_t)r->rbp_off << 48;
}

static void unpack_general(uint64_t pk, fs_cfi_rule *r)
{
  memset(r, 0, sizeof *r);
  r->cfa_reg = pk & FS_CFI_PK_RBP ? R_RBP : R_RSP;
  r->cfa_off = (int16_t)(uint16_t)pk;
  r->ra_off = (int16_t)(uint16_t)(pk >> 16);
  r->rbp_how = (uint8_t)FS_CFI_PK_HOW(pk);
  r->ra_how = (uint8_t)((pk >> 37) & 3);
  r->rbp_off = (int16_t)(uint16_t)(pk >> 48);
}

/* Packs a simple rule; 0 when it does not fit (then it is not cached). */
static uint64_t pack(const fs_cfi_rule *r)
{
  if (!FS_ARCH_CFI_LOOP) return pack_general(r);
  if (r->ra_how == 1) return fs_cfi_with_ra8(FS_CFI_PK_VALID | FS_CFI_PK_END);
  /* The return address right below the CFA (where call pushed it) is
   * the only shape the fast path knows; a CFA that moves sp up by a
   * multiple of 8 lets it skip all but one bounds check. */
  if (r->cfa_reg == 0xff || r->ra_off != -8) return 0;
  if (r->cfa_off < 8 || r->cfa_off > INT16_MAX || (r->cfa_off & 7) ||
      r->rbp_off < INT16_MIN || r->rbp_off > INT16_MAX)
    return 0;
  return fs_cfi_with_ra8(FS_CFI_PK_VALID |
                         (r->cfa_reg == 6 ? FS_CFI_PK_RBP : 0) |
                         ((uint64_t)r->rbp_how << FS_CFI_PK_HOW_SHIFT) |
                         (uint64_t)(uint32_t)(r->cfa_off - 8) |
                         ((uint64_t)(uint16_t)r->rbp_off << 48));
}

static void cache_put(uintptr_t at, const fs_cfi_rule *r)
{
  uint64_t pk = pack(r);
  uintptr_t key = at + 1;
  /* The walk loop takes the signal trampoline's frame to the general
   * step because its key is never cached (an exact PC just before it
   * would have that key). */
  if (!pk || key == fs_sigreturn_pc) return;
  size_t i = fs_cfi_index(key);
  uint64_t ep =
      atomic_load_explicit(&fs_modules_code_epoch, memory_order_relaxed);
  /* Tag 0 first: a reader between the stores sees no valid slot (and a
   * reader that read the old tag sees a rule that no longer matches it;
   * ra8 is a prediction, checked against the rule). */
  atomic_store_explicit(&fs_cfi_cache.tag[i], 0, memory_order_relaxed);
  atomic_store_explicit(&fs_cfi_cache.rule[i], pk, memory_order_relaxed);
  fs_cfi_ra8_put(key, pk);
  atomic_store_explicit(&fs_cfi_cache.tag[i], key ^ fs_cfi_mix(pk, ep),
                        memory_order_release);
}

/* ------------------------------------------------------------- a step */

/* The CFA of c's frame under rule r, into *cfa; 0 when it cannot be
 * known. An sp-based rule needs the frame's real sp: aarch64 walks after
 * a frame-record step know only a lower bound, and then a frame that
 * saved its frame record (x29 and x30 side by side, the only shape where
 * x29 points at that record once the prologue is done, which it is at a
 * call) gives the CFA from x29 instead. */
static int frame_cfa(const fs_cursor *c, const fs_cfi_rule *r, int exact,
                     uintptr_t *cfa)
{
  if (r->cfa_reg == R_RBP) {
    /* A frame whose CFA hangs off its frame pointer has its frame
     * record inside it, at or above sp. */
    if (c->fp < c->sp) return 0;
    *cfa = c->fp + (uintptr_t)(intptr_t)r->cfa_off;
    return 1;
  }
  if (r->cfa_reg != R_RSP)
    return eval_expr(c, c->pc, r->cfa_expr, r->cfa_expr_len, cfa);
  if (FS_ARCH_FP_SP_EXACT || c->sp_exact) {
    *cfa = c->sp + (uintptr_t)(intptr_t)r->cfa_off;
    return 1;
  }
  if (exact || r->ra_how != 0 || r->rbp_how != 1 ||
      r->ra_off != r->rbp_off + 8 || c->fp < c->sp)
    return 0;
  *cfa = c->fp - (uintptr_t)(intptr_t)r->rbp_off;
  return 1;
}

/* Moves c to its caller under rule r (not the outermost frame's). */
FS_NO_SANITIZE static int apply_rule(fs_cursor *c, const fs_cfi_rule *r,
                                     int exact)
{
  uintptr_t cfa, ra, fp = c->fp;
  int lr_frame = r->ra_how == 2, sp_exact = 1;
  if (lr_frame && (!exact || !c->lr)) return FS_STEP_END;
  if (lr_frame && !c->sp_exact && r->cfa_reg == R_RSP && r->rbp_how == 0) {
    /* A frame that has saved nothing yet, seen with sp only bounded:
     * the caller is the link register, its sp bounded the same way. */
    cfa = c->sp;
    sp_exact = 0;
  } else if (!frame_cfa(c, r, exact, &cfa)) {
    return FS_STEP_END;
  }
  /* The caller's stack pointer must move up, within the stack; on
   * aarch64 a frame that has pushed nothing has its CFA at sp (only an
   * interrupted frame, which a walk meets once per signal frame). */
  if (cfa < c->sp || (cfa == c->sp && !lr_frame) || cfa > c->region.hi)
    return FS_STEP_END;
  if (lr_frame) ra = c->lr;
  else if (!stack_read(c, cfa + (uintptr_t)(intptr_t)r->ra_off, &ra))
    return FS_STEP_END;
  ra = fs_arch_strip_ra(ra);
  if (r->rbp_how == 1 &&
      !stack_read(c, cfa + (uintptr_t)(intptr_t)r->rbp_off, &fp))
    return FS_STEP_END;
  if (r->rbp_how == 2) fp = cfa + (uintptr_t)(intptr_t)r->rbp_off;
  if (!fs_code_valid(c, ra) || !fs_cfi_ra_vouched(ra)) return FS_STEP_END;
  c->sp_exact = sp_exact;
  c->pc = ra;
  c->sp = cfa;
  c->fp = fp;
  c->lr = 0;
  return FS_STEP_OK;
}

/* A step by the FDE covering at, read from the object (the rule is
 * cached for later steps). Every stack slot is read through stack_read,
 * which checks both ends of the region, so the frame's own sp may lie
 * below it (fs_cfi_step_checked). */
FS_NO_SANITIZE static int step_by_fde(fs_cursor *c, uintptr_t at, int exact)
{
  fs_cfi_rule r;
  const uint8_t *lo, *hi;
  const uint8_t *f = find_fde(at, &lo, &hi);
  /* No FDE covers at (the table's nearest entry ends before it), or a
   * rule we cannot follow: no CFI for this PC. */
  if (!f || !fs_cfi_rule_at(lo, hi, f, at, &r)) return FS_CFI_NONE;
  cache_put(at, &r);
  if (r.ra_how == 1) return FS_STEP_END; /* the outermost frame */
  return apply_rule(c, &r, exact);
}

FS_NO_SANITIZE int fs_cfi_step(fs_cursor *c, int exact)
{
  uintptr_t at = exact ? c->pc : c->pc - 1;
  uint64_t pk = fs_cfi_lookup(at);
  if (pk && !FS_ARCH_CFI_LOOP) {
    fs_cfi_rule r;
    unpack_general(pk, &r);
    return r.ra_how == 1 ? FS_STEP_END : apply_rule(c, &r, exact);
  }
  if (pk) {
    /* The walk loop may have stopped here because a torn write left the
     * slot's ra8 byte apart from its rule: store it again. */
    fs_cfi_ra8_put(at + 1, pk);
    int st = fs_cfi_apply(c, pk);
    if (st == FS_STEP_OK &&
        (!fs_code_valid(c, c->pc) || !fs_cfi_ra_vouched(c->pc)))
      return FS_STEP_END;
    return st;
  }
  return step_by_fde(c, at, exact);
}

FS_NO_SANITIZE int fs_cfi_step_checked(fs_cursor *c, int exact)
{
  return step_by_fde(c, exact ? c->pc : c->pc - 1, exact);
}

/* cfi.h — the DWARF CFI unwinder (cfi.c): the unwind rule of a PC from
 * the loaded object's .eh_frame (found through .eh_frame_hdr's
 * binary-search table, located by _dl_find_object), and one unwind step
 * with it. Everything here is async-signal-safe: no allocation, no locks,
 * no dl_iterate_phdr; every read of unwind data is checked against the
 * object's mapped range, and every read of the stack against the walk's
 * stack region. */
#ifndef FASTSTACK_CFI_H
#define FASTSTACK_CFI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/walk.h"

/* Result of fs_cfi_step. */
enum {
  FS_CFI_NONE = -1, /* no CFI covers the PC: use another rule */
};

/* [AS-safe] One step of the walk with the CFI rule of c's frame: c->pc is
 * the frame's PC (a return address, looked up at pc-1, unless exact is
 * set: the interrupted PC of a signal frame), c->sp its stack pointer
 * and c->fp its rbp. Moves the cursor to the caller and returns
 * FS_STEP_OK; FS_STEP_END when the CFI says this is the outermost frame
 * or the caller's frame fails validation; FS_CFI_NONE when no CFI covers
 * the PC. */
int fs_cfi_step(fs_cursor *c, int exact);
/* [AS-safe] fs_cfi_step by the FDE alone (never the cached rule, whose
 * step reads the return address without checking the region's low end):
 * for a frame whose sp lies below its stack region (a stack overflow),
 * every slot read is checked against both ends of c->region. */
int fs_cfi_step_checked(fs_cursor *c, int exact);

/* [AS-safe] Does the unwind table vouch for ra as a return address: an
 * FDE covers ra-1 (a call ends there), or ra's object has no unwind table
 * to ask (code without CFI: then only its range vouches)? A word read
 * through a corrupt frame pointer may point anywhere in an object — its
 * headers, its data — and must not become a frame. */
int fs_cfi_ra_vouched(uintptr_t ra);

/* For the fuzz target and tests: parses the CIE/FDE at fde in the image
 * [lo, hi) and runs its CFA program up to address at; fills the rule.
 * Returns 1, or 0 when the data is corrupt or the rule is unsupported. */
typedef struct fs_cfi_rule {
  uint8_t cfa_reg; /* 6 rbp, 7 rsp; 0xff: an expression */
  uint8_t ra_how;  /* 0 at CFA+ra_off; 1 undefined (outermost) */
  uint8_t rbp_how; /* 0 unchanged; 1 at CFA+rbp_off; 2 CFA+rbp_off
                           itself */
  int32_t cfa_off, ra_off, rbp_off;
  const uint8_t *cfa_expr; /* when cfa_reg == 0xff */
  uint32_t cfa_expr_len;
} fs_cfi_rule;

int fs_cfi_rule_at(const uint8_t *lo, const uint8_t *hi, const uint8_t *fde,
                   uintptr_t at, fs_cfi_rule *r);

/* ------------------------------------------------ the warm fast path
 * The rule cache, inline so the walk loop can run cached steps with its
 * state in registers (capture.c). A packed rule: bits 0-31 the offset of
 * the return address from the frame's CFA-register value (the CFA
 * offset - 8; the return address is always at CFA-8: rules that say
 * otherwise are not packed), bit 32 valid, bit 33 CFA from rbp (else
 * rsp), bits 34-35 the rbp rule (0 unchanged, 1 saved at CFA+rbp_off, 2
 * CFA+rbp_off itself), bit 36 outermost frame, bits 37-45 the rule's ra8
 * value (below; FS_CFI_RA8_NOT, which is no byte, in a rule the
 * frameless step does not take), bits 48-63 the rbp offset. Only CFA offsets in [8, 32767] that
 * are multiples of 8 are packed (and only those up to 2032 get an ra8
 * prediction): a cached step then always moves sp up, 8-aligned, and
 * needs one bounds compare. */
#define FS_CFI_PK_VALID (1ull << 32)
#define FS_CFI_PK_RBP (1ull << 33)
#define FS_CFI_PK_HOW_SHIFT 34
#define FS_CFI_PK_END (1ull << 36) /* RA undefined: _start */
#define FS_CFI_PK_RA8_SHIFT 37
#define FS_CFI_PK_HOW(pk) ((unsigned)((pk) >> FS_CFI_PK_HOW_SHIFT) & 3)
#define FS_CFI_PK_RA8(pk) ((unsigned)((pk) >> FS_CFI_PK_RA8_SHIFT) & 0x1ff)
#define FS_CFI_PK_RA_OFF(pk) ((intptr_t)(int32_t)(uint32_t)(pk))
#define FS_CFI_PK_CFA_OFF(pk) (FS_CFI_PK_RA_OFF(pk) + 8)
#define FS_CFI_PK_BP_OFF(pk) ((intptr_t)(int16_t)((pk) >> 48))

/* The cache is direct-mapped by the low 16 bits of key = lookup address
 * + 1: for a return address that is the return address itself (looked
 * up at pc-1), for the exact PC of a signal frame it is pc+1 — the very
 * value the walk stores in pcs. The walk loads those 16 bits from the
 * return address's stack slot (a second load beside the whole address)
 * and indexes all three arrays with them: no arithmetic between reading
 * a return address and reading its rule.
 *
 * A frameless step's chain of dependent loads — return address -> its
 * rule -> the next return address — decides a walk's speed, so the
 * rule's part on that chain lives apart: ra8 holds the frame's
 * return-address offset from sp in units of 8, one byte, and one link is
 * a load of ra8 and the next a load at [sp + ra8*8]: two loads a frame,
 * no arithmetic between them. The byte is a copy (stored apart, so a
 * concurrent writer can tear it from the rule); the walk takes it only
 * when it equals the tagged rule's own ra8 field (bits 37-45), a compare
 * beside the chain. No byte equals FS_CFI_RA8_NOT (a rule's field), so
 * one compare also rejects the rules the frameless step does not take,
 * whatever the table holds.
 *
 * Validity: tag = key ^ fs_cfi_mix(rule, epoch). A reader accepts a rule
 * only if the tag matches the rule it read — or, for the frame-pointer
 * rule, which the walk checks by its tag alone, the tag matches that
 * rule. A slot torn by a concurrent writer (or by a signal handler
 * interrupting one) fails a check: a miss, never a wrong rule (up to a
 * 2^-64 hash accident). No locks.
 *
 * Memory: 1 MiB of tags and rules and 64 KiB of ra8, zero pages until
 * touched; a walk touches the lines (and pages) its return addresses'
 * low bits select. */
#define FS_CFI_SLOTS 65536
#define FS_CFI_RA8_NONE 255 /* ra8 table: no prediction */
#define FS_CFI_RA8_NOT 511  /* a rule's field: not a frameless rule */
#define FS_CFI_RA8_MAX 254  /* the largest prediction: 2032 bytes */
typedef struct fs_cfi_cache_t {
  /* First: addressed with no displacement. */
  _Atomic uint8_t ra8[FS_CFI_SLOTS];
  _Atomic uint64_t tag[FS_CFI_SLOTS];
  _Atomic uint64_t rule[FS_CFI_SLOTS];
} fs_cfi_cache_t;
extern fs_cfi_cache_t fs_cfi_cache;
/* Tags mix in the modules stage's code epoch (fs_modules_code_epoch):
 * once it advances (an object came or went), no entry filled before
 * matches any more, without a pass over the cache. */

/* A multiply, so a torn read (one slot's tag, another's rule) cannot
 * pass by a linear accident; the constant fits an imul immediate. */
#define FS_CFI_MIX_MUL 0x9e3779b1u
static inline uint64_t fs_cfi_mix(uint64_t pk, uint64_t epoch)
{
  return (pk ^ (epoch << 7)) * FS_CFI_MIX_MUL;
}

/* The frame-pointer rule: CFA = rbp+16, RA at CFA-8, rbp at CFA-16. */
#define FS_CFI_PK_FP_RULE                                                      \
  (FS_CFI_PK_VALID | FS_CFI_PK_RBP | (1ull << FS_CFI_PK_HOW_SHIFT) | 8u |      \
   ((uint64_t)FS_CFI_RA8_NOT << FS_CFI_PK_RA8_SHIFT) |                         \
   ((uint64_t)(uint16_t)-16 << 48))

/* Slot of a key: its low bits. A hash would add a multiply to every
 * step's chain of dependent loads, and return addresses spread well over
 * their low bits. */
static inline size_t fs_cfi_index(uintptr_t key)
{
  return key & (FS_CFI_SLOTS - 1);
}

/* The ra8 field of a rule being packed (its other bits set): the return
 * address's offset from sp in units of 8 for a frameless rule (CFA from
 * rsp, not the outermost frame), else FS_CFI_RA8_NOT. */
static inline uint64_t fs_cfi_with_ra8(uint64_t pk)
{
  intptr_t ro = FS_CFI_PK_RA_OFF(pk);
  uint64_t v = !(pk & (FS_CFI_PK_RBP | FS_CFI_PK_END)) && ro >= 0 &&
                       ro <= FS_CFI_RA8_MAX * 8 && !(ro & 7)
                   ? (uint64_t)(ro / 8)
                   : FS_CFI_RA8_NOT;
  pk &= ~(0x1ffull << FS_CFI_PK_RA8_SHIFT);
  return pk | v << FS_CFI_PK_RA8_SHIFT;
}

/* The ra8 table's byte for a packed rule. */
static inline uint8_t fs_cfi_ra8_of(uint64_t pk)
{
  unsigned v = FS_CFI_PK_RA8(pk);
  return v <= FS_CFI_RA8_MAX ? (uint8_t)v : FS_CFI_RA8_NONE;
}

/* [AS-safe] The cached packed rule for lookup address at, or 0. */
static inline uint64_t fs_cfi_lookup(uintptr_t at)
{
  uintptr_t key = at + 1;
  size_t i = fs_cfi_index(key);
  uint64_t tag =
      atomic_load_explicit(&fs_cfi_cache.tag[i], memory_order_acquire);
  uint64_t pk =
      atomic_load_explicit(&fs_cfi_cache.rule[i], memory_order_relaxed);
  uint64_t ep =
      atomic_load_explicit(&fs_modules_code_epoch, memory_order_relaxed);
  return pk && (tag ^ fs_cfi_mix(pk, ep)) == key ? pk : 0;
}

/* [AS-safe] The caller's rbp under a packed rule whose rbp rule is not
 * "unchanged", into *fp: saved at CFA+off (read, inside [sp, hi)) or
 * CFA+off itself. 0 when the slot is out of bounds. */
FS_NO_SANITIZE static inline int fs_cfi_rbp(uint64_t pk, uintptr_t cfa,
                                            uintptr_t sp, uintptr_t hi,
                                            uintptr_t *fp)
{
  uintptr_t bp_at = cfa + (uintptr_t)FS_CFI_PK_BP_OFF(pk);
  if (FS_CFI_PK_HOW(pk) == 2) *fp = bp_at;
  else if (bp_at < sp || bp_at > hi - 8 || (bp_at & 7)) return 0;
  else *fp = *(const uintptr_t *)bp_at;
  return 1;
}

/* The ra8 byte of a packed rule, stored for key. */
static inline void fs_cfi_ra8_put(uintptr_t key, uint64_t pk)
{
  atomic_store_explicit(&fs_cfi_cache.ra8[fs_cfi_index(key)], fs_cfi_ra8_of(pk),
                        memory_order_relaxed);
}

/* [AS-safe] Applies a packed rule to the cursor's frame: FS_STEP_OK (the
 * caller checks the new PC is code) or FS_STEP_END. */
FS_NO_SANITIZE static inline int fs_cfi_apply(fs_cursor *c, uint64_t pk)
{
  if (pk & FS_CFI_PK_END) return FS_STEP_END;
  uintptr_t s = c->sp, hi = c->region.hi;
  uintptr_t cfa =
      ((pk & FS_CFI_PK_RBP) ? c->fp : s) + (uintptr_t)FS_CFI_PK_CFA_OFF(pk);
  if (cfa <= s || cfa > hi || (cfa & 7)) return FS_STEP_END;
  uintptr_t nfp = c->fp;
  if (FS_CFI_PK_HOW(pk) && !fs_cfi_rbp(pk, cfa, s, hi, &nfp))
    return FS_STEP_END;
  c->pc = ((const uintptr_t *)cfa)[-1];
  c->sp = cfa;
  c->fp = nfp;
  return FS_STEP_OK;
}

#endif

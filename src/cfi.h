/* cfi.h — the DWARF CFI unwinder (cfi.c): the unwind rule of a PC from
 * the loaded object's .eh_frame (found through .eh_frame_hdr's
 * binary-search table, located by _dl_find_object), and one unwind step
 * with it. Everything here is async-signal-safe: no allocation, no locks,
 * no dl_iterate_phdr; every read of unwind data is checked against the
 * object's mapped range, and every read of the stack against the walk's
 * stack region. */
#ifndef FASTSTACK_CFI_H
#define FASTSTACK_CFI_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

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

/* [AS-safe] Drops the rule cache's entries (an object was loaded or
 * unloaded, so a PC may now mean other code). */
void fs_cfi_cache_invalidate(void);

/* For the fuzz target and tests: parses the CIE/FDE at fde in the image
 * [lo, hi) and runs its CFA program up to address at; fills the rule.
 * Returns 1, or 0 when the data is corrupt or the rule is unsupported. */
typedef struct fs_cfi_rule {
  uint8_t cfa_reg;      /* 6 rbp, 7 rsp; 0xff: an expression */
  uint8_t ra_how;       /* 0 at CFA+ra_off; 1 undefined (outermost) */
  uint8_t rbp_how;      /* 0 unchanged; 1 at CFA+rbp_off; 2 CFA+rbp_off
                           itself */
  int32_t cfa_off, ra_off, rbp_off;
  const uint8_t *cfa_expr; /* when cfa_reg == 0xff */
  uint32_t cfa_expr_len;
} fs_cfi_rule;

int fs_cfi_rule_at(const uint8_t *lo, const uint8_t *hi, const uint8_t *fde,
                   uintptr_t at, fs_cfi_rule *r);

/* ------------------------------------------------ the warm fast path
 * The rule cache, inline so the walk loop can run cached steps with its
 * state in registers (capture.c). A packed rule: bits 0-15 the CFA
 * offset (signed; first, so it is one sign-extending move on the chain of
 * dependent loads), bit 16 valid, bit 17 CFA from rbp (else rsp), bits
 * 18-19 the rbp rule (0 unchanged, 1 saved at CFA+rbp_off, 2 CFA+rbp_off
 * itself), bit 20 outermost frame, bits 48-63 the rbp offset. The return
 * address is always at CFA-8 (rules that say otherwise are not packed). */
#define FS_CFI_SLOTS 4096
#define FS_CFI_PK_VALID (1ull << 16)
#define FS_CFI_PK_RBP (1ull << 17)
#define FS_CFI_PK_END (1ull << 20) /* RA undefined: _start */
#define FS_CFI_PK_HOW(pk) ((unsigned)((pk) >> 18) & 3)
#define FS_CFI_PK_CFA_OFF(pk) ((intptr_t)(int16_t)(pk))
#define FS_CFI_PK_BP_OFF(pk) ((intptr_t)(int16_t)((pk) >> 48))

typedef struct fs_cfi_slot {
  _Atomic uint64_t tag;    /* pc ^ fs_cfi_mix(packed, epoch) */
  _Atomic uint64_t packed;
} fs_cfi_slot;

extern fs_cfi_slot fs_cfi_cache[FS_CFI_SLOTS];
extern _Atomic uint64_t fs_cfi_epoch;

static inline uint64_t fs_cfi_mix(uint64_t pk, uint64_t epoch)
{
  return (pk ^ (epoch << 7)) * 0x9e3779b97f4a7c15ull;
}

/* Direct-mapped by the PC's low bits: a hash would add a multiply to
 * every step's chain of dependent loads, and return addresses spread
 * well over their low bits. */
static inline fs_cfi_slot *fs_cfi_slot_of(uintptr_t at)
{
  return &fs_cfi_cache[at & (FS_CFI_SLOTS - 1)];
}

/* [AS-safe] The cached packed rule for at, or 0. */
static inline uint64_t fs_cfi_lookup(uintptr_t at)
{
  fs_cfi_slot *s = fs_cfi_slot_of(at);
  uint64_t tag = atomic_load_explicit(&s->tag, memory_order_acquire);
  uint64_t pk = atomic_load_explicit(&s->packed, memory_order_relaxed);
  uint64_t ep = atomic_load_explicit(&fs_cfi_epoch, memory_order_relaxed);
  return pk && (tag ^ fs_cfi_mix(pk, ep)) == at ? pk : 0;
}

/* [AS-safe] Applies a packed rule to a frame's registers (pc, sp, fp in
 * the stack region ending at hi): FS_STEP_OK (the caller checks the new
 * PC is code) or FS_STEP_END. Inline, so the walk loop keeps them in
 * registers. */
FS_NO_SANITIZE static inline int fs_cfi_apply_regs(uint64_t pk, uintptr_t *pc,
                                                  uintptr_t *sp, uintptr_t *fp,
                                                  uintptr_t hi)
{
  if (pk & FS_CFI_PK_END) return FS_STEP_END;
  uintptr_t s = *sp;
  uintptr_t cfa = ((pk & FS_CFI_PK_RBP) ? *fp : s) +
                  (uintptr_t)FS_CFI_PK_CFA_OFF(pk);
  if (cfa <= s || cfa > hi || (cfa & 7)) return FS_STEP_END;
  uintptr_t nfp = *fp;
  unsigned how = FS_CFI_PK_HOW(pk);
  if (how) {
    uintptr_t bp_at = cfa + (uintptr_t)FS_CFI_PK_BP_OFF(pk);
    if (how == 2) nfp = bp_at;
    else if (bp_at < s || bp_at > hi - 8 || (bp_at & 7)) return FS_STEP_END;
    else nfp = *(const uintptr_t *)bp_at;
  }
  *pc = ((const uintptr_t *)cfa)[-1];
  *sp = cfa;
  *fp = nfp;
  return FS_STEP_OK;
}

/* [AS-safe] The same on a cursor. */
static inline int fs_cfi_apply(fs_cursor *c, uint64_t pk)
{
  return fs_cfi_apply_regs(pk, &c->pc, &c->sp, &c->fp, c->region.hi);
}

#endif

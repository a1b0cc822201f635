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

#endif

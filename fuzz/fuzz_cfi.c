/* fuzz_cfi — the CIE/FDE parser and the CFA-program interpreter on
 * arbitrary bytes. Input: 4 bytes FDE offset, 8 bytes lookup address
 * (relative to the FDE's pc_begin is not known: used as is), then the
 * unwind data (a copy, so reads past its end are caught). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cfi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 12) return 0;
  uint32_t off;
  uint64_t at;
  memcpy(&off, data, 4);
  memcpy(&at, data + 4, 8);
  size -= 12;
  uint8_t *img = malloc(size ? size : 1);
  memcpy(img, data + 12, size);
  fs_cfi_rule r;
  if (size) {
    const uint8_t *fde = img + (off % size);
    /* The lookup address is taken relative to the image, so pcrel
     * pc_begin values can match it. */
    (void)fs_cfi_rule_at(img, img + size, fde, (uintptr_t)img + (at % 4096),
                         &r);
    (void)fs_cfi_rule_at(img, img + size, fde, (uintptr_t)at, &r);
  }
  free(img);
  return 0;
}

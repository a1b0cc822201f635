/* modules.h — the modules stage: which loaded ELF object holds a PC
 * (faststack_module_find, AS-safe), the list of loaded objects, and the
 * notice that objects came or went, which every cache keyed by code
 * address depends on. What later stages may use beyond the public API. */
#ifndef FASTSTACK_MODULES_H
#define FASTSTACK_MODULES_H

#include <stdatomic.h>

#include "common/common.h"

/* One loaded object, as fs_object_find reports it. */
typedef struct fs_object {
  uintptr_t start, end;        /* its mapped range */
  uintptr_t bias;              /* load bias (link_map l_addr) */
  const uint8_t *eh_frame_hdr; /* PT_GNU_EH_FRAME, or NULL */
  const char *name;            /* "" for the executable */
  const void *id;              /* stands for the object while it is loaded */
} fs_object;

/* [AS-safe] The loaded object holding pc: _dl_find_object (glibc 2.35+)
 * or the snapshot of loaded objects (objfind.c). 1 found, 0 not. */
int fs_object_find(uintptr_t pc, fs_object *o);

/* Load-time setup of fs_object_find (chooses the lookup, builds the
 * first snapshot), and the snapshot's rebuild when objects came or went
 * (a no-op with _dl_find_object). Not AS-safe. */
void fs_objects_init(void);
void fs_objects_refresh(void);
/* [AS-safe] 1 when fs_object_find searches the snapshot. */
int fs_objects_snapshot_mode(void);

/* [AS-safe] The build-id bytes of the object mapped at [start, end) with
 * the given bias, read from its mapped program headers and notes
 * (bounds-checked against the mapping), and their count; NULL if none. */
const unsigned char *fs_mapped_build_id(uintptr_t start, uintptr_t end,
                                        uintptr_t bias, unsigned *len);

/* [AS-safe] Changes whenever the module snapshot is replaced (so does
 * anything derived from faststack_module_find's answers). */
uint64_t fs_modules_snapshot_id(void);

/* The code epoch: advanced whenever this stage notices that an object was
 * loaded or unloaded (a refresh, or fs_modules_generation), so a PC may
 * now mean other code. A cache keyed by code address mixes it into its
 * entries (capture's unwind-rule cache does) and so never serves an
 * entry from before the change. Read it with a relaxed atomic load
 * [AS-safe]; only this stage writes it. */
extern _Atomic uint64_t fs_modules_code_epoch;

/* Changes whenever an object is loaded or unloaded (dl_iterate_phdr's
 * adds and subs counters); advances the code epoch and tells the
 * subscribers when it has changed since last asked. Not AS-safe. */
unsigned long long fs_modules_generation(void);

/* Registers fn to be called (not in signal context, with no lock of this
 * stage held) after this stage noticed that objects came or went. At
 * most 4 subscribers; 0 or -1. Not AS-safe. */
int fs_modules_subscribe(void (*fn)(void));

#endif /* FASTSTACK_MODULES_H */

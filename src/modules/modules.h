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
  const char *name;            /* "" for the executable; with
                                  _dl_find_object the loader's string,
                                  read it with fs_safe_* only */
  const void *id;              /* stands for the object while it is loaded */
  int named;                   /* bias and name filled (fs_object_names) */
} fs_object;

/* [AS-safe] The loaded object holding pc: _dl_find_object (glibc 2.35+)
 * or the snapshot of loaded objects (objfind.c). 1 found, 0 not. Fills
 * the range, the unwind table and id; bias and name only where they come
 * free (the snapshot): fs_object_names fills them otherwise. */
int fs_object_find(uintptr_t pc, fs_object *o);
/* [AS-safe] Fills o's bias and name (from its link map, read with
 * fs_safe_copy); 1, or 0 when the link map could not be read. */
int fs_object_names(fs_object *o);

/* Load-time setup of fs_object_find (chooses the lookup, builds the
 * first snapshot), and the snapshot's rebuild when objects came or went
 * (a no-op with _dl_find_object). Not AS-safe. */
void fs_objects_init(void);
void fs_objects_refresh(void);
/* [AS-safe] 1 when fs_object_find searches the snapshot. */
int fs_objects_snapshot_mode(void);

/* [AS-safe] The build-id of the object mapped at [start, end) with the
 * given bias, read from its mapped ELF header, program headers and notes
 * (bounds-checked against the mapping, read with fs_safe_copy: an object
 * unloaded meanwhile gives 0, never a fault). Copies up to max bytes into
 * id, stores the bytes' address in the mapping in *at (may be NULL) and
 * returns how many were copied; 0 when there is none. */
unsigned fs_mapped_build_id(uintptr_t start, uintptr_t end, uintptr_t bias,
                            unsigned char *id, unsigned max, uintptr_t *at);

/* [AS-safe] A link map's l_addr and l_name pointer (objfind.c), read
 * with fs_safe_copy: _dl_find_object's link map is freed by a dlclose in
 * another thread at any moment, so whoever reads it checks afterwards
 * that _dl_find_object still gives it (and reads the name only with
 * fs_safe_* too). 0 when it could not be read. */
int fs_link_map_read(const void *lm, uintptr_t *bias, const char **name);
/* [AS-safe] Its l_name pointer alone (NULL when unreadable). */
const char *fs_link_map_name(const void *lm);
/* [AS-safe] Is m's path the snapshot's own copy (kept for the process's
 * life), rather than the loader's string (valid until dlclose)? */
int fs_module_kept(const faststack_module *m);

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

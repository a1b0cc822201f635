/* crashtable.c — placeholder, replaced below. */
#include "crash.h"
int fs_ctab_start(int mode, size_t max_bytes) { (void)mode; (void)max_bytes; return 0; }
void fs_ctab_enter(void) {}
void fs_ctab_leave(void) {}
int fs_ctab_lookup(uintptr_t start, const char *build_id, uintptr_t at,
                   fs_ctab_frame *out, int max)
{ (void)start; (void)build_id; (void)at; (void)out; (void)max; return 0; }
int fs_ctab_wait(int timeout_ms) { (void)timeout_ms; return 0; }
void fs_ctab_kick(void) {}

/* raw.c — the raw trace format: module, module offset and build-id
 * per frame. It needs no symbol tables, so it is async-signal-safe and is
 * what a crash handler can always print; `faststack symbolize` (or
 * addr2line) resolves it offline. */
#include "format/format.h"

uintptr_t fs_lookup_pc(const uintptr_t *pcs, int i, unsigned flags)
{
  int exact = i == 0 && (flags & FASTSTACK_PCS_UCONTEXT);
  return exact || pcs[i] == 0 ? pcs[i] : pcs[i] - 1;
}

void fs_raw_frame(fs_out *o, int64_t i, uintptr_t pc, uintptr_t at,
                  const faststack_module *m)
{
  fs_out_char(o, '#');
  fs_out_dec(o, i);
  fs_out_str(o, i < 10 ? "  0x" : " 0x");
  fs_out_hex(o, pc, 16);
  fs_out_char(o, ' ');
  if (!m) {
    fs_out_str(o, "??\n");
    return;
  }
  fs_out_str(o, m->path[0] ? m->path : "??");
  fs_out_str(o, "+0x");
  fs_out_hex(o, at - m->bias, 1);
  if (m->build_id[0]) {
    fs_out_str(o, " build-id=");
    fs_out_str(o, m->build_id);
  }
  fs_out_char(o, '\n');
}

static void raw_frame(fs_out *o, int i, uintptr_t pc, uintptr_t at)
{
  faststack_module m;
  fs_raw_frame(o, i, pc, at, faststack_module_find(at, &m) ? &m : NULL);
}

void fs_raw_trace(fs_out *o, const uintptr_t *pcs, int n, unsigned flags)
{
  for (int i = 0; pcs && i < n; i++)
    raw_frame(o, i, pcs[i], fs_lookup_pc(pcs, i, flags));
}

FASTSTACK_API size_t faststack_format_raw(const uintptr_t *pcs, int n,
                                          unsigned flags, char *buf, size_t cap)
{
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  fs_raw_trace(&o, pcs, n, flags);
  return fs_out_finish(&o);
}

FASTSTACK_API int faststack_write_raw(int fd, const uintptr_t *pcs, int n,
                                      unsigned flags)
{
  char stage[512];
  fs_out o;
  fs_out_init_fd(&o, fd, stage, sizeof stage);
  fs_raw_trace(&o, pcs, n, flags);
  return fs_out_finish(&o) == 0 ? 0 : -1;
}

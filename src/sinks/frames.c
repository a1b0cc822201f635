/* frames.c — PCs to text on the signal-safe paths (crash reports, thread
 * dumps): each PC's frames from the lookup table (crashtable.c), written
 * by the format stage's one Go-style frame writer, or the raw line when
 * the table does not know the PC. Nothing here allocates, locks or
 * symbolizes. */
#include <string.h>

#include "sinks/sinks.h"

int fs_sink_color_env = -1;

void fs_sink_color_setup(void)
{
  fs_sink_color_env = fs_color_env();
}

unsigned fs_sink_color(int fd)
{
  int c = fs_sink_color_env >= 0 ? fs_sink_color_env : fs_is_tty(fd);
  return c ? FS_SINK_COLOR : 0;
}

/* A table frame as the format stage's frame. */
static void to_frame(const fs_ctab_frame *t, const faststack_module *m,
                     uintptr_t pc, uintptr_t at, faststack_frame *f)
{
  memset(f, 0, sizeof *f);
  f->pc = pc;
  f->function = t->function;
  f->file = t->file;
  f->line = t->line;
  f->inlined = t->inlined;
  f->function_offset = t->inlined ? 0 : t->func_offset;
  f->module = m->path[0] ? m->path : NULL;
  f->build_id = m->build_id[0] ? m->build_id : NULL;
  f->module_offset = at - m->bias;
}

/* The frames of one PC from the table; 0 when it does not know it. */
static int table_frames(fs_out *o, uintptr_t pc, uintptr_t at,
                        const faststack_module *m, unsigned mode)
{
  /* Pruned names, as the Go format prints them everywhere else. */
  fs_style st;
  memset(&st, 0, sizeof st);
  st.prune = 1;
  st.color = (mode & FS_SINK_COLOR) != 0;
  fs_ctab_frame fr[8];
  fs_ctab_enter();
  int nf = fs_ctab_lookup(m->start, m->build_id, at - m->bias, fr, 8);
  for (int k = 0; k < nf; k++) {
    faststack_frame f;
    faststack_source_line l;
    char src[161];
    to_frame(&fr[k], m, pc, at, &f);
    memset(&l, 0, sizeof l);
    /* The line read with the table, off the signal path; or, when asked
     * for, read now. */
    if (!(mode & FS_SINK_SOURCE)) {
      l.text = fr[k].text;
    } else if (fs_source_line_now(f.file, f.line, src, sizeof src)) {
      /* Read now: marked when the file changed after the module. */
      l.text = src;
      if (fs_source_newer_now(f.file, m->path))
        l.status = FASTSTACK_LINE_STALE_NEWER;
    }
    fs_format_go_frame(o, &f, l.text ? &l : NULL, &st);
  }
  fs_ctab_leave();
  return nf;
}

static void one_pc(fs_out *o, size_t i, uintptr_t pc, uintptr_t at,
                   unsigned mode)
{
  faststack_module m;
  int have_mod = faststack_module_find(at, &m);
  if (have_mod && !(mode & FS_SINK_RAW) &&
      table_frames(o, pc, at, &m, mode) > 0)
    return;
  fs_raw_frame(o, (int64_t)i, pc, at, have_mod ? &m : NULL);
}

void fs_sink_frames(fs_out *o, const uintptr_t *pcs, size_t n, unsigned flags,
                    unsigned mode)
{
  int head, tail;
  int np = n > INT32_MAX ? INT32_MAX : (int)n;
  fs_elide_plan(np, 0, &head, &tail);
  for (int i = 0; i < np; i++) {
    if (i == head && tail > 0) {
      fs_format_elided(o, np - head - tail);
      i = np - tail;
    }
    one_pc(o, (size_t)i, pcs[i], fs_lookup_pc(pcs, i, flags), mode);
  }
}

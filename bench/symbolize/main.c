/* bench_symbolize — symbolizing 10,000 PCs, side by side with peers.
 *
 * The corpus (generated: 40 compile units x 250 functions, each with an
 * always_inline helper, gcc -O2 -g) is linked into this executable. One
 * PC in the middle of each function, looked up as exact addresses.
 *
 * In-process, each tool in a fresh child process (so memory and caches do
 * not mix): faststack, libbacktrace's backtrace_pcinfo, libdw (dwfl).
 * Reported: time from the child's exec to its first answer, the first
 * pass over all PCs, a repeated pass, frames per PC (inline frames
 * included), and the child's peak RSS.
 *
 * The first pass is the like-for-like figure: every tool decodes what it
 * needs and looks each PC up once, and the ratio column compares it. A
 * repeated pass is not the same work across tools: faststack answers a PC
 * it has answered before from its PC cache (a cache hit: a hash probe and
 * a copy), while libbacktrace and libdw have no answer cache and look the
 * PC up again in their decoded data. The table says so.
 *
 * Offline, each tool a process reading the module offsets on stdin:
 * faststack symbolize -f -i, addr2line -f -i, llvm-symbolizer,
 * eu-addr2line -f -i: wall time and peak RSS (wait4's rusage). */
#define _GNU_SOURCE
#include <backtrace.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "debuginfo.h"
#include "faststack.h"

extern int (*const corpus_fns[])(int);
extern const int corpus_count;

static double now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static long peak_rss_kb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

/* The middle of each corpus function (its inlined helper's body). */
static uintptr_t *corpus_pcs(int *n)
{
  uintptr_t *pcs = malloc((size_t)corpus_count * sizeof *pcs);
  int k = 0;
  for (int i = 0; i < corpus_count; i++) {
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1((void *)corpus_fns[i], &info, (void **)&sym, RTLD_DL_SYMENT) &&
        sym && sym->st_size > 1)
      pcs[k++] = (uintptr_t)corpus_fns[i] + sym->st_size / 2;
  }
  *n = k;
  return pcs;
}

/* ------------------------------------------------------ in-process tools */

typedef struct tool {
  const char *name;
  int (*init)(void);
  int (*lookup)(uintptr_t pc); /* frames found; 0 unknown */
} tool;

static faststack_symbolizer *fs;
static int fs_init(void)
{
  fs = faststack_default_symbolizer();
  return fs ? 0 : -1;
}
static int fs_lookup(uintptr_t pc)
{
  faststack_frame f[16];
  char b[2048];
  int n = faststack_symbolize(fs, pc, FASTSTACK_PC_EXACT, f, 16, b, sizeof b);
  return n > 0 && f[0].function ? n : 0;
}

static struct backtrace_state *bt;
static void bt_err(void *d, const char *m, int e)
{
  (void)d;
  (void)m;
  (void)e;
}
static int bt_init(void)
{
  bt = backtrace_create_state(NULL, 1, bt_err, NULL);
  return bt ? 0 : -1;
}
static int bt_cb(void *d, uintptr_t pc, const char *file, int line,
                 const char *fn)
{
  (void)pc;
  (void)file;
  (void)line;
  if (fn) ++*(int *)d;
  return 0;
}
static int bt_lookup(uintptr_t pc)
{
  int n = 0;
  backtrace_pcinfo(bt, pc, bt_cb, bt_err, &n);
  return n;
}

static Dwfl *dwfl;
static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_cbs = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};
static int dw_init(void)
{
  dwfl = dwfl_begin(&dwfl_cbs);
  if (!dwfl || dwfl_linux_proc_report(dwfl, getpid()) != 0 ||
      dwfl_report_end(dwfl, NULL, NULL) != 0)
    return -1;
  return 0;
}
/* The function and line, and the inline chain through dwarf_getscopes
 * (libdw's way: one scope per inlined subroutine). */
static int dw_lookup(uintptr_t pc)
{
  Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
  if (!m) return 0;
  const char *name = dwfl_module_addrname(m, pc);
  Dwfl_Line *l = dwfl_module_getsrc(m, pc);
  int line = 0;
  if (l) dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
  Dwarf_Addr bias;
  Dwarf_Die *cu = dwfl_module_addrdie(m, pc, &bias);
  int frames = name ? 1 : 0;
  if (cu) {
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(cu, pc - bias, &scopes);
    for (int i = 0; i < n; i++)
      if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine) frames++;
    free(scopes);
  }
  return frames;
}

static const tool tools[] = {
    {"faststack", fs_init, fs_lookup},
    {"libbacktrace", bt_init, bt_lookup},
    {"libdw (dwfl)", dw_init, dw_lookup},
};
#define NTOOLS (int)(sizeof tools / sizeof tools[0])

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Child: runs one tool on the PCs the parent wrote (module offsets; this
 * process's own load bias is added). Prints "first_abs_ns pass1_ns
 * warm_ns frames rss n". */
static int child(int t, const char *file, double budget_s)
{
  FILE *f = fopen(file, "r");
  if (!f) return 1;
  uintptr_t *pcs = malloc((size_t)corpus_count * sizeof *pcs);
  Dl_info info;
  dladdr((void *)corpus_fns[0], &info);
  uintptr_t bias = (uintptr_t)info.dli_fbase;
  unsigned long off;
  int n = 0;
  while (n < corpus_count && fscanf(f, "%lx", &off) == 1) pcs[n++] = bias + off;
  fclose(f);
  double init0 = now_ns();
  if (!n || tools[t].init() != 0) return 1;
  (void)tools[t].lookup(pcs[n / 2]);
  double first = now_ns();
  double init_first = first - init0;
  double t0 = now_ns();
  long frames = 0;
  for (int i = 0; i < n; i++) frames += tools[t].lookup(pcs[i]);
  double pass1 = now_ns() - t0;
  /* Warm passes, as many as fit the budget (at least one); the median
   * pass, so a moment of interference on a shared machine does not
   * count. */
  static double passes[200];
  int rounds = 0;
  double budget0 = now_ns();
  do {
    t0 = now_ns();
    for (int i = 0; i < n; i++) tools[t].lookup(pcs[i]);
    passes[rounds++] = now_ns() - t0;
  } while (now_ns() - budget0 < budget_s * 1e9 && rounds < 200);
  qsort(passes, (size_t)rounds, sizeof passes[0], cmp_double);
  double warm = passes[rounds / 2];
  printf("%.0f %.0f %.0f %.3f %ld %.0f\n", first, pass1 / n, warm / n,
         (double)frames / n, peak_rss_kb(), init_first);
  return 0;
}

static int run_child(const char *self, int t, const char *file, double *r)
{
  int fd[2];
  if (pipe(fd) != 0) return -1;
  double start = now_ns();
  pid_t p = fork();
  if (p == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    char arg[16];
    snprintf(arg, sizeof arg, "%d", t);
    execl(self, self, "--child", arg, file, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char buf[256] = "";
  ssize_t k = read(fd[0], buf, sizeof buf - 1);
  close(fd[0]);
  int st;
  waitpid(p, &st, 0);
  if (k <= 0 || sscanf(buf, "%lf %lf %lf %lf %lf %lf", &r[0], &r[1], &r[2],
                       &r[3], &r[4], &r[5]) != 6)
    return -1;
  r[0] -= start; /* exec to first answer */
  return 0;
}

/* ------------------------------------------------------------ offline */

/* posix_spawn (vfork-like in glibc): a fork of this process — tens of
 * MiB mapped by the in-process runs — would charge every tool for
 * copying its page tables. */
static int run_offline(char *const argv[], const char *input, double *secs,
                       long *rss_kb)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  extern char **environ;
  pid_t p;
  double start = now_ns();
  int rc = posix_spawnp(&p, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st;
  struct rusage ru;
  if (wait4(p, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
    return -1;
  *secs = (now_ns() - start) / 1e9;
  *rss_kb = ru.ru_maxrss;
  return 0;
}

/* ------------------------------------------------------------ the check
 * The tables compare equal work only if the answers are equal: every PC's
 * frames from faststack (function, file, line, innermost first) must be
 * libbacktrace's, frame for frame. Run in this process after the timed
 * children (they are not charged for its memory); `--smoke` runs only
 * this, for emulated builds whose timings mean nothing. */
typedef struct bt_chain {
  int n;
  const char *fn[16], *file[16];
  int line[16];
} bt_chain;

static int chain_cb(void *d, uintptr_t pc, const char *file, int line,
                    const char *fn)
{
  (void)pc;
  bt_chain *c = d;
  if (c->n == 16) return 1;
  c->fn[c->n] = fn;
  c->file[c->n] = file;
  c->line[c->n++] = line;
  return 0;
}

static const char *base_name(const char *p)
{
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p ? p : "?";
}

static int same(const char *a, const char *b)
{
  return a && b ? !strcmp(a, b) : a == b;
}

/* 0 when faststack's frames for pc equal libbacktrace's; else says how.
 * Adds faststack's frames to *frames. */
static int check_pc(uintptr_t pc, int *shown, long *frames)
{
  faststack_frame f[16];
  char buf[2048];
  bt_chain c = {0};
  int n =
      faststack_symbolize(fs, pc, FASTSTACK_PC_EXACT, f, 16, buf, sizeof buf);
  backtrace_pcinfo(bt, pc, chain_cb, bt_err, &c);
  if (n > 0) *frames += n;
  int bad = n != c.n;
  for (int i = 0; !bad && i < n; i++)
    bad = !same(f[i].function, c.fn[i]) || f[i].line != c.line[i] ||
          !same(base_name(f[i].file), base_name(c.file[i]));
  if (bad && (*shown)++ < 5) {
    printf("check FAILED at %#lx: faststack %d frames, libbacktrace %d\n",
           (unsigned long)pc, n, c.n);
    for (int i = 0; i < n || i < c.n; i++)
      printf("  #%d  faststack %s %s:%d | libbacktrace %s %s:%d\n", i,
             i < n && f[i].function ? f[i].function : "-",
             i < n ? base_name(f[i].file) : "-", i < n ? f[i].line : 0,
             i < c.n && c.fn[i] ? c.fn[i] : "-",
             i < c.n ? base_name(c.file[i]) : "-", i < c.n ? c.line[i] : 0);
  }
  return bad;
}

/* Checks every PC; returns the number that disagree. */
static int check_all(const uintptr_t *pcs, int n)
{
  if (fs_init() != 0 || bt_init() != 0) {
    printf("check FAILED: a symbolizer did not start\n");
    return 1;
  }
  int bad = 0, shown = 0;
  long frames = 0;
  for (int i = 0; i < n; i++) bad += check_pc(pcs[i], &shown, &frames);
  printf("check: %d of %d PCs (%ld frames) have faststack's frames equal to "
         "libbacktrace's (function, file, line, inline chain)\n",
         n - bad, n, frames);
  return bad;
}

/* The folder of path (cut in place). */
static char *dirname_of(char *path)
{
  char *s = strrchr(path, '/');
  if (s) *s = '\0';
  return path;
}

int main(int argc, char **argv)
{
  if (argc == 4 && !strcmp(argv[1], "--child"))
    return child(atoi(argv[2]), argv[3], 0.5);
  if (argc == 2 && !strcmp(argv[1], "--debuginfo")) {
    /* Only the debug-information section. */
    char me[4096], fsb[4200];
    ssize_t l = readlink("/proc/self/exe", me, sizeof me - 1);
    if (l <= 0) return 1;
    me[l] = '\0';
    dirname_of(me);
    snprintf(fsb, sizeof fsb, "%s/../../tools/faststack", me);
    bench_debuginfo(fsb, me);
    return 0;
  }
  char self[4096];
  ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
  if (k <= 0) return 1;
  self[k] = '\0';
  int n;
  uintptr_t *pcs = corpus_pcs(&n);
  if (argc == 2 && !strcmp(argv[1], "--smoke")) {
    printf("symbolize smoke: %d PCs, no timings\n", n);
    return n > 0 && check_all(pcs, n) == 0 ? 0 : 1;
  }
  printf("symbolize: %d PCs, one per corpus function (gcc -O2 -g, each with "
         "an inlined helper), exact addresses\n\n",
         n);
  /* Module offsets of the PCs: the children and the offline tools read
   * them (each process adds its own load bias). */
  faststack_module m;
  if (n <= 0 || !faststack_module_find(pcs[0], &m)) return 1;
  char input[] = "/tmp/bench_symbolize.XXXXXX";
  int fd = mkstemp(input);
  FILE *f = fdopen(fd, "w");
  for (int i = 0; i < n; i++)
    fprintf(f, "0x%lx\n", (unsigned long)(pcs[i] - m.bias));
  fclose(f);
  printf("in-process (each tool in a fresh process; first answer: from "
         "fork+exec to the first symbolized PC; in-proc: from creating the "
         "tool's state)\n");
  printf("%-14s %14s %12s %14s %10s %19s %10s %12s\n", "tool", "first answer",
         "(in-proc)", "1st pass/PC", "1st x fs", "repeat/PC", "frames/PC",
         "peak RSS");
  double fs_first = 0, first[NTOOLS] = {0};
  for (int t = 0; t < NTOOLS; t++) {
    double r[6];
    if (run_child(self, t, input, r) != 0) {
      printf("%-14s %14s\n", tools[t].name, "failed");
      continue;
    }
    if (t == 0) fs_first = r[1];
    first[t] = r[1];
    /* What the repeat measures differs: say it in the cell. */
    printf("%-14s %11.2f ms %9.2f ms %11.0f ns %9.1fx %8.0f ns %-9s %10.2f "
           "%8.0f MiB\n",
           tools[t].name, r[0] / 1e6, r[5] / 1e6, r[1],
           fs_first > 0 ? r[1] / fs_first : 0, r[2],
           t == 0 ? "cache hit" : "lookup", r[3], r[4] / 1024);
  }
  if (first[0] > 0 && first[1] > 0)
    printf("like for like (first pass, every PC looked up once): faststack "
           "%.0f ns/PC, libbacktrace %.0f ns/PC (%.1fx)\n",
           first[0], first[1], first[1] / first[0]);
  printf("repeat/PC: faststack's is a PC-cache hit (the answer kept from "
         "the first pass); libbacktrace and libdw look the PC up again\n");
  char fsbin[4200], obj[4200];
  const char *slash = strrchr(self, '/');
  snprintf(fsbin, sizeof fsbin, "%.*s/../../tools/faststack",
           (int)(slash - self), self);
  snprintf(obj, sizeof obj, "--obj=%s", self);
  char *const cmds[][8] = {
      {fsbin, "symbolize", "-f", "-i", "-e", self, NULL},
      {"addr2line", "-f", "-i", "-e", self, NULL},
      {"llvm-symbolizer", obj, NULL},
      {"eu-addr2line", "-f", "-i", "-e", self, NULL},
  };
  static const char *const names[] = {"faststack", "addr2line",
                                      "llvm-symbolizer", "eu-addr2line"};
  enum { NOFF = 4, ROUNDS = 7 };
  /* Rounds interleave the tools, so a noisy moment hits all of them;
   * each tool's median is reported (eu-addr2line, 100x slower, once). */
  double secs[NOFF][ROUNDS];
  long rss[NOFF] = {0};
  int runs[NOFF] = {0};
  for (int r = 0; r < ROUNDS; r++)
    for (int t = 0; t < NOFF; t++) {
      if (r > 0 && (t == 3 || runs[t] == 0)) continue;
      double sec;
      long kb;
      if (run_offline(cmds[t], input, &sec, &kb) != 0) continue;
      secs[t][runs[t]++] = sec;
      if (kb > rss[t]) rss[t] = kb;
    }
  printf("\noffline (%d addresses on stdin, one process each; median of %d "
         "interleaved runs)\n",
         n, ROUNDS);
  printf("%-20s %10s %12s %12s\n", "tool", "wall", "peak RSS", "x faststack");
  double fs_s = 0;
  for (int t = 0; t < NOFF; t++) {
    if (!runs[t]) {
      printf("%-20s %10s\n", names[t], "n/a");
      continue;
    }
    qsort(secs[t], (size_t)runs[t], sizeof secs[t][0], cmp_double);
    double s = secs[t][runs[t] / 2];
    if (t == 0) fs_s = s;
    printf("%-20s %8.4f s %8.1f MiB %11.1fx\n", names[t], s, rss[t] / 1024.0,
           fs_s > 0 ? s / fs_s : 0);
  }
  unlink(input);
  bench_debuginfo(fsbin, dirname_of(self));
  printf("\ntargets: first answer <= 10 ms; a PC-cache hit <= 50 ns/PC; "
         "offline >= 4x faster than addr2line and llvm-symbolizer, less peak "
         "memory than llvm-symbolizer\n");
  return check_all(pcs, n) == 0 ? 0 : 1;
}

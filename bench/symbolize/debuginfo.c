/* debuginfo.c — bench_symbolize's section on debug information as
 * distributions ship it: the corpus program dwz'd with a supplementary
 * file (dwz -m, as Debian's -dbgsym packages are) and split into a .dwp
 * package (gcc -gdwarf-4 -gsplit-dwarf, dwp -e). For each input and each
 * tool — faststack symbolize, addr2line, llvm-symbolizer, each resolved
 * on PATH and printed with its version — two runs in a fresh process:
 *
 *   first answer: one address on a pipe, the time from spawn to the
 *     first line of its answer (what a person waits for), and the peak
 *     RSS of that process once its input is closed;
 *   all PCs: every corpus function's middle address on stdin, wall time
 *     and peak RSS (wait4's rusage).
 *
 * Medians of interleaved rounds; the first answer's text is printed so a
 * reader sees which tools could read the input at all. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "debuginfo.h"

extern char **environ;

static double mono_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The file PATH resolves name to (the binary that is measured). */
static int resolve(const char *name, char *out, size_t cap)
{
  if (strchr(name, '/')) return realpath(name, out) != NULL;
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p;) {
    const char *c = strchr(p, ':');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    char cand[PATH_MAX];
    size_t l = strlen(name);
    if (n && n + l + 2 <= sizeof cand) {
      memcpy(cand, p, n);
      cand[n] = '/';
      memcpy(cand + n + 1, name, l + 1);
      if (access(cand, X_OK) == 0 && realpath(cand, out)) return 1;
    }
    p += n + (c != NULL);
  }
  (void)cap;
  return 0;
}

/* First line of `bin --version`. */
static void version(const char *bin, char *out, size_t cap)
{
  char cmd[4 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "'%s' --version 2>&1", bin);
  FILE *p = popen(cmd, "r");
  out[0] = '\0';
  while (p && fgets(out, (int)cap, p))
    if (strstr(out, "version") || strstr(out, "GNU") || strstr(out, "fast"))
      break;
  if (p) pclose(p);
  out[strcspn(out, "\n")] = '\0';
}

/* One address on a pipe: ms to the first line of the answer, peak RSS
 * (KiB) of the process, the answer's first line. */
static int first_answer(char *const argv[], const char *addr, double *ms,
                        long *kb, char *answer, size_t cap)
{
  int in[2], out[2];
  if (pipe(in) || pipe(out)) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  pid_t pid;
  double t0 = mono_ns();
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return -1;
  }
  char line[256];
  snprintf(line, sizeof line, "%s\n", addr);
  ssize_t w = write(in[1], line, strlen(line));
  size_t got = 0;
  answer[0] = '\0';
  while (w > 0 && got + 1 < cap) {
    ssize_t k = read(out[0], answer + got, cap - 1 - got);
    if (k <= 0) break;
    got += (size_t)k;
    answer[got] = '\0';
    if (strchr(answer, '\n')) break;
  }
  *ms = (mono_ns() - t0) / 1e6;
  close(in[1]);
  char sink[4096];
  while (read(out[0], sink, sizeof sink) > 0) {
  }
  close(out[0]);
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) < 0) return -1;
  *kb = ru.ru_maxrss;
  answer[strcspn(answer, "\n")] = '\0';
  return got ? 0 : -1;
}

/* Every address of file input on stdin: seconds and peak RSS (KiB). */
static int all_pcs(char *const argv[], const char *input, double *s, long *kb)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  double t0 = mono_ns();
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
    return -1;
  *s = (mono_ns() - t0) / 1e9;
  *kb = ru.ru_maxrss;
  return 0;
}

/* The middle of every corpus function (f_U_F) of file, as module
 * offsets, into a temporary file; one of them into first. */
static int addresses(const char *file, char *input, char *first, size_t cap)
{
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "nm -S --defined-only '%s'", file);
  FILE *p = popen(cmd, "r");
  strcpy(input, "/tmp/bench_debuginfo.XXXXXX");
  int fd = mkstemp(input);
  FILE *o = fd >= 0 ? fdopen(fd, "w") : NULL;
  int n = 0;
  unsigned long a, sz;
  char t, name[256], line[512];
  while (p && o && fgets(line, sizeof line, p)) {
    if (sscanf(line, "%lx %lx %c %255s", &a, &sz, &t, name) != 4 ||
        strncmp(name, "f_", 2) || sz < 2)
      continue;
    fprintf(o, "0x%lx\n", a + sz / 2);
    if (n++ == 100) snprintf(first, cap, "0x%lx", a + sz / 2);
  }
  if (p) pclose(p);
  if (o) fclose(o);
  return n;
}

void bench_debuginfo(const char *fsbin, const char *dir)
{
  static const char *const inputs[][2] = {
      {"corpus_dwz", "dwz -m: .gnu_debugaltlink to a supplementary file"},
      {"bench_corpus_split", "gcc -gdwarf-4 -gsplit-dwarf, dwp -e: .dwp"}};
  static const char *const names[] = {"faststack", "addr2line",
                                      "llvm-symbolizer"};
  char bins[3][PATH_MAX];
  printf("\ndebug information as distributions ship it (one process per "
         "run; medians of interleaved rounds)\n");
  if (!resolve(fsbin, bins[0], sizeof bins[0])) return;
  for (int t = 0; t < 3; t++) {
    char v[256] = "";
    if (t && !resolve(names[t], bins[t], sizeof bins[t])) bins[t][0] = '\0';
    if (bins[t][0]) version(bins[t], v, sizeof v);
    printf("  %-16s %s (%s)\n", names[t], bins[t][0] ? bins[t] : "not found",
           v);
  }
  for (int i = 0; i < 2; i++) {
    char file[PATH_MAX], input[64], first[32] = "0x0", obj[PATH_MAX + 8];
    snprintf(file, sizeof file, "%s/%s", dir, inputs[i][0]);
    if (access(file, R_OK) != 0) {
      printf("\n%s: not built (needs dwz / dwp)\n", inputs[i][1]);
      continue;
    }
    int n = addresses(file, input, first, sizeof first);
    snprintf(obj, sizeof obj, "--obj=%s", file);
    char *const cmds[3][8] = {
        {bins[0], "symbolize", "-f", "-i", "-e", file, NULL},
        {bins[1], "-f", "-i", "-e", file, NULL},
        {bins[2], obj, NULL}};
    enum { ROUNDS = 5 };
    double fa[3][ROUNDS], all[3][ROUNDS];
    long fkb[3] = {0}, akb[3] = {0};
    int nf[3] = {0}, na[3] = {0};
    char answer[3][256] = {"", "", ""};
    for (int r = 0; r < ROUNDS; r++)
      for (int t = 0; t < 3; t++) {
        double x;
        long kb;
        if (!bins[t][0]) continue;
        if (first_answer(cmds[t], first, &x, &kb, answer[t],
                         sizeof answer[t]) == 0) {
          fa[t][nf[t]++] = x;
          if (kb > fkb[t]) fkb[t] = kb;
        }
        if (r < 3 && all_pcs(cmds[t], input, &x, &kb) == 0) {
          all[t][na[t]++] = x;
          if (kb > akb[t]) akb[t] = kb;
        }
      }
    printf("\n%s (%s), %d PCs; first answer at %s\n", inputs[i][0],
           inputs[i][1], n, first);
    printf("  %-16s %12s %12s %10s %12s  %s\n", "tool", "first answer",
           "(peak RSS)", "all PCs", "(peak RSS)", "first answer's text");
    for (int t = 0; t < 3; t++) {
      if (!nf[t] || !na[t]) {
        printf("  %-16s %12s\n", names[t], "failed");
        continue;
      }
      qsort(fa[t], (size_t)nf[t], sizeof fa[t][0], cmp_d);
      qsort(all[t], (size_t)na[t], sizeof all[t][0], cmp_d);
      printf("  %-16s %9.2f ms %8.1f MiB %8.3f s %8.1f MiB  %s\n", names[t],
             fa[t][nf[t] / 2], fkb[t] / 1024.0, all[t][na[t] / 2],
             akb[t] / 1024.0, answer[t]);
    }
    unlink(input);
  }
}

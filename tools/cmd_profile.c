/* faststack profile [-o FILE] [--hz N] [--folded] [--] PROGRAM [ARGS...]
 * Runs PROGRAM with the CPU profiler preloaded and passes its exit status
 * through. The preload object is found as FASTSTACK_PRELOAD, else next to
 * this executable (build tree), else in the install tree's library dir. */
#define _GNU_SOURCE 1
#include "commands.h"

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FASTSTACK_PRELOAD_REL
#define FASTSTACK_PRELOAD_REL "../lib/libfaststack_profile.so"
#endif

static int find_preload(char *out, size_t cap)
{
  const char *env = getenv("FASTSTACK_PRELOAD");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    return access(out, R_OK) == 0 ? 0 : -1;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  char *dir = dirname(exe);
  const char *cands[] = {"libfaststack_profile.so", FASTSTACK_PRELOAD_REL};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
    snprintf(out, cap, "%s/%s", dir, cands[i]);
    char real[PATH_MAX];
    if (access(out, R_OK) == 0 && realpath(out, real)) {
      snprintf(out, cap, "%s", real);
      return 0;
    }
  }
  return -1;
}

static void usage(void)
{
  fprintf(stderr, "usage: faststack profile [-o FILE] [--hz N] [--folded] "
                  "[--] PROGRAM [ARGS...]\n"
                  "  -o FILE    output (default faststack.pprof, or "
                  "faststack.folded with --folded)\n"
                  "  --hz N     samples per CPU-second per thread (default "
                  "100)\n"
                  "  --folded   folded stacks for flame graphs instead of "
                  "gzip pprof\n");
}

int cmd_profile(int argc, char **argv)
{
  const char *out = NULL;
  int hz = 100, folded = 0, i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--hz") && i + 1 < argc) {
      hz = atoi(argv[++i]);
      if (hz <= 0) {
        usage();
        return 2;
      }
    } else if (!strcmp(argv[i], "--folded")) {
      folded = 1;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage();
      return 0;
    } else if (argv[i][0] == '-') {
      usage();
      return 2;
    } else {
      break;
    }
  }
  if (i >= argc) {
    usage();
    return 2;
  }
  if (!out) out = folded ? "faststack.folded" : "faststack.pprof";
  char preload[PATH_MAX];
  if (find_preload(preload, sizeof preload) != 0) {
    fprintf(stderr, "faststack profile: libfaststack_profile.so not found "
                    "(set FASTSTACK_PRELOAD)\n");
    return 2;
  }
  char abs_out[PATH_MAX];
  if (out[0] != '/' && getcwd(abs_out, sizeof abs_out)) {
    size_t l = strlen(abs_out);
    snprintf(abs_out + l, sizeof abs_out - l, "/%s", out);
    out = abs_out;
  }
  char ld[2 * PATH_MAX + 2];
  const char *old = getenv("LD_PRELOAD");
  if (old && *old) snprintf(ld, sizeof ld, "%s:%s", preload, old);
  else snprintf(ld, sizeof ld, "%s", preload);
  char hzs[16];
  snprintf(hzs, sizeof hzs, "%d", hz);
  setenv("LD_PRELOAD", ld, 1);
  setenv("FASTSTACK_PROFILE", out, 1);
  setenv("FASTSTACK_PROFILE_HZ", hzs, 1);
  setenv("FASTSTACK_PROFILE_FOLDED", folded ? "1" : "0", 1);
  pid_t pid = fork();
  if (pid < 0) {
    perror("faststack profile: fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[i], argv + i);
    fprintf(stderr, "faststack profile: cannot run %s\n", argv[i]);
    _exit(127);
  }
  /* Terminal signals reach the child's process group too; wait for it. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ;
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

/* faststack profile [-o FILE] [--hz N] [--folded] [--] PROGRAM [ARGS...]
 * Runs PROGRAM with the CPU profiler preloaded and passes its exit status
 * through. The preload object is found as cli_find_preload says
 * (FASTSTACK_PRELOAD_DIR, next to this executable, the install tree). */
#define _GNU_SOURCE 1
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FASTSTACK_PRELOAD_REL
#define FASTSTACK_PRELOAD_REL "../lib/faststack/libfaststack_profile.so"
#endif

static void usage(FILE *f)
{
  fprintf(f, "usage: faststack profile [-o FILE] [--hz N] [--folded] "
             "[--] PROGRAM [ARGS...]\n"
             "Runs PROGRAM under the sampling CPU profiler and writes its "
             "profile when it\nexits, or is ended by SIGTERM or SIGINT; the "
             "exit status is the program's.\n"
             "  -o FILE      output (default faststack.pprof, or "
             "faststack.folded with --folded)\n"
             "  --hz N       samples per CPU-second per thread, 1 to 10000 "
             "(default 100)\n"
             "  --folded     folded stacks for flame graphs instead of "
             "gzip pprof\n"
             "  -h, --help   this text\n\n"
             "FASTSTACK_PROFILE_SIGNAL=SIG writes the profile so far on SIG "
             "while the\nprogram runs. The preload object is looked for in "
             "FASTSTACK_PRELOAD_DIR,\nnext to this command, then in the "
             "install tree's library directory.\n");
}

/* The output must be writable before the program runs: a profile lost
 * after an hour of work to a typo in a directory name is a bad day. */
static int check_output(const char *out)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", out);
  const char *d = dirname(dir);
  struct stat st;
  if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "faststack profile: cannot write %s: %s\n", out,
            stat(d, &st) != 0 ? strerror(errno) : "Not a directory");
    return -1;
  }
  if (access(d, W_OK) != 0 || (access(out, F_OK) == 0 && access(out, W_OK))) {
    fprintf(stderr, "faststack profile: cannot write %s: %s\n", out,
            strerror(errno));
    return -1;
  }
  if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr, "faststack profile: cannot write %s: Is a directory\n",
            out);
    return -1;
  }
  return 0;
}

/* Runs argv[0..] with the environment set; its exit status, 128+signal,
 * or 127 when it could not be run (with errno's text). */
static int run_child(char **argv)
{
  int pipefd[2]; /* the child's exec error, if any */
  if (pipe2(pipefd, O_CLOEXEC) != 0) pipefd[0] = pipefd[1] = -1;
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "faststack profile: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    int e = errno;
    if (pipefd[1] >= 0 && write(pipefd[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  if (pipefd[1] >= 0) close(pipefd[1]);
  /* Terminal signals reach the child's process group too; wait for it. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int e = 0;
  if (pipefd[0] >= 0) {
    if (read(pipefd[0], &e, sizeof e) != (ssize_t)sizeof e) e = 0;
    close(pipefd[0]);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (e) {
    fprintf(stderr, "faststack profile: cannot run %s: %s\n", argv[0],
            strerror(e));
    return 127;
  }
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

int cmd_profile(int argc, char **argv)
{
  const char *out = NULL;
  int hz = 100, folded = 0, i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    } else if (!strcmp(a, "-o") || !strncmp(a, "--output=", 9)) {
      if (a[1] == 'o' && i + 1 >= argc)
        return cli_usage_error("profile", "-o needs a FILE");
      out = a[1] == 'o' ? argv[++i] : a + 9;
    } else if (!strcmp(a, "--hz") || !strncmp(a, "--hz=", 5)) {
      const char *v = a[4] == '=' ? a + 5 : i + 1 < argc ? argv[++i] : NULL;
      if (cli_int("profile", "--hz", v, 1, 10000, &hz)) return 2;
    } else if (!strcmp(a, "--folded")) {
      folded = 1;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-') {
      return cli_usage_error("profile", "unknown option '%s'", a);
    } else {
      break;
    }
  }
  if (i >= argc) return cli_usage_error("profile", "no PROGRAM to run");
  if (!out) out = folded ? "faststack.folded" : "faststack.pprof";
  char preload[PATH_MAX];
  if (cli_find_preload("libfaststack_profile.so", FASTSTACK_PRELOAD_REL,
                       preload, sizeof preload) != 0) {
    fprintf(stderr, "faststack profile: libfaststack_profile.so not found "
                    "(set FASTSTACK_PRELOAD_DIR to its directory)\n");
    return 2;
  }
  char abs_out[PATH_MAX];
  if (out[0] != '/' && getcwd(abs_out, sizeof abs_out)) {
    size_t l = strlen(abs_out);
    snprintf(abs_out + l, sizeof abs_out - l, "/%s", out);
    out = abs_out;
  }
  if (check_output(out) != 0) return 2;
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
  return run_child(argv + i);
}

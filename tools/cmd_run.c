/* faststack run [OPTIONS] [--] PROGRAM [ARGS...]
 * Runs PROGRAM with the crash handler preloaded (libfaststack_preload.so)
 * by exec'ing it in place: the program's exit status, signal and core
 * dump are its own. Options set the environment variables the preload
 * reads; the preload object is found as cli_find_preload says
 * (FASTSTACK_PRELOAD_DIR, next to this executable, the install tree). */
#define _GNU_SOURCE 1
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FASTSTACK_RUN_PRELOAD_REL
#define FASTSTACK_RUN_PRELOAD_REL "../lib/faststack/libfaststack_preload.so"
#endif

static void usage(FILE *f)
{
  fprintf(f,
          "usage: faststack run [OPTIONS] [--] PROGRAM [ARGS...]\n"
          "Runs PROGRAM with faststack's crash handler preloaded; a fatal\n"
          "signal prints a symbolized traceback, then the program dies as\n"
          "it would have (same signal, same exit status, same core). An\n"
          "uncaught C++ exception prints its type, what() and the trace\n"
          "where it was thrown (FASTSTACK_EXCEPTIONS=0: off).\n"
          "  --traceback=none|single|all|crash   FASTSTACK_TRACEBACK "
          "(default single)\n"
          "  --output=PATH        append reports to PATH (FASTSTACK_OUTPUT; "
          "default stderr)\n"
          "  --dump-signal=SIG    dump all threads on SIG and go on, e.g. "
          "SIGUSR2 (FASTSTACK_DUMP_SIGNAL)\n"
          "  --no-table           no in-process lookup table: raw frames "
          "(FASTSTACK_CRASH_TABLE=-1)\n"
          "  --table=sync         build the table before the program starts\n"
          "  --registers          print the faulting thread's registers\n"
          "  --source             read source lines in the handler (see "
          "docs/crash.md)\n"
          "  -h, --help           this text\n\n"
          "The preload object is looked for in FASTSTACK_PRELOAD_DIR, next to "
          "this\ncommand, then in the install tree's library directory. "
          "Colour: on a\nterminal, unless NO_COLOR is set; FORCE_COLOR=1 "
          "forces it.\n");
}

static int opt(const char *arg, const char *name, const char **val)
{
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || arg[n] != '=') return 0;
  *val = arg + n + 1;
  return 1;
}

int cmd_run(int argc, char **argv)
{
  int i = 1;
  const char *v;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    } else if (opt(a, "--traceback", &v)) {
      if (strcmp(v, "none") && strcmp(v, "single") && strcmp(v, "all") &&
          strcmp(v, "crash"))
        return cli_usage_error("run",
                               "--traceback must be none, single, all "
                               "or crash, not '%s'",
                               v);
      setenv("FASTSTACK_TRACEBACK", v, 1);
    } else if (opt(a, "--output", &v)) {
      char abs[PATH_MAX + 2];
      if (v[0] != '/' && getcwd(abs, PATH_MAX - 1)) {
        size_t l = strlen(abs);
        snprintf(abs + l, sizeof abs - l, "/%s", v);
        v = abs;
      }
      setenv("FASTSTACK_OUTPUT", v, 1);
    } else if (opt(a, "--dump-signal", &v)) {
      setenv("FASTSTACK_DUMP_SIGNAL", v, 1);
    } else if (!strcmp(a, "--no-table")) {
      setenv("FASTSTACK_CRASH_TABLE", "-1", 1);
    } else if (opt(a, "--table", &v)) {
      if (strcmp(v, "sync"))
        return cli_usage_error("run", "--table takes 'sync', not '%s'", v);
      setenv("FASTSTACK_CRASH_TABLE", "2", 1);
    } else if (!strcmp(a, "--registers")) {
      setenv("FASTSTACK_REGISTERS", "1", 1);
    } else if (!strcmp(a, "--source")) {
      setenv("FASTSTACK_CRASH_SOURCE", "1", 1);
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-') {
      return cli_usage_error("run", "unknown option '%s'", a);
    } else {
      break;
    }
  }
  if (i >= argc) return cli_usage_error("run", "no PROGRAM to run");
  char preload[PATH_MAX];
  if (cli_find_preload("libfaststack_preload.so", FASTSTACK_RUN_PRELOAD_REL,
                       preload, sizeof preload) != 0) {
    fprintf(stderr, "faststack run: libfaststack_preload.so not found "
                    "(set FASTSTACK_PRELOAD_DIR to its directory)\n");
    return 2;
  }
  const char *old = getenv("LD_PRELOAD");
  size_t cap = strlen(preload) + (old ? strlen(old) : 0) + 2;
  char *ld = malloc(cap);
  if (!ld) return 2;
  if (old && *old) snprintf(ld, cap, "%s:%s", preload, old);
  else snprintf(ld, cap, "%s", preload);
  setenv("LD_PRELOAD", ld, 1);
  /* exec in place: no parent in between, so the exit status, the signal
   * and the core dump are exactly the program's. */
  execvp(argv[i], argv + i);
  fprintf(stderr, "faststack run: cannot run %s: %s\n", argv[i],
          strerror(errno));
  return 127;
}

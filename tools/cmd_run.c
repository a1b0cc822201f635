/* faststack run [OPTIONS] [--] PROGRAM [ARGS...]
 * Runs PROGRAM with the crash handler preloaded (libfaststack_preload.so).
 * By default the command stays PROGRAM's parent and symbolizes the raw
 * reports the handler hands it over a socket (supervise.c): the crashing
 * process only writes module offsets, and the names, files, lines and
 * source come from a process that is not crashing. Its exit status and
 * signal are PROGRAM's ($? is 128+signal), and the core is PROGRAM's.
 * With --exec it execs PROGRAM in place instead (no parent in between;
 * the handler then starts a symbolizer at crash time). Options set the
 * environment variables the preload reads; the preload object is found
 * as cli_find_preload says (FASTSTACK_PRELOAD_DIR, next to this
 * executable, the install tree). */
#define _GNU_SOURCE 1
#include "cli.h"
#include "commands.h"
#include "supervise.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faststack.h"

#ifndef FASTSTACK_RUN_PRELOAD_REL
#define FASTSTACK_RUN_PRELOAD_REL "../lib/faststack/libfaststack_preload.so"
#endif

static void usage(FILE *f)
{
  fprintf(f,
          "usage: faststack run [OPTIONS] [--] PROGRAM [ARGS...]\n"
          "Runs PROGRAM with faststack's crash handler preloaded; a fatal\n"
          "signal prints a symbolized traceback (function, file:line and\n"
          "source, from the first instruction on), then the program dies as\n"
          "it would have (same signal, same exit status, same core). This\n"
          "command stays PROGRAM's parent and symbolizes the reports of\n"
          "PROGRAM and of its children; a healthy program pays nothing for\n"
          "it. An uncaught C++ exception prints its type, what() and the\n"
          "trace where it was thrown (FASTSTACK_EXCEPTIONS=0: off).\n"
          "  --traceback=none|single|all|crash   FASTSTACK_TRACEBACK "
          "(default single)\n"
          "  --output=PATH        append reports to PATH (FASTSTACK_OUTPUT; "
          "default stderr)\n"
          "  --format=go|gin|json reports as text (go) or one JSON object "
          "each\n"
          "                       (FASTSTACK_CRASH_FORMAT)\n"
          "  --dump-signal=SIG    dump all threads on SIG and go on, e.g. "
          "SIGUSR2 (FASTSTACK_DUMP_SIGNAL)\n"
          "  --exec               exec PROGRAM in place (no parent): a "
          "symbolizer is\n"
          "                       started at crash time instead\n"
          "  --table, --table=sync  also build the in-process lookup table "
          "(on a\n"
          "                       thread; sync: before main) for when no "
          "symbolizer can run\n"
          "                       (FASTSTACK_CRASH_TABLE; off by default)\n"
          "  --no-table           no lookup table (the default)\n"
          "  --registers          print the faulting thread's registers\n"
          "  --source             read source lines in the handler when it "
          "prints\n"
          "                       the report itself (see docs/crash.md)\n"
          "  -h, --help           this text\n\n"
          "The preload object is looked for in FASTSTACK_PRELOAD_DIR, next to "
          "this\ncommand, then in the install tree's library directory. "
          "Colour: on a\nterminal, unless NO_COLOR is set; FORCE_COLOR=1 "
          "forces it. A statically\nlinked PROGRAM cannot be preloaded: link "
          "libfaststack.a into it and call\nfaststack_crash_install.\n");
}

static int opt(const char *arg, const char *name, const char **val)
{
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || arg[n] != '=') return 0;
  *val = arg + n + 1;
  return 1;
}

/* The file execvp would run for name, into out: 1, or 0 when none. */
static int find_program(const char *name, char *out, size_t cap)
{
  if (strchr(name, '/')) {
    snprintf(out, cap, "%s", name);
    return access(out, X_OK) == 0;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;;) {
    const char *c = strchr(p, ':');
    int n = c ? (int)(c - p) : (int)strlen(p);
    int w = snprintf(out, cap, "%.*s%s%s", n, p, n ? "/" : "", name);
    struct stat st;
    if (w > 0 && (size_t)w < cap && stat(out, &st) == 0 &&
        S_ISREG(st.st_mode) && access(out, X_OK) == 0)
      return 1;
    if (!c) return 0;
    p = c + 1;
  }
}

/* What a program file is, for the preload: 1 a dynamically linked ELF
 * program (PT_INTERP: the dynamic loader honours LD_PRELOAD), 2 a
 * statically linked one that carries faststack itself (its own handler
 * reports to this command), 3 statically linked without it, 0 anything
 * else (a script: its interpreter is what runs). */
static int program_kind(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  int kind = 0;
  if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) goto out;
  size_t size = (size_t)st.st_size;
  const unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) goto out;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
      eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
      (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
    munmap((void *)m, size);
    goto out;
  }
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(m + eh->e_phoff);
  kind = 3;
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_INTERP) kind = 1;
  /* The crash handler's install mark names itself in the binary. */
  static const char mark[] = "faststack-crash-owner";
  if (kind == 3 && memmem(m, size, mark, sizeof mark - 1)) kind = 2;
  munmap((void *)m, size);
out:
  close(fd);
  return kind;
}

/* A statically linked program: LD_PRELOAD cannot reach it. Said plainly
 * before it runs, unless it carries faststack itself. One write, and
 * only when standard error takes it now: a full pipe nobody reads would
 * otherwise hold the program back forever, so the message is dropped
 * instead (a pipe that polls writable has room for a write this short,
 * under PIPE_BUF). */
static void say_if_static(const char *name)
{
  char path[PATH_MAX], msg[1024];
  if (!find_program(name, path, sizeof path) || program_kind(path) != 3) return;
  int n = snprintf(msg, sizeof msg,
                   "faststack run: %.300s is statically linked: the preloaded "
                   "crash handler cannot reach it, so its crashes are not "
                   "reported. Link libfaststack.a into it and call "
                   "faststack_crash_install (see docs/crash.md). Running it "
                   "anyway.\n",
                   name);
  struct pollfd p = {STDERR_FILENO, POLLOUT, 0};
  if (n > 0 && (size_t)n < sizeof msg && poll(&p, 1, 0) == 1 &&
      (p.revents & POLLOUT))
    (void)!write(STDERR_FILENO, msg, (size_t)n);
}

static int set_preload(void)
{
  char preload[PATH_MAX];
  if (cli_find_preload("libfaststack_preload.so", FASTSTACK_RUN_PRELOAD_REL,
                       preload, sizeof preload) != 0) {
    fprintf(stderr, "faststack run: libfaststack_preload.so not found "
                    "(set FASTSTACK_PRELOAD_DIR to its directory)\n");
    return -1;
  }
  const char *old = getenv("LD_PRELOAD");
  size_t cap = strlen(preload) + (old ? strlen(old) : 0) + 2;
  char *ld = malloc(cap);
  if (!ld) return -1;
  if (old && *old) snprintf(ld, cap, "%s:%s", preload, old);
  else snprintf(ld, cap, "%s", preload);
  setenv("LD_PRELOAD", ld, 1);
  free(ld);
  return 0;
}

/* Parses the options into the environment; the index of PROGRAM, or a
 * negative exit status (-1 - status). */
static int parse(int argc, char **argv, int *exec_mode, sup_options *so)
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
        return -1 - cli_usage_error("run",
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
    } else if (opt(a, "--format", &v)) {
      if (strcmp(v, "go") && strcmp(v, "gin") && strcmp(v, "json"))
        return -1 - cli_usage_error("run",
                                    "--format must be go, gin or json, not "
                                    "'%s'",
                                    v);
      setenv("FASTSTACK_CRASH_FORMAT", v, 1);
    } else if (opt(a, "--dump-signal", &v)) {
      setenv("FASTSTACK_DUMP_SIGNAL", v, 1);
    } else if (!strcmp(a, "--exec")) {
      *exec_mode = 1;
    } else if (!strcmp(a, "--no-table")) {
      setenv("FASTSTACK_CRASH_TABLE", "-1", 1);
    } else if (!strcmp(a, "--table")) {
      setenv("FASTSTACK_CRASH_TABLE", "1", 1);
    } else if (opt(a, "--table", &v)) {
      if (strcmp(v, "sync"))
        return -1 - cli_usage_error("run", "--table takes 'sync', not '%s'", v);
      setenv("FASTSTACK_CRASH_TABLE", "2", 1);
    } else if (!strcmp(a, "--registers")) {
      setenv("FASTSTACK_REGISTERS", "1", 1);
    } else if (!strcmp(a, "--source")) {
      setenv("FASTSTACK_CRASH_SOURCE", "1", 1);
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return -1 - 0;
    } else if (a[0] == '-') {
      return -1 - cli_usage_error("run", "unknown option '%s'", a);
    } else {
      break;
    }
  }
  if (i >= argc) return -1 - cli_usage_error("run", "no PROGRAM to run");
  const char *f = getenv("FASTSTACK_CRASH_FORMAT");
  so->format = f && !strcmp(f, "json")  ? FASTSTACK_FORMAT_JSON
               : f && !strcmp(f, "gin") ? FASTSTACK_FORMAT_GIN
                                        : FASTSTACK_FORMAT_GO;
  so->output = getenv("FASTSTACK_OUTPUT");
  /* Three watchdog times: the handler's own bound on one report. */
  const char *wd = getenv("FASTSTACK_CRASH_WATCHDOG");
  so->print_wait_s = 3 * (wd && atoi(wd) > 0 ? atoi(wd) : 10);
  return i;
}

int cmd_run(int argc, char **argv)
{
  int exec_mode = 0;
  sup_options so = {FASTSTACK_FORMAT_GO, NULL, 30};
  int i = parse(argc, argv, &exec_mode, &so);
  if (i < 0) return -1 - i;
  if (set_preload() != 0) return 2;
  say_if_static(argv[i]);
  char name[108];
  int lfd = exec_mode ? -1 : sup_listen(name, sizeof name);
  if (lfd >= 0) {
    setenv("FASTSTACK_REPORT_SOCKET", name, 1);
    return sup_run(lfd, argv + i, &so);
  }
  /* exec in place: no parent in between, so the exit status, the signal
   * and the core dump are exactly the program's. (Also when no socket
   * could be made: the handler then starts a symbolizer itself.) */
  unsetenv("FASTSTACK_REPORT_SOCKET");
  execvp(argv[i], argv + i);
  fprintf(stderr, "faststack run: cannot run %s: %s\n", argv[i],
          strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

/* spawn.c — the crash report's symbolizer process, started at crash time
 * the way the sanitizers start llvm-symbolizer.
 *
 * The symbolizer allocates, takes locks and reads files, so it cannot run
 * in a crashing process; a fresh process can. At install (not AS-safe)
 * everything the crash path needs is prepared in memory of its own: the
 * helper's path, its argument vector and a copy of the environment. The
 * helper is, in order:
 *   1. $FASTSTACK_SYMBOLIZER ("none" or "0": no helper);
 *   2. the faststack command installed or built next to the library that
 *      holds this code (a shared object: libfaststack.so, the preload of
 *      `faststack run`), run as `faststack symbolize --format F --source
 *      --no-debuginfod`;
 *   3. the program itself (/proc/self/exe) with FASTSTACK_CRASH_SYMBOLIZE
 *      in its environment: this library's earliest constructor sees it,
 *      symbolizes standard input to standard output and _exits before
 *      the program's own constructors and main. Works linked statically
 *      or dynamically, with nothing installed.
 * A setuid or otherwise secure-mode program starts no helper (its
 * environment is the caller's: it must not choose what runs).
 *
 * At report time (AS-safe): pipe2, then a raw clone system call with
 * fork's semantics (not fork(3): its atfork handlers take malloc's and
 * stdio's locks, which the crashing thread may hold). The child points
 * its standard input at the pipe and its standard output and error at
 * the report's destination, clears its signal mask and closes every
 * other descriptor, then execve's the helper. Before it writes a byte,
 * the reporting thread learns whether that execve succeeded, from a
 * second, close-on-exec pipe: its end (the exec closed it) says yes,
 * unless the child is dying (a seccomp filter killed it in execve); the
 * child's errno in it says no, and so does no answer within a second.
 * A report written into the pipe of a helper that never ran would be
 * lost if the report faulted or hung before its end showed the helper's
 * failure. Then the reporting thread writes the raw report into the
 * pipe with bounded writes, closes it and waits for the helper to exit,
 * at most until a deadline the watchdog leaves room after. A helper
 * that cannot be started, fails or runs out of time (it is killed) is
 * reported as such, and the caller prints the report itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sinks/sinks.h"

extern char **environ;

/* What the crash path runs, prepared at install: the helper's path and
 * arguments, and its environment, in one mapping of their own (the heap
 * may be what is broken when they are used). */
typedef struct spawn_plan {
  const char *path;
  char *const *argv;
  char *const *envp;
} spawn_plan;
static spawn_plan plan;
static void *plan_map;
static size_t plan_size;
static char plan_how[16]; /* "program", "command", "self" */

/* The arguments a faststack command gets: `faststack symbolize --format
 * F --source --no-debuginfod` (what FASTSTACK_SYMBOLIZER is run with
 * too). */
static const char *format_name(int format)
{
  return format == FASTSTACK_FORMAT_JSON  ? "json"
         : format == FASTSTACK_FORMAT_GIN ? "gin"
                                          : "go";
}

static int executable(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The faststack command next to the shared object holding this code
 * (the build tree: build/tools/ holds the preload and the command, the
 * library is in build/; an install: PREFIX/lib[/ARCH][/faststack] and
 * PREFIX/bin). 0 in a static link: the object is the program. */
static int command_near_library(char *out, size_t cap)
{
  Dl_info di;
  char self[PATH_MAX], obj[PATH_MAX], dir[PATH_MAX];
  if (!dladdr((void *)command_near_library, &di) || !di.dli_fname ||
      !realpath(di.dli_fname, obj))
    return 0;
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    if (!strcmp(self, obj)) return 0;
  }
  snprintf(dir, sizeof dir, "%s", obj);
  const char *d = dirname(dir);
  static const char *const rel[] = {"faststack", "tools/faststack",
                                    "../bin/faststack", "../../bin/faststack",
                                    "../../../bin/faststack"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", d, rel[i]) >= (int)sizeof p) continue;
    if (executable(p) && realpath(p, out) && strlen(out) < cap) return 1;
  }
  return 0;
}

/* Copies strings into one mapping: argv, then envp (each NULL-ended),
 * pointers first. */
static int build_plan(const char *path, const char *const *args, int nargs,
                      const char *extra_env)
{
  size_t nenv = 0, bytes = strlen(path) + 1;
  for (int i = 0; i < nargs; i++) bytes += strlen(args[i]) + 1;
  for (char **e = environ; e && *e; e++, nenv++) bytes += strlen(*e) + 1;
  if (extra_env) bytes += strlen(extra_env) + 1;
  size_t ptrs = (size_t)nargs + 1 + nenv + 2;
  size_t size = ptrs * sizeof(char *) + bytes;
  size = (size + 4095) & ~(size_t)4095;
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return -1;
  char **argv = m, **envp = argv + nargs + 1;
  char *s = (char *)(envp + nenv + 2);
#define FS_COPY(dst, src)                                                      \
  do {                                                                         \
    size_t l_ = strlen(src) + 1;                                               \
    memcpy(s, src, l_);                                                        \
    (dst) = s;                                                                 \
    s += l_;                                                                   \
  } while (0)
  const char *p;
  FS_COPY(p, path);
  for (int i = 0; i < nargs; i++) FS_COPY(argv[i], args[i]);
  argv[nargs] = NULL;
  size_t k = 0;
  for (char **e = environ; e && *e && k < nenv; e++) {
    /* The helper's own copy of the variables that would make it a
     * helper again, or hand its reports elsewhere: not passed on. */
    if (!strncmp(*e, "FASTSTACK_CRASH_SYMBOLIZE=", 26)) continue;
    FS_COPY(envp[k], *e);
    k++;
  }
  if (extra_env) FS_COPY(envp[k++], extra_env);
  envp[k] = NULL;
#undef FS_COPY
  if (plan_map) munmap(plan_map, plan_size);
  plan_map = m;
  plan_size = size;
  plan.path = p;
  plan.argv = argv;
  plan.envp = envp;
  return 0;
}

void fs_spawn_setup(int format)
{
  plan.path = NULL;
  plan_how[0] = '\0';
  /* A secure-mode program (setuid, file capabilities) runs nothing its
   * caller's environment could pick, itself included. */
  if (getauxval(AT_SECURE)) return;
  const char *want = getenv("FASTSTACK_SYMBOLIZER");
  if (want && (!strcmp(want, "none") || !strcmp(want, "0"))) return;
  const char *f = format_name(format);
  char path[PATH_MAX];
  /* No debuginfod: the report waits for the helper, a download could
   * outlast the watchdog. */
  const char *cmd_args[] = {"faststack", "symbolize", "--format",
                            f,           "--source",  "--no-debuginfod"};
  if (want && *want && executable(want) && realpath(want, path)) {
    if (build_plan(path, cmd_args, 6, NULL) == 0) strcpy(plan_how, "program");
    return;
  }
  if (command_near_library(path, sizeof path)) {
    if (build_plan(path, cmd_args, 6, NULL) == 0) strcpy(plan_how, "command");
    return;
  }
  /* The program itself: /proc must be mounted for the child to find it. */
  if (access("/proc/self/exe", X_OK) != 0) return;
  char env[64];
  snprintf(env, sizeof env, "FASTSTACK_CRASH_SYMBOLIZE=%s", f);
  const char *self_args[] = {"faststack-symbolizer"};
  if (build_plan("/proc/self/exe", self_args, 1, env) == 0)
    strcpy(plan_how, "self");
}

const char *fs_spawn_how(void)
{
  return plan.path ? plan_how : NULL;
}

/* How long the report waits at most for the helper's execve to succeed
 * or fail (never past the helper's deadline). An exec commits in
 * milliseconds; one that has not in a second is stuck (a hung file
 * system, a stopped child), and the report can be printed now. */
#define FS_SPAWN_EXEC_MS 1000
/* How long the report waits for a helper it killed to be reaped. */
#define FS_SPAWN_REAP_MS 100

/* The child's end when it cannot become the helper: its errno into the
 * exec-status pipe, for the parent to print the report itself. */
static __attribute__((noreturn)) void child_fail(int status_fd, int code)
{
  int e = errno;
  ssize_t n = write(status_fd, &e, sizeof e);
  (void)n;
  syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

/* The child, between clone and execve: system calls only. sfd is the
 * exec-status pipe's write end: it must stay open up to the execve and
 * close with it (close-on-exec), so it moves to descriptor 3 and is
 * spared by close_range. */
static __attribute__((noreturn)) void child(int rfd, int out_fd, int sfd)
{
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Away from 0-2 first, so that the dup2s below cannot clobber one
   * another. */
  int st = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
  if (st < 0) child_fail(sfd, 126);
  int in = fcntl(rfd, F_DUPFD, 3), out = fcntl(out_fd, F_DUPFD, 3);
  if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
      dup2(out, 2) < 0)
    child_fail(st, 126);
  if (st != 3 && dup3(st, 3, O_CLOEXEC) < 0) child_fail(st, 126);
    /* The program's other descriptors (sockets, pipes whose readers wait
   * for their end) stay the program's. */
#ifdef SYS_close_range
  syscall(SYS_close_range, 4u, ~0u, 0u);
#endif
  execve(plan.path, plan.argv, plan.envp);
  child_fail(3, 127);
}

/* Did the helper's execve succeed? The exec-status pipe's read end
 * (non-blocking) says it: its end (read gives 0) comes with the exec,
 * which closes the child's write end; 4 bytes are the errno of a
 * failure. No answer by the time bound counts as a failure: the caller
 * then kills the child and prints the report itself at once. Counted
 * as a success, the report would go into the pipe of a helper that may
 * never run (stuck in execve, stopped), lost if the report faults or
 * hangs, and would wait for the helper's deadline besides. Counted as a
 * failure, the worst case (the exec did succeed, and a fork another
 * thread made meanwhile holds the write end) costs the names of the
 * frames, not the report: the helper is killed before it was given
 * anything to print, so never two reports. */
static int exec_succeeded(int sfd, int64_t deadline_ns)
{
  int64_t end = fs_now_ns(CLOCK_MONOTONIC) + FS_SPAWN_EXEC_MS * 1000000LL;
  if (end > deadline_ns) end = deadline_ns;
  for (;;) {
    int64_t left = end - fs_now_ns(CLOCK_MONOTONIC);
    if (left <= 0) return 0;
    struct pollfd pfd = {.fd = sfd, .events = POLLIN};
    int r = poll(&pfd, 1, (int)((left + 999999) / 1000000));
    if (r < 0 && errno != EINTR) return 0;
    if (r <= 0) continue;
    int e;
    ssize_t n = read(sfd, &e, sizeof e);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return n == 0;
  }
}

/* The kernel's PF_EXITING: set in a task's flags (the ninth field of
 * /proc/PID/stat) as its exit begins, before its descriptors close. */
#define FS_PF_EXITING 0x4u

/* The flags field of /proc/PID/stat, after the parenthesised name
 * (which may itself hold ')'); 0 when /proc cannot say. */
static unsigned proc_flags(int pid)
{
  char path[48] = "/proc/", buf[256];
  int k = 6 + fs_fmt_dec(path + 6, pid);
  memcpy(path + k, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  ssize_t i = n - 1;
  while (i > 0 && buf[i] != ')') i--;
  /* ") S ppid pgrp session tty_nr tpgid flags" */
  for (int spaces = 0; i > 0 && i < n && spaces < 7; i++)
    spaces += buf[i] == ' ';
  unsigned flags = 0;
  for (; i > 0 && i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
    flags = flags * 10 + (unsigned)(buf[i] - '0');
  return flags;
}

/* Has the child been reaped (here, or by another thread of the program:
 * then its pid may be another process's already, not to be killed)? */
static int child_reaped(int pid)
{
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, WNOHANG | __WALL)) < 0 && errno == EINTR) {
  }
  return r != 0;
}

/* Ends a child that is no helper: killed (it was given nothing to
 * print), then reaped, waiting at most FS_SPAWN_REAP_MS: one stuck in
 * the kernel must not hold the report (it stays a zombie). */
static void discard_child(int pid)
{
  kill(pid, SIGKILL);
  for (int waited = 0;; waited += 2) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG | __WALL);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    if (waited >= FS_SPAWN_REAP_MS) return;
    fs_sleep_ms(2);
  }
}

/* 1: the child runs the helper. 0: it does not, and is gone. The
 * exec-status pipe's end also comes when the child dies in execve (a
 * seccomp filter that kills it there) or right after (a dynamic loader
 * that fails), before it can be reaped: its exit shows in its flags. */
static int became_helper(int pid, int sfd, int64_t deadline_ns)
{
  if (exec_succeeded(sfd, deadline_ns)) {
    if (child_reaped(pid)) return 0;
    if (!(proc_flags(pid) & FS_PF_EXITING)) return 1;
  }
  discard_child(pid);
  return 0;
}

/* A raw clone with fork's semantics: the child gets a copy of the
 * address space and runs on from here, on a copy of this (alternate)
 * stack, and never returns. */
static long clone_child(int rfd, int out_fd, int sfd)
{
  long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
  if (pid == 0) child(rfd, out_fd, sfd);
  return pid;
}

int fs_spawn_start(int out_fd, int64_t deadline_ns, fs_spawned *sp)
{
  if (!plan.path || out_fd < 0) return -1;
  int p[2], s[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  if (pipe2(s, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  /* Our child's exit must not run the program's SIGCHLD handler (which
   * might reap it) nor be reaped by SIG_IGN: the default action, put
   * back by fs_spawn_finish. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, &sp->old_chld);
  long pid = clone_child(p[0], out_fd, s[1]);
  close(p[0]);
  close(s[1]); /* else its end would never come */
  sp->pid = (int)pid;
  int ok = pid > 0 && became_helper(sp->pid, s[0], deadline_ns);
  close(s[0]);
  if (ok) {
    sp->wfd = p[1];
    return p[1];
  }
  close(p[1]);
  sigaction(SIGCHLD, &sp->old_chld, NULL);
  return -1;
}

int fs_spawn_finish(fs_spawned *sp, int64_t deadline_ns)
{
  close(sp->wfd);
  int ok = 0;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(sp->pid, &st, WNOHANG | __WALL);
    if (r == sp->pid) {
      /* 1: printed, but a module could not be read (its frames stayed
       * raw), as `faststack symbolize` says it. */
      ok = WIFEXITED(st) && WEXITSTATUS(st) <= 1;
      break;
    }
    if (r < 0 && errno == EINTR) continue;
    /* Reaped by another thread of the program (a wait(-1) loop): it
     * ran to its end; its status is lost. */
    if (r < 0) {
      ok = errno == ECHILD;
      break;
    }
    if (fs_now_ns(CLOCK_MONOTONIC) >= deadline_ns) {
      discard_child(sp->pid); /* a bounded reap, as at its start */
      break;
    }
    fs_sleep_ms(2);
  }
  sigaction(SIGCHLD, &sp->old_chld, NULL);
  return ok;
}

/* The program started as its own crash symbolizer (the third helper
 * above): before anything of the program runs — the first constructor
 * priority an application may use; the modules' and capture's setup
 * share it or come right after, and only libraries loaded before this
 * one have run theirs. Reads the raw report on standard input, writes
 * it symbolized to standard output, and ends the process. */
__attribute__((constructor(101))) static void crash_symbolize_helper(void)
{
  const char *v = secure_getenv("FASTSTACK_CRASH_SYMBOLIZE");
  if (!v || !*v) return;
  int format = !strcmp(v, "json")  ? FASTSTACK_FORMAT_JSON
               : !strcmp(v, "gin") ? FASTSTACK_FORMAT_GIN
                                   : FASTSTACK_FORMAT_GO;
  faststack_format_options o;
  faststack_format_options_init(&o, format);
  o.source = 1;
  /* A module not found is said in the report's text (stderr is the
   * report's output too); never in JSON, whose output is one object. */
  int rc = faststack_symbolize_report(
      stdin, stdout, &o, NULL, format == FASTSTACK_FORMAT_JSON ? NULL : stdout);
  fflush(stdout);
  _exit(rc < 0 ? 1 : 0);
}

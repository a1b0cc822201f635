/* bench_crash — what the crash handler costs a program that never
 * crashes, and how long a crash takes to report, side by side.
 *
 * 1. Standing cost of `faststack run` for /bin/sleep 1 and an idle C++
 *    program (idle.cpp, 1 s): the program alone; with the preload and
 *    nothing else (what glibc's removed catchsegv did: `--exec`, no
 *    table, FASTSTACK_SYMBOLIZER=none); `faststack run` as it is (the
 *    supervisor stays the parent); and `faststack run --table` (the
 *    in-process lookup table, the old default). CPU: user + system time
 *    of the whole process tree (wait4's rusage counts the descendants a
 *    process reaped). Memory: the peak RSS (VmHWM) of each process of the
 *    tree at 0.9 s, summed, and their summed PSS (shared pages split).
 * 2. faststack_crash_install's time and the RSS it adds, linked into a
 *    6 MB program (big.c: the symbolize benchmark's corpus), fresh
 *    process each run.
 * 3. From the fault to the report's last line, for that program: under
 *    `faststack run` (the supervisor symbolizes), linked in with the
 *    faststack command or the program itself as the symbolizer process,
 *    printed by the handler itself (raw frames), and from a lookup table
 *    built before main (whose build shows in the start-to-fault time).
 *    The program writes CLOCK_MONOTONIC to descriptor 3 just before it
 *    faults; the time the footer line arrives on the pipe its stderr is
 *    ends the measurement.
 *
 * Medians of RUNS runs (default 5; argv[1]) after one run left out
 * (page cache, the first exec of each binary). The figures are the
 * lead's to measure on a quiet machine; this prints them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FS_CLI
#define FS_CLI "faststack"
#endif

static int runs = 5;

static double now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
  if (n <= 0) return -1;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The field (VmHWM:, Pss:) of a /proc file, in KiB; 0 when absent. */
static long proc_kb(int pid, const char *file, const char *field)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  FILE *f = fopen(path, "r");
  long kb = 0;
  size_t fl = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, fl)) kb = atol(line + fl);
  if (f) fclose(f);
  return kb;
}

/* The processes whose parent is pid (the supervisor's program). */
static int children(int pid, int *out, int max)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
  FILE *f = fopen(path, "r");
  int n = 0;
  if (f) {
    while (n < max && fscanf(f, "%d", &out[n]) == 1) n++;
    fclose(f);
    return n;
  }
  /* No CONFIG_PROC_CHILDREN: every process's stat. */
  FILE *ls = popen("ls /proc", "r");
  char name[64];
  while (ls && n < max && fscanf(ls, "%63s", name) == 1) {
    char stat[512];
    int p = atoi(name), ppid = 0;
    if (p <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    FILE *sf = fopen(path, "r");
    if (!sf) continue;
    if (fgets(stat, sizeof stat, sf)) {
      char *rp = strrchr(stat, ')');
      if (rp) sscanf(rp + 2, "%*c %d", &ppid);
    }
    fclose(sf);
    if (ppid == pid) out[n++] = p;
  }
  if (ls) pclose(ls);
  return n;
}

/* Runs argv with env (NAME=VALUE strings, NULL-ended) set; stdout and
 * stderr to /dev/null or to errfd, descriptor 3 to fd3 when >= 0. */
static pid_t start(char *const argv[], const char *const *env, int errfd,
                   int fd3)
{
  pid_t pid = fork();
  if (pid != 0) return pid;
  for (const char *const *e = env; e && *e; e++) putenv((char *)*e);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(errfd >= 0 ? errfd : null, 2);
  if (fd3 >= 0) dup2(fd3, 3);
  else close(3);
  execvp(argv[0], argv);
  _exit(127);
}

/* ------------------------------------------------------- standing cost */

typedef struct cost {
  double cpu_ms, hwm_kb, pss_kb;
} cost;

static int one_standing(char *const argv[], const char *const *env, cost *c)
{
  pid_t pid = start(argv, env, -1, -1);
  if (pid < 0) return -1;
  usleep(900 * 1000);
  int tree[16] = {pid};
  int n = 1 + children(pid, tree + 1, 15);
  c->hwm_kb = c->pss_kb = 0;
  for (int i = 0; i < n; i++) {
    c->hwm_kb += proc_kb(tree[i], "status", "VmHWM:");
    c->pss_kb += proc_kb(tree[i], "smaps_rollup", "Pss:");
  }
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) != pid) return -1;
  c->cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
              ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void standing_row(const char *prog, const char *how, char *const argv[],
                         const char *const *env, const cost *alone, cost *out)
{
  double cpu[64], hwm[64], pss[64];
  cost c;
  int ok = 0, n = 0;
  one_standing(argv, env, &c); /* left out */
  for (int i = 0; i < runs && i < 64; i++)
    if (one_standing(argv, env, &c) == 0) {
      cpu[n] = c.cpu_ms;
      hwm[n] = c.hwm_kb;
      pss[n] = c.pss_kb;
      n++;
      ok++;
    }
  out->cpu_ms = median(cpu, n);
  out->hwm_kb = median(hwm, n);
  out->pss_kb = median(pss, n);
  printf("%-12s %-34s %9.1f %9.1f %9.2f %9.2f %9.2f %9.2f  %d/%d\n", prog, how,
         out->cpu_ms, alone ? out->cpu_ms - alone->cpu_ms : 0.0,
         out->hwm_kb / 1024, alone ? (out->hwm_kb - alone->hwm_kb) / 1024 : 0,
         out->pss_kb / 1024, alone ? (out->pss_kb - alone->pss_kb) / 1024 : 0,
         ok, runs);
}

static void standing(const char *idle_cxx)
{
  printf("== standing cost: a program that never crashes (medians of %d "
         "runs) ==\n",
         runs);
  printf("%-12s %-34s %9s %9s %9s %9s %9s %9s  %s\n", "program", "how",
         "cpu ms", "+cpu ms", "rss MiB", "+rss MiB", "pss MiB", "+pss MiB",
         "ok");
  const char *none[] = {NULL};
  const char *raw[] = {"FASTSTACK_SYMBOLIZER=none", NULL};
  struct {
    const char *name;
    char *argv[3];
  } progs[] = {{"sleep 1", {"/bin/sleep", "1", NULL}},
               {"idle C++", {(char *)idle_cxx, "1", NULL}}};
  for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
    if (!progs[p].argv[0] || access(progs[p].argv[0], X_OK) != 0) {
      printf("%-12s (not built)\n", progs[p].name);
      continue;
    }
    cost alone, c;
    standing_row(progs[p].name, "alone", progs[p].argv, none, NULL, &alone);
    char *pre[] = {FS_CLI,           "run", "--exec",
                   "--no-table",     "--",  progs[p].argv[0],
                   progs[p].argv[1], NULL};
    standing_row(progs[p].name, "preload only (catchsegv-like)", pre, raw,
                 &alone, &c);
    char *run[] = {FS_CLI,           "run", "--", progs[p].argv[0],
                   progs[p].argv[1], NULL};
    standing_row(progs[p].name, "faststack run", run, none, &alone, &c);
    char *tab[] = {FS_CLI,           "run", "--table", "--", progs[p].argv[0],
                   progs[p].argv[1], NULL};
    standing_row(progs[p].name, "faststack run --table", tab, none, &alone, &c);
  }
  printf("(+: more than the program alone; rss: the peak RSS of each "
         "process of the tree, summed; pss: their PSS summed)\n\n");
}

/* ------------------------------------------------------------- install */

static void install(const char *big)
{
  double ns[64], kb[64];
  int n = 0;
  for (int i = 0; i <= runs && i < 64; i++) {
    int p[2];
    if (pipe(p) != 0) return;
    char *argv[] = {(char *)big, "install", NULL};
    pid_t pid = fork();
    if (pid == 0) {
      dup2(p[1], 1);
      execv(big, argv);
      _exit(127);
    }
    close(p[1]);
    char buf[256] = {0};
    ssize_t r = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    long long t = 0;
    long k = 0;
    int rc = -1;
    if (r > 0 && sscanf(buf, "install %lld %ld %d", &t, &k, &rc) == 3 &&
        rc == 0 && i > 0) { /* the first run left out */
      ns[n] = (double)t;
      kb[n] = (double)k;
      n++;
    }
  }
  struct stat st;
  double mb = stat(big, &st) == 0 ? st.st_size / 1048576.0 : 0;
  printf("== faststack_crash_install linked into a %.1f MB program (medians "
         "of %d runs) ==\n",
         mb, n);
  printf("%-40s %12.3f\n%-40s %12.2f\n\n", "install time, ms",
         median(ns, n) / 1e6, "RSS added, MiB", median(kb, n) / 1024);
}

/* ------------------------------------------------------ fault to report */

typedef struct crash_run {
  double start_to_fault, fault_to_report, total;
  int named, complete;
} crash_run;

static int one_crash(char *const argv[], const char *const *env, crash_run *c)
{
  int ep[2], tp[2];
  if (pipe2(ep, O_CLOEXEC) != 0 || pipe2(tp, O_CLOEXEC) != 0) return -1;
  double t0 = now_ms();
  pid_t pid = start(argv, env, ep[1], tp[1]);
  close(ep[1]);
  close(tp[1]);
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  double t_fault = -1, t_end = -1;
  char tbuf[64];
  size_t tlen = 0;
  int open_err = 1, open_t = 1;
  while (open_err && buf) {
    struct pollfd p[2] = {{ep[0], POLLIN, 0}, {tp[0], open_t ? POLLIN : 0, 0}};
    if (poll(p, 2, 30000) <= 0) break;
    if (open_t && p[1].revents) {
      ssize_t r = read(tp[0], tbuf + tlen, sizeof tbuf - 1 - tlen);
      if (r <= 0) open_t = 0;
      else tlen += (size_t)r;
      tbuf[tlen] = '\0';
    }
    if (p[0].revents) {
      if (len + 65536 > cap) {
        char *nb = realloc(buf, cap *= 2);
        if (!nb) break;
        buf = nb;
      }
      ssize_t r = read(ep[0], buf + len, cap - len - 1);
      if (r <= 0) open_err = 0;
      else {
        len += (size_t)r;
        buf[len] = '\0';
        if (t_end < 0 && strstr(buf, "\nfaststack: ending the process") &&
            buf[len - 1] == '\n')
          t_end = now_ms();
      }
    }
  }
  int st;
  waitpid(pid, &st, 0);
  double t_exit = now_ms();
  close(ep[0]);
  close(tp[0]);
  if (tlen) {
    /* The child's CLOCK_MONOTONIC in ns, as now_ms counts it. */
    t_fault = atoll(tbuf) / 1e6;
  }
  c->start_to_fault = t_fault - t0;
  c->fault_to_report = t_end - t_fault;
  c->total = t_exit - t0;
  c->named = buf && strstr(buf, "big_fault(") != NULL;
  c->complete = buf && strstr(buf, "main(") != NULL;
  free(buf);
  return t_fault > 0 && t_end > 0 ? 0 : -1;
}

static void crash_row(const char *how, char *const argv[],
                      const char *const *env)
{
  double sf[64], fr[64];
  int n = 0, named = 1, complete = 1;
  crash_run c, first = {0};
  int first_ok = one_crash(argv, env, &first) == 0;
  for (int i = 0; i < runs && i < 64; i++)
    if (one_crash(argv, env, &c) == 0) {
      sf[n] = c.start_to_fault;
      fr[n] = c.fault_to_report;
      named &= c.named;
      complete &= c.complete;
      n++;
    }
  printf("%-44s %-5s %10.1f %10.1f %10.1f  %d/%d\n", how,
         n ? (named ? (complete ? "yes" : "part") : "raw") : "-", median(sf, n),
         median(fr, n), first_ok ? first.fault_to_report : -1.0, n, runs);
}

static void fault_to_report(const char *big, const char *big_plain)
{
  struct stat st;
  double mb = stat(big, &st) == 0 ? st.st_size / 1048576.0 : 0;
  printf("== from the fault to the report's last line, a %.1f MB program "
         "(medians of %d runs) ==\n",
         mb, runs);
  printf("%-44s %-5s %10s %10s %10s  %s\n", "how", "names", "start ms",
         "report ms", "1st run ms", "ok");
  char *plain[] = {FS_CLI, "run", (char *)big_plain, "crash", NULL};
  char *linked[] = {(char *)big, "crash", NULL};
  const char *none[] = {NULL};
  const char *cmd[] = {"FASTSTACK_SYMBOLIZER=" FS_CLI, NULL};
  const char *raw[] = {"FASTSTACK_SYMBOLIZER=none", NULL};
  const char *tab[] = {"FASTSTACK_SYMBOLIZER=none", "FASTSTACK_CRASH_TABLE=2",
                       NULL};
  crash_row("faststack run (the supervisor symbolizes)", plain, none);
  crash_row("linked: the faststack command symbolizes", linked, cmd);
  crash_row("linked: the program itself symbolizes", linked, none);
  crash_row("linked: raw frames, no symbolizer", linked, raw);
  crash_row("linked: lookup table built before main", linked, tab);
  printf("(start: exec to the fault — a table built before main shows "
         "here; report: the fault to the report's last line; names: yes, "
         "part (not down to main), raw)\n");
}

int main(int argc, char **argv)
{
  if (argc > 1 && atoi(argv[1]) > 0) runs = atoi(argv[1]);
  if (runs > 60) runs = 60;
  signal(SIGPIPE, SIG_IGN);
  standing(FS_IDLE_CXX);
  install(FS_BIG);
  fault_to_report(FS_BIG, FS_BIG_PLAIN);
  return 0;
}

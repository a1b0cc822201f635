/* supervise.c — `faststack run` as the program's parent: it symbolizes
 * the crash reports the preloaded handler hands it (supervise.h).
 *
 * One thread polls: the listening socket, the connections (one per
 * report: the program and each of its children connect on their own),
 * and, through ppoll's signal mask, SIGCHLD and the signals it passes
 * on. A connection's bytes are kept until its end; then the receipt
 * byte goes back (the handler waits for it, and prints the report
 * itself without it) and the report is queued. A second thread
 * symbolizes the queue in order and prints it, so that a slow
 * symbolization never delays another process's receipt. When the
 * program has ended, the reports still being written are awaited for a
 * bounded time, the queue is drained, and the supervisor ends the way
 * the program did. */
#define _GNU_SOURCE 1
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faststack.h"

/* A report's text is kept up to this size; the rest is dropped (noted). */
#define SUP_REPORT_MAX (64u << 20)
/* Connections open at once; more wait in the listening backlog. */
#define SUP_CONNS 64
/* After the program ended: how long reports still being written (by
 * its children, or its own, cut short by a watchdog) are waited for. */
#define SUP_DRAIN_MS 3000

/* Signals passed on to the program when they are sent to the supervisor
 * (the terminal's SIGINT and SIGQUIT reach the program's process group
 * directly: those are ignored here instead). */
static const int forwarded[] = {SIGHUP,  SIGTERM, SIGUSR1,
                                SIGUSR2, SIGALRM, SIGPWR};
#define NFORWARDED ((int)(sizeof forwarded / sizeof forwarded[0]))

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t got_chld;

/* ---------------------------------------------------------- the queue */

typedef struct report {
  char *text;
  size_t len;
  int cut; /* bytes were dropped past SUP_REPORT_MAX */
  struct report *next;
} report;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  report *head, *tail;
  int closing;
  const sup_options *opt;
} q = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, NULL};

static void q_push(report *r)
{
  pthread_mutex_lock(&q.mu);
  if (q.tail) q.tail->next = r;
  else q.head = r;
  q.tail = r;
  pthread_cond_signal(&q.cv);
  pthread_mutex_unlock(&q.mu);
}

/* Where a report is printed: the --output file (appended to, opened per
 * report like the handler opens it), else stderr. */
static FILE *out_open(const sup_options *o)
{
  if (o->output && *o->output) {
    FILE *f = fopen(o->output, "ae");
    if (f) return f;
  }
  return stderr;
}

static void print_report(const report *r)
{
  const sup_options *o = q.opt;
  FILE *in = fmemopen(r->text, r->len, "r");
  FILE *out = out_open(o);
  if (in) {
    faststack_format_options fo;
    faststack_format_options_init(&fo, o->format);
    fo.source = 1;
    /* Modules fetched by build-id too when DEBUGINFOD_URLS names
     * servers (as `faststack symbolize` does): nothing waits on this
     * thread but the printing. A module not found is said in the text,
     * not in JSON (one object per report). */
    faststack_symbolizer_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *urls = getenv("DEBUGINFOD_URLS");
    cfg.debuginfod = urls && *urls ? 1 : -1;
    cfg.debuginfod_progress = -1;
    faststack_symbolize_report(in, out, &fo, &cfg,
                               o->format == FASTSTACK_FORMAT_JSON ? NULL : out);
    fclose(in);
  } else {
    fwrite(r->text, 1, r->len, out);
  }
  if (r->cut)
    fprintf(out,
            "faststack run: the report above is incomplete (the "
            "process ended while writing it, or it exceeded %u MiB)\n",
            SUP_REPORT_MAX >> 20);
  fflush(out);
  if (out != stderr) fclose(out);
}

static void *printer(void *arg)
{
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&q.mu);
    while (!q.head && !q.closing) pthread_cond_wait(&q.cv, &q.mu);
    report *r = q.head;
    if (r) {
      q.head = r->next;
      if (!q.head) q.tail = NULL;
    }
    pthread_mutex_unlock(&q.mu);
    if (!r) return NULL;
    print_report(r);
    free(r->text);
    free(r);
  }
}

/* -------------------------------------------------------- connections */

typedef struct conn {
  int fd;
  char *buf;
  size_t len, cap;
  int cut;
} conn;

static int peer_is_ours(int fd)
{
  struct ucred cr;
  socklen_t l = sizeof cr;
  return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 &&
         (cr.uid == getuid() || cr.uid == 0);
}

static void accept_all(int lfd, conn *c, int *n)
{
  while (*n < SUP_CONNS) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (!peer_is_ours(fd)) {
      close(fd);
      continue;
    }
    memset(&c[*n], 0, sizeof c[*n]);
    c[(*n)++].fd = fd;
  }
}

/* Reads what c has; 1 when it has ended (report queued, c closed). */
static int conn_read(conn *c)
{
  for (;;) {
    char tmp[65536];
    ssize_t r = read(c->fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 0;
    if (r <= 0) break;
    size_t k = (size_t)r;
    if (c->len + k > SUP_REPORT_MAX) {
      k = SUP_REPORT_MAX - c->len;
      c->cut = 1;
    }
    if (c->len + k > c->cap) {
      size_t nc = c->cap ? c->cap * 2 : 65536;
      while (nc < c->len + k) nc *= 2;
      char *nb = realloc(c->buf, nc);
      if (!nb) {
        c->cut = 1;
        continue;
      }
      c->buf = nb;
      c->cap = nc;
    }
    memcpy(c->buf + c->len, tmp, k);
    c->len += k;
  }
  /* The receipt: the handler then knows it need not print the report. */
  static const char receipt = 'k';
  send(c->fd, &receipt, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  close(c->fd);
  report *r = calloc(1, sizeof *r);
  if (r && c->len) {
    r->text = c->buf;
    r->len = c->len;
    r->cut = c->cut;
    q_push(r);
  } else {
    free(r);
    free(c->buf);
  }
  return 1;
}

/* ------------------------------------------------------------ signals */

static void on_forward(int sig, siginfo_t *si, void *uc)
{
  (void)uc;
  /* A hangup of the terminal reaches the program's process group
   * itself; the program's own signals to its parent are not sent back. */
  if (si && (si->si_code == SI_KERNEL || si->si_pid == child_pid)) return;
  if (child_pid > 0) kill(child_pid, sig);
}

static void on_chld(int sig)
{
  (void)sig;
  got_chld = 1;
}

/* The signals the poll loop takes only inside ppoll. */
static void loop_signals(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGCHLD);
  for (int i = 0; i < NFORWARDED; i++) sigaddset(set, forwarded[i]);
}

static void install_handlers(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigfillset(&sa.sa_mask);
  sa.sa_sigaction = on_forward;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  for (int i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &sa, NULL);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sa.sa_handler = on_chld;
  sigaction(SIGCHLD, &sa, NULL);
  /* The terminal's SIGINT and SIGQUIT reach the program too (same
   * process group): the program decides. A report written to a closed
   * stderr must not end the supervisor. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
}

/* --------------------------------------------------------- the socket */

int sup_listen(char *name, size_t cap)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  for (int attempt = 0; attempt < 16; attempt++) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long rnd = (unsigned long)ts.tv_nsec * 2654435761ul ^
                        (unsigned long)getpid() << 16 ^ (unsigned long)attempt;
    /* "@": the abstract namespace (nothing to remove afterwards). */
    int w = snprintf(name, cap, "@faststack-%d-%lx", (int)getpid(), rnd);
    if (w < 0 || (size_t)w >= cap) break;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(name);
    if (len >= sizeof a.sun_path) break;
    memcpy(a.sun_path + 1, name + 1, len - 1);
    socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (bind(fd, (struct sockaddr *)&a, al) == 0 && listen(fd, 128) == 0)
      return fd;
    if (errno != EADDRINUSE) break;
  }
  close(fd);
  return -1;
}

/* ------------------------------------------------------------ the run */

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts the program with the original signal mask and dispositions;
 * its pid, or -1 with the exec's errno in *err. */
static pid_t start(char **argv, const sigset_t *orig, int *err)
{
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) {
    *err = errno;
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(ep[0]);
    sigprocmask(SIG_SETMASK, orig, NULL);
    execvp(argv[0], argv);
    int e = errno;
    if (write(ep[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  close(ep[1]);
  *err = 0;
  if (pid < 0) {
    *err = errno;
    close(ep[0]);
    return -1;
  }
  int e = 0;
  ssize_t r;
  while ((r = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR) {
  }
  close(ep[0]);
  if (r == (ssize_t)sizeof e) {
    waitpid(pid, NULL, 0);
    *err = e;
    return -1;
  }
  return pid;
}

/* The program died by sig: so does the supervisor, without a core of its
 * own (the core is the program's), so that $? is 128+sig. */
static void die_like(int sig)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_CORE, &rl) == 0) {
    rl.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &rl);
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  kill(getpid(), sig);
  _exit(128 + sig); /* a signal whose default action is not to end */
}

int sup_run(int lfd, char **argv, const sup_options *opt)
{
  sigset_t loop, orig;
  loop_signals(&loop);
  sigaddset(&loop, SIGINT);
  sigaddset(&loop, SIGQUIT);
  sigaddset(&loop, SIGPIPE);
  sigprocmask(SIG_BLOCK, &loop, &orig);
  int err;
  pid_t pid = start(argv, &orig, &err);
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &orig, NULL);
    fprintf(stderr, "faststack run: cannot run %s: %s\n", argv[0],
            strerror(err));
    return err == ENOENT ? 127 : 126;
  }
  child_pid = pid;
  install_handlers();
  q.opt = opt;
  pthread_t th;
  int have_printer = pthread_create(&th, NULL, printer, NULL) == 0;
  /* In ppoll only: SIGCHLD and the forwarded signals. */
  sigset_t in_poll = orig;
  sigdelset(&in_poll, SIGCHLD);
  for (int i = 0; i < NFORWARDED; i++) sigdelset(&in_poll, forwarded[i]);
  conn c[SUP_CONNS];
  int n = 0, status = 0, ended = 0;
  int64_t drain_until = 0;
  for (;;) {
    if (got_chld) {
      got_chld = 0;
      int st;
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        ended = 1;
        status = st;
        child_pid = 0;
        drain_until = now_ms() + SUP_DRAIN_MS;
        accept_all(lfd, c, &n);
      }
    }
    if (ended && (n == 0 || now_ms() >= drain_until)) break;
    struct pollfd p[SUP_CONNS + 1];
    int np = 0;
    p[np++] = (struct pollfd){lfd, ended ? 0 : POLLIN, 0};
    for (int i = 0; i < n; i++) p[np++] = (struct pollfd){c[i].fd, POLLIN, 0};
    struct timespec ts = {0, 100 * 1000000}, *tp = ended ? &ts : NULL;
    int r = ppoll(p, (nfds_t)np, tp, &in_poll);
    if (r < 0) continue; /* a signal: handled above next turn */
    if (p[0].revents & POLLIN) accept_all(lfd, c, &n);
    for (int i = n - 1; i >= 0; i--)
      if (p[i + 1].revents && conn_read(&c[i])) c[i] = c[--n];
  }
  close(lfd);
  /* Reports still being written: printed as far as they got. */
  for (int i = 0; i < n; i++) {
    if (conn_read(&c[i])) continue;
    close(c[i].fd);
    report *rp = c[i].len ? calloc(1, sizeof *rp) : NULL;
    if (!rp) {
      free(c[i].buf);
      continue;
    }
    rp->text = c[i].buf;
    rp->len = c[i].len;
    rp->cut = 1;
    q_push(rp);
  }
  pthread_mutex_lock(&q.mu);
  q.closing = 1;
  pthread_cond_signal(&q.cv);
  pthread_mutex_unlock(&q.mu);
  int stuck = 0;
  if (have_printer) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += opt->print_wait_s > 0 ? opt->print_wait_s : 30;
    stuck = pthread_timedjoin_np(th, NULL, &until) != 0;
  } else {
    printer(NULL);
  }
  if (WIFSIGNALED(status)) die_like(WTERMSIG(status));
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  /* The printer is blocked in a write holding stderr's lock: exit(3)
   * would flush stdio behind it. */
  if (stuck) _exit(code);
  return code;
}

/* http-recovery — gin's Recovery middleware for a C HTTP server.
 *
 * A libmicrohttpd server whose handlers run under faststack_recover: when
 * one faults, the middleware logs a gin-like report (time, "panic
 * recovered", the request line and headers with Authorization and Cookie
 * masked, the annotated trace) and answers 500; the server keeps serving.
 *
 *   http-recovery [--port N] [--log text|json] [--threads N] [--gin-way]
 *                 [--max-recoveries N --window-ms MS]
 *
 * Routes: /ok, /panic (a NULL dereference a few calls deep), /abort,
 * /slow (?ms=N, default 100), /stats (recoveries, requests, as JSON).
 * --port 0 (the default) picks a free port; the server prints
 * "listening on http://127.0.0.1:PORT" on stdout either way. It binds
 * 127.0.0.1 only. SIGINT or SIGTERM stops it cleanly.
 *
 * --gin-way builds the trace the way gin does (Go's runtime.Caller for
 * each frame, then the whole source file read to show one line, again for
 * every report): the comparison point of the load benchmark. The default
 * uses faststack's cached one-call path. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "faststack.h"

static int log_json;
static int gin_way;
static _Atomic unsigned long long requests;

/* ------------------------------------------------------------ the handlers
 * What a handler produces; the middleware turns it into a response. */
typedef struct reply {
  int status;
  char body[256];
} reply;

typedef struct request {
  struct MHD_Connection *conn;
  const char *method, *url, *version;
  reply out;
} request;

typedef struct user {
  const char *name;
  struct user *manager;
} user;

/* The bug: a user without a manager. noinline keeps every step a frame
 * of the trace, as real handler code would be. */
__attribute__((noinline)) static const char *manager_name(const user *u)
{
  return u->manager->name; /* u->manager is NULL */
}

__attribute__((noinline)) static void render_profile(const user *u, reply *out)
{
  snprintf(out->body, sizeof out->body, "manager: %s\n", manager_name(u));
  __asm__ volatile("" ::: "memory");
}

/* Read through a volatile pointer: a compiler that saw alice's manager is
 * always NULL could treat the dereference as unreachable (undefined
 * behaviour) and drop it, instead of faulting where the source says. */
static user alice = {"alice", NULL};
static user *volatile current_user = &alice;

__attribute__((noinline)) static void handle_panic(request *rq)
{
  render_profile(current_user, &rq->out);
  rq->out.status = 200;
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void handle_abort(request *rq)
{
  (void)rq;
  abort();
}

static void handle_ok(request *rq)
{
  rq->out.status = 200;
  strcpy(rq->out.body, "ok\n");
}

static void handle_slow(request *rq)
{
  const char *ms =
      MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "ms");
  long n = ms ? strtol(ms, NULL, 10) : 100;
  if (n < 0 || n > 10000) n = 100;
  struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  rq->out.status = 200;
  snprintf(rq->out.body, sizeof rq->out.body, "slept %ld ms\n", n);
}

static void handle_stats(request *rq)
{
  rq->out.status = 200;
  snprintf(rq->out.body, sizeof rq->out.body,
           "{\"recoveries\":%llu,\"requests\":%llu}\n",
           (unsigned long long)faststack_recover_count(),
           (unsigned long long)atomic_load(&requests));
}

static void route(void *arg)
{
  request *rq = arg;
  const char *u = rq->url;
  if (!strcmp(u, "/ok")) handle_ok(rq);
  else if (!strcmp(u, "/panic")) handle_panic(rq);
  else if (!strcmp(u, "/abort")) handle_abort(rq);
  else if (!strcmp(u, "/slow")) handle_slow(rq);
  else if (!strcmp(u, "/stats")) handle_stats(rq);
  else {
    rq->out.status = 404;
    strcpy(rq->out.body, "not found\n");
  }
  __asm__ volatile("" ::: "memory"); /* no tail calls: route is a frame */
}

/* ------------------------------------------------------- the report text
 * A growable string: the report is built whole and written with one
 * write(2), so reports of concurrent requests never interleave. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_mem(sbuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
  sb_mem(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf *b, const char *fmt, ...)
{
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0)
    sb_mem(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_json(sbuf *b, const char *s)
{
  sb_str(b, "\"");
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_mem(b, e, 2);
    } else if (c < 0x20) {
      sb_fmt(b, "\\u%04x", c);
    } else {
      sb_mem(b, (const char *)&c, 1);
    }
  }
  sb_str(b, "\"");
}

/* gin masks the credentials of the request it prints. */
static int secret(const char *key)
{
  return !strcasecmp(key, "Authorization") || !strcasecmp(key, "Cookie") ||
         !strcasecmp(key, "Proxy-Authorization");
}

typedef struct hdr_ctx {
  sbuf *b;
  int n;
} hdr_ctx;

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
  (void)kind;
  hdr_ctx *h = cls;
  const char *v = secret(key) ? "*" : value ? value : "";
  if (log_json) {
    if (h->n++) sb_str(h->b, ",");
    sb_json(h->b, key);
    sb_str(h->b, ":");
    sb_json(h->b, v);
  } else {
    sb_fmt(h->b, "%s: %s\n", key, v);
  }
  return MHD_YES;
}

/* The gin way: for every frame, where it is (symbolize), then the whole
 * source file read again to show one line — what gin's stack() does with
 * runtime.Caller and os.ReadFile (it keeps only the previous frame's file). */
static void gin_way_trace(sbuf *b, const faststack_recover_report *r)
{
  faststack_symbolizer *s = faststack_default_symbolizer();
  char *data = NULL;
  size_t size = 0;
  char last[4096] = "";
  for (int i = 0; i < r->n; i++) {
    faststack_frame f[8];
    char strs[4096];
    int k = faststack_symbolize(s, r->pcs[i], i == 0 ? FASTSTACK_PC_EXACT : 0,
                                f, 8, strs, sizeof strs);
    if (k <= 0) continue;
    const faststack_frame *fr = &f[k - 1]; /* the physical function */
    if (!fr->file) { /* Go always knows the file; C may not */
      sb_fmt(b, "%s+0x%lx (0x%lx)\n\t%s: ???\n", fr->module ? fr->module : "??",
             (unsigned long)fr->module_offset, (unsigned long)r->pcs[i],
             fr->function ? fr->function : "???");
      continue;
    }
    sb_fmt(b, "%s:%d (0x%lx)\n", fr->file, fr->line, (unsigned long)r->pcs[i]);
    if (strcmp(fr->file, last) != 0) {
      free(data);
      data = NULL;
      size = 0;
      snprintf(last, sizeof last, "%s", fr->file);
      FILE *fp = fopen(fr->file, "rb");
      if (fp) {
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
          char *p = realloc(data, size + got);
          if (!p) break;
          data = p;
          memcpy(data + size, chunk, got);
          size += got;
        }
        fclose(fp);
      }
    }
    /* Split into lines (as bytes.Split does) and take the frame's. */
    const char *src = "???";
    char line[512];
    if (data && fr->line > 0) {
      size_t start = 0;
      int ln = 1;
      for (size_t j = 0; j < size && ln < fr->line; j++)
        if (data[j] == '\n') {
          ln++;
          start = j + 1;
        }
      if (ln == fr->line) {
        size_t end = start;
        while (end < size && data[end] != '\n') end++;
        while (start < end && (data[start] == ' ' || data[start] == '\t'))
          start++;
        size_t n =
            end - start < sizeof line - 1 ? end - start : sizeof line - 1;
        memcpy(line, data + start, n);
        line[n] = 0;
        src = line;
      }
    }
    sb_fmt(b, "\t%s: %s\n", fr->function ? fr->function : "???", src);
  }
  free(data);
}

/* The report in format o appended to b, whatever its length (a deep
 * trace in JSON is tens of KiB). */
static void sb_report(sbuf *b, const faststack_recover_report *r,
                      const faststack_format_options *o, int strip_nl)
{
  char tmp[16384];
  char *p = tmp;
  size_t n = faststack_recover_format(r, o, tmp, sizeof tmp);
  if (n >= sizeof tmp) {
    p = malloc(n + 1);
    if (!p) return;
    n = faststack_recover_format(r, o, p, n + 1);
  }
  while (strip_nl && n && p[n - 1] == '\n') n--;
  sb_mem(b, p, n);
  if (p != tmp) free(p);
}

static void log_recovery(const request *rq, const faststack_recover_report *r)
{
  sbuf b = {0};
  char when[64];
  struct timespec ts = {r->time_ns / 1000000000LL, r->time_ns % 1000000000LL};
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  faststack_format_options o;
  if (log_json) {
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", &tm);
    sb_str(&b, "{\"time\":");
    sb_json(&b, when);
    sb_str(&b, ",\"msg\":\"panic recovered\",\"request\":{\"method\":");
    sb_json(&b, rq->method);
    sb_str(&b, ",\"path\":");
    sb_json(&b, rq->url);
    sb_str(&b, ",\"proto\":");
    sb_json(&b, rq->version);
    sb_str(&b, ",\"headers\":{");
    hdr_ctx h = {&b, 0};
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, add_header, &h);
    sb_str(&b, "}},\"panic\":");
    faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
    sb_report(&b, r, &o, 1);
    sb_str(&b, "}\n");
  } else {
    strftime(when, sizeof when, "%Y/%m/%d - %H:%M:%S", &tm);
    sb_fmt(&b, "[Recovery] %s panic recovered:\n%s %s %s\n", when, rq->method,
           rq->url, rq->version);
    hdr_ctx h = {&b, 0};
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, add_header, &h);
    sb_str(&b, "\n");
    if (gin_way) {
      faststack_recover_report head = *r;
      head.n = 0; /* the first line only; the trace is built below */
      faststack_format_options_init(&o, FASTSTACK_FORMAT_RAW);
      char tmp[512];
      faststack_recover_format(&head, &o, tmp, sizeof tmp);
      char *nl = strchr(tmp, '\n');
      if (nl) nl[1] = 0;
      sb_str(&b, tmp);
      gin_way_trace(&b, r);
    } else {
      faststack_format_options_init(&o, FASTSTACK_FORMAT_GIN);
      o.color = 0;
      sb_report(&b, r, &o, 0);
    }
    sb_str(&b, "\n");
  }
  if (b.p) {
    size_t off = 0;
    while (off < b.len) {
      ssize_t w = write(2, b.p + off, b.len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
  }
  free(b.p);
}

/* -------------------------------------------------------- the middleware */

static enum MHD_Result respond(struct MHD_Connection *conn, int status,
                               const char *body)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", "text/plain");
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
  (void)cls;
  (void)upload;
  static int first;
  if (*state != &first) { /* headers only: answer on the next call */
    *state = &first;
    return MHD_YES;
  }
  if (*upload_size) { /* bodies are not used: drop them */
    *upload_size = 0;
    return MHD_YES;
  }
  atomic_fetch_add(&requests, 1);
  request rq = {conn, method, url, version, {500, ""}};
  faststack_recover_report r;
  if (faststack_recover(route, &rq, &r) != 0) {
    log_recovery(&rq, &r);
    return respond(conn, 500, "500 Internal Server Error\n");
  }
  return respond(conn, rq.out.status, rq.out.body);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
  fprintf(stderr,
          "usage: http-recovery [--port N] [--log text|json] [--threads N] "
          "[--gin-way] [--max-recoveries N] [--window-ms MS]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  int port = 0, threads = 2, max_rec = 0, window_ms = 60000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--port") && v) port = atoi(argv[++i]);
    else if (!strcmp(a, "--threads") && v) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--max-recoveries") && v) max_rec = atoi(argv[++i]);
    else if (!strcmp(a, "--window-ms") && v) window_ms = atoi(argv[++i]);
    else if (!strcmp(a, "--gin-way")) gin_way = 1;
    else if (!strcmp(a, "--log") && v) {
      ++i;
      if (!strcmp(v, "json")) log_json = 1;
      else if (strcmp(v, "text")) usage();
    } else usage();
  }
  if (port < 0 || port > 65535 || threads < 1 || threads > 64) usage();

  /* Unrecovered faults still get a crash report; recovered ones are
   * logged here, by the middleware, not by the library. */
  faststack_crash_install(NULL);
  faststack_recover_policy pol;
  faststack_recover_policy_init(&pol);
  pol.log_fd = -1;
  pol.max_recoveries = max_rec;
  pol.window_ms = window_ms;
  if (faststack_recover_set_policy(&pol) != 0) {
    perror("faststack_recover_set_policy");
    return 1;
  }

  /* SIGINT/SIGTERM are taken by sigwait below: blocked here, before the
   * server's threads exist, so they inherit the mask. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
      NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
      MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
      MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "http-recovery: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("listening on http://127.0.0.1:%u\n", info ? info->port : port);
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  MHD_stop_daemon(d);
  fprintf(stderr,
          "http-recovery: stopped by signal %d after %llu requests, "
          "%llu recoveries\n",
          sig, (unsigned long long)atomic_load(&requests),
          (unsigned long long)faststack_recover_count());
  return 0;
}

/* out.c — async-signal-safe text output shared by all formatters.
 * snprintf is not async-signal-safe (it may take locale locks or allocate),
 * so formatting is done by hand into a caller buffer or a small stack
 * buffer that is flushed with write(2). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"

int fs_write_all(int fd, const char *buf, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

int fs_write_bounded(int fd, const char *buf, size_t n, int stall_ms, int *sock)
{
  while (n > 0) {
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll(&p, 1, stall_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1; /* it took nothing for stall_ms */
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return -1;
    size_t k = n < 4096 ? n : 4096;
    ssize_t w;
    if (*sock != 0) {
      w = send(fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w < 0 && errno == ENOTSOCK) {
        *sock = 0;
        continue;
      }
      if (w >= 0) *sock = 1;
    } else {
      w = write(fd, buf, k);
    }
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

void fs_nopipe_begin(fs_nopipe *s)
{
  sigset_t pipe_set, pend;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &s->old);
  s->pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE);
}

void fs_nopipe_end(const fs_nopipe *s)
{
  sigset_t pipe_set, pend;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (!s->pending && sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE)) {
    /* The kernel queued it for our write to a pipe without a reader. */
    struct timespec zero = {0, 0};
    syscall(SYS_rt_sigtimedwait, &pipe_set, NULL, &zero, _NSIG / 8);
  }
  if (!sigismember(&s->old, SIGPIPE))
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
}

void fs_out_init_buf(fs_out *o, char *buf, size_t cap)
{
  o->buf = buf;
  o->cap = buf ? cap : 0;
  o->len = 0;
  o->fd = -1;
  o->failed = 0;
  o->stall_ms = 0;
  o->sock = -1;
}

void fs_out_init_fd(fs_out *o, int fd, char *stage, size_t stage_cap)
{
  o->buf = stage;
  o->cap = stage_cap;
  o->len = 0;
  o->fd = fd;
  o->failed = 0;
  o->stall_ms = 0;
  o->sock = -1;
}

void fs_out_init_fd_bounded(fs_out *o, int fd, char *stage, size_t stage_cap,
                            int stall_ms)
{
  fs_out_init_fd(o, fd, stage, stage_cap);
  o->stall_ms = stall_ms;
}

static void flush(fs_out *o)
{
  if (o->stall_ms > 0) {
    /* Bounded: after one stall the output is given up, not waited for
     * again chunk by chunk. */
    if (o->len && !o->failed &&
        fs_write_bounded(o->fd, o->buf, o->len, o->stall_ms, &o->sock) < 0)
      o->failed = 1;
  } else if (o->len && fs_write_all(o->fd, o->buf, o->len) < 0) {
    o->failed = 1;
  }
  o->len = 0;
}

void fs_out_mem(fs_out *o, const char *s, size_t n)
{
  if (o->fd < 0) {
    /* Buffer mode: copy what fits (keeping a byte for the NUL), count all. */
    if (o->len + 1 < o->cap) {
      size_t room = o->cap - 1 - o->len;
      memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
    return;
  }
  while (n > 0) {
    size_t room = o->cap - o->len;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    s += k;
    n -= k;
    if (o->len == o->cap) flush(o);
  }
}

void fs_out_str(fs_out *o, const char *s)
{
  if (s) fs_out_mem(o, s, strlen(s));
}

void fs_out_char(fs_out *o, char c)
{
  fs_out_mem(o, &c, 1);
}

int fs_fmt_hex(char *buf, uint64_t v, int min_digits)
{
  int n = 1;
  for (uint64_t t = v >> 4; t; t >>= 4) n++;
  if (min_digits > 16) min_digits = 16;
  if (n < min_digits) n = min_digits;
  for (int i = n - 1; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
  return n;
}

int fs_fmt_dec(char *buf, int64_t v)
{
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int n = 1;
  for (uint64_t t = u / 10; t; t /= 10) n++;
  int neg = v < 0;
  for (int i = n - 1 + neg; i >= neg; i--, u /= 10)
    buf[i] = (char)('0' + u % 10);
  if (neg) buf[0] = '-';
  return n + neg;
}

void fs_hex_bytes(const unsigned char *p, unsigned n, char *out)
{
  for (unsigned i = 0; i < n; i++) {
    out[2 * i] = "0123456789abcdef"[p[i] >> 4];
    out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
  }
  out[2 * n] = '\0';
}

void fs_out_hex(fs_out *o, uint64_t v, int min_digits)
{
  char tmp[16];
  fs_out_mem(o, tmp, (size_t)fs_fmt_hex(tmp, v, min_digits));
}

void fs_out_dec(fs_out *o, int64_t v)
{
  char tmp[24];
  fs_out_mem(o, tmp, (size_t)fs_fmt_dec(tmp, v));
}

void fs_out_dec_pad(fs_out *o, int64_t v, int width)
{
  char tmp[24];
  int n = fs_fmt_dec(tmp, v);
  for (int i = n; i < width; i++) fs_out_char(o, ' ');
  fs_out_mem(o, tmp, (size_t)n);
}

size_t fs_out_finish(fs_out *o)
{
  if (o->fd >= 0) {
    flush(o);
    return o->failed ? (size_t)-1 : 0;
  }
  if (o->cap) o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
  return o->len;
}

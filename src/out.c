/* out.c — async-signal-safe text output shared by all formatters.
 * snprintf is not async-signal-safe (it may take locale locks or allocate),
 * so formatting is done by hand into a caller buffer or a small stack
 * buffer that is flushed with write(2). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

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

void fs_out_init_buf(fs_out *o, char *buf, size_t cap)
{
  o->buf = buf;
  o->cap = buf ? cap : 0;
  o->len = 0;
  o->fd = -1;
  o->failed = 0;
}

void fs_out_init_fd(fs_out *o, int fd, char *stage, size_t stage_cap)
{
  o->buf = stage;
  o->cap = stage_cap;
  o->len = 0;
  o->fd = fd;
  o->failed = 0;
}

static void flush(fs_out *o)
{
  if (o->len && fs_write_all(o->fd, o->buf, o->len) < 0) o->failed = 1;
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

void fs_out_hex(fs_out *o, uint64_t v, int min_digits)
{
  char tmp[16];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v && n < 16);
  while (n < min_digits && n < 16) tmp[n++] = '0';
  char rev[16];
  for (int i = 0; i < n; i++) rev[i] = tmp[n - 1 - i];
  fs_out_mem(o, rev, (size_t)n);
}

void fs_out_dec(fs_out *o, int64_t v)
{
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[n++] = '-';
  char rev[24];
  for (int i = 0; i < n; i++) rev[i] = tmp[n - 1 - i];
  fs_out_mem(o, rev, (size_t)n);
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

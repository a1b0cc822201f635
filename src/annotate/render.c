/* render.c — a source line made safe to print: a source file must not
 * be able to drive the reader's terminal, break a log line or a JSON
 * string, so control bytes and invalid UTF-8 are escaped, tabs expanded,
 * and long lines cut at the provider's width with an ellipsis. */
#include <string.h>

#include "annotate/sources.h"

FASTSTACK_API const char *faststack_source_status_note(int status)
{
  switch (status) {
  case FASTSTACK_LINE_STALE_MD5:
    return "stale: source differs from the one compiled (MD5)";
  case FASTSTACK_LINE_STALE_NEWER: return "stale: source newer than binary";
  case FASTSTACK_LINE_PAST_EOF: return "line past end of file";
  case FASTSTACK_LINE_BINARY: return "binary file";
  case FASTSTACK_LINE_CHANGING: return "file changed while being read";
  case FASTSTACK_LINE_NOT_REGULAR: return "not a regular file";
  case FASTSTACK_LINE_UNREADABLE: return "unreadable";
  default: return NULL;
  }
}

/* Length of a valid UTF-8 sequence at p (n bytes available), or 0. */
static int utf8_len(const unsigned char *p, size_t n)
{
  int len = p[0] >= 0xf0 && p[0] <= 0xf4   ? 4
            : p[0] >= 0xe0                 ? 3
            : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
                                           : 0;
  if (!len || (size_t)len > n) return 0;
  for (int i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if (len == 3 && p[0] == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
  if (len == 3 && p[0] == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
  if (len == 4 && p[0] == 0xf0 && p[1] < 0x90) return 0;
  if (len == 4 && p[0] == 0xf4 && p[1] >= 0x90) return 0;
  return len;
}

size_t fs_src_render(const faststack_sources *s, const unsigned char *p,
                     size_t n, char *out, size_t cap)
{
  if (n && p[n - 1] == '\r') n--;
  size_t o = 0;
  int col = 0, width = s->opt.width, tab = s->opt.tab_width;
  for (size_t i = 0; i < n;) {
    if (p[i] >= 0x20 && p[i] < 0x7f) {
      /* A run of printable ASCII (most of any source line) in one copy,
       * with the per-byte loop's two limits in its order: the width
       * first (then the ellipsis), then the buffer. */
      size_t r = 1;
      while (i + r < n && p[i + r] >= 0x20 && p[i + r] < 0x7f) r++;
      size_t by_width = (size_t)(width - col);
      size_t by_cap = cap >= o + 5 ? cap - o - 4 : 0;
      size_t k = r < by_width ? r : by_width;
      if (k > by_cap) k = by_cap;
      memcpy(out + o, p + i, k);
      o += k;
      col += (int)k;
      i += k;
      if (k == r) continue;
      if (k == by_width) {
        memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
        return o + 3;
      }
      break;
    }
    char piece[8];
    int plen, pcols;
    int ulen = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;
    if (p[i] == '\t') {
      pcols = tab - col % tab;
      plen = 0;
    } else if (ulen) {
      memcpy(piece, p + i, (size_t)ulen);
      plen = ulen;
      pcols = 1;
    } else { /* control byte or invalid UTF-8 */
      piece[0] = '\\';
      piece[1] = 'x';
      piece[2] = "0123456789abcdef"[p[i] >> 4];
      piece[3] = "0123456789abcdef"[p[i] & 15];
      plen = pcols = 4;
    }
    if (col + pcols > width) {
      memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
      return o + 3;
    }
    if (o + (size_t)(plen ? plen : pcols) + 4 > cap) break;
    if (plen) memcpy(out + o, piece, (size_t)plen);
    else memset(out + o, ' ', (size_t)pcols);
    o += (size_t)(plen ? plen : pcols);
    col += pcols;
    i += ulen ? (size_t)ulen : 1;
  }
  return o;
}

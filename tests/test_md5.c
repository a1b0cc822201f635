/* test_md5.c — the built-in MD5 (annotate/md5.c, used without libmd):
 * RFC 1321's test suite, and every length around the block boundaries in
 * pieces of every size against libmd when the build has it. */
#include <stdio.h>
#include <string.h>

#include "annotate/md5.h"
#include "check.h"
#if FS_HAVE_LIBMD
#include <md5.h>
#endif

static void hex(const unsigned char d[16], char out[33])
{
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void one(const char *s, const char *want)
{
  fs_md5_ctx c;
  unsigned char d[16];
  char h[33];
  fs_md5_init(&c);
  fs_md5_update(&c, s, strlen(s));
  fs_md5_final(d, &c);
  hex(d, h);
  CHECK_STREQ(h, want);
}

int main(void)
{
  one("", "d41d8cd98f00b204e9800998ecf8427e");
  one("a", "0cc175b9c0f1b6a831c399e269772661");
  one("abc", "900150983cd24fb0d6963f7d28e17f72");
  one("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
  one("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
  one("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f");
  one("1234567890123456789012345678901234567890123456789012345678901234567890"
      "1234567890",
      "57edf4a22be3c955ac49da2e2107b67a");
#if FS_HAVE_LIBMD
  unsigned char buf[300];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + 1);
  for (size_t n = 0; n <= sizeof buf; n++)
    for (size_t piece = 1; piece <= 70; piece += 23) {
      fs_md5_ctx c;
      MD5_CTX r;
      unsigned char a[16], b[16];
      fs_md5_init(&c);
      MD5Init(&r);
      for (size_t o = 0; o < n; o += piece) {
        size_t k = n - o < piece ? n - o : piece;
        fs_md5_update(&c, buf + o, k);
        MD5Update(&r, buf + o, k);
      }
      fs_md5_final(a, &c);
      MD5Final(b, &r);
      CHECK(!memcmp(a, b, 16));
    }
#endif
  return CHECK_DONE("test_md5");
}

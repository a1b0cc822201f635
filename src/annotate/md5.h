/* md5.h — annotate's own MD5 (RFC 1321), for builds without libmd
 * (FASTSTACK_WITH_LIBMD=OFF: musl, where Debian has no libmd). The names
 * are libmd's, so annotate.c reads the same either way. */
#ifndef FASTSTACK_MD5_H
#define FASTSTACK_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct fs_md5_ctx {
  uint32_t state[4];
  uint64_t bytes;
  unsigned char block[64];
} fs_md5_ctx;

void fs_md5_init(fs_md5_ctx *c);
void fs_md5_update(fs_md5_ctx *c, const void *p, size_t n);
void fs_md5_final(unsigned char out[16], fs_md5_ctx *c);

#if !FS_HAVE_LIBMD
#define MD5_CTX fs_md5_ctx
#define MD5Init fs_md5_init
#define MD5Update fs_md5_update
#define MD5Final fs_md5_final
#endif

#endif

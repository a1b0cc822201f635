/* sources.h — the annotate stage's own declarations, shared by its
 * files: provider.c (the provider's lifecycle, its line cache and its
 * file records), render.c (a source line made safe to print) and
 * annotate.c (reading files, staleness, faststack_annotate). Private to
 * annotate/. Functions taking a provider expect its lock held unless
 * they say otherwise. */
#ifndef FASTSTACK_SOURCES_H
#define FASTSTACK_SOURCES_H

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "annotate/annotate.h"

#define FS_RECHECK_NS 1000000000LL /* re-stat a file at most once a second */
#define FS_MAX_FILES 65536         /* file records kept per provider */
#define FS_NO_SOURCES_AFTER 8      /* all-missing files before the fast path */
#define FS_READ_CHUNK 16384        /* source lines are near the top */
/* Hash tables start small and double: a provider that is created for one
 * trace (or lives in a process with a handful of source files) should not
 * pay for clearing and walking thousands of empty buckets. The first
 * buckets live inside the provider. */
#define FS_FILE_BUCKETS0 16
#define FS_LINE_BUCKETS0 64
#define FS_LINE_BUCKETS_MAX (1u << 22)

typedef struct srcfile srcfile;

/* A cached, rendered line. */
typedef struct line_entry {
  struct line_entry *hnext; /* hash chain */
  struct line_entry *lru_prev, *lru_next;
  srcfile *file;
  int line;
  int status;
  size_t len;  /* of text, without NUL */
  char text[]; /* NUL-terminated */
} line_entry;

enum { MD5_UNKNOWN, MD5_OK, MD5_MISMATCH };

struct srcfile {
  srcfile *hnext;
  uint64_t hash;  /* of name: the table is rehashed as it grows */
  char *resolved; /* found on disk (name itself when found as
                           given: no copy); NULL when not */
  int status;     /* FASTSTACK_LINE_OK or why it cannot be read */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  long long checked_ns; /* when status/stat were last refreshed */
  int md5_state;
  unsigned char md5_of[16]; /* the MD5 md5_state refers to */
  int nlines;               /* lines known to exist (past-EOF answers) */
  /* debuginfod: the copy fetched for a frame's build-id when the file is
   * not on this machine (tried once per record), or NULL. */
  char *fetched;
  int fetch_tried;
  char name[]; /* as the frame gives it; one allocation */
};

typedef struct prefix_map {
  char *from, *to;
} prefix_map;

struct faststack_sources {
  pthread_mutex_t lock;
  pthread_cond_t fd_free;
  faststack_sources_options opt;
  prefix_map *maps;
  int nmaps;
  char **roots;
  int nroots;
  srcfile **files; /* hash table of file records */
  size_t nfile_buckets, nfiles;
  line_entry **lines; /* hash table of cached lines */
  size_t nline_buckets, nline_entries;
  srcfile *files0[FS_FILE_BUCKETS0]; /* the tables until they grow */
  line_entry *lines0[FS_LINE_BUCKETS0];
  /* One spare read buffer (scratch_take): a reader takes it under the
   * lock and owns it until it gives it back, so concurrent readers never
   * share one; a second reader at the same time allocates its own. */
  unsigned char *spare;
  line_entry *lru_head; /* most recently used */
  line_entry *lru_tail; /* least recently used: evicted first */
  size_t cached_bytes;
  int open_now;
  /* Module mtimes for "source newer than binary", re-stat'ed at most
   * once per FS_RECHECK_NS. */
  struct {
    char *path;
    struct timespec mtime;
    long long checked_ns;
    int ok;
  } modules[16];
  int next_module;
  /* The fast path: files asked for so far, all missing? */
  int files_seen, files_found, no_sources;
  long long no_sources_checked_ns;
  int debuginfod; /* fetch missing files (faststack_sources_use_debuginfod) */
  faststack_sources_stats stats;
};

/* ---------------------------------------------------------- provider.c */

/* CLOCK_MONOTONIC_COARSE now: the re-check interval needs no more. */
long long fs_src_now_ns(void);
/* The cached line (f, line), moved to the front of the LRU list; NULL. */
line_entry *fs_src_cache_find(faststack_sources *s, srcfile *f, int line);
/* A line entry with its text (len bytes) filled in, not yet cached. The
 * cold path renders straight into one, so a line is allocated once. */
line_entry *fs_src_entry_new(const char *text, size_t len);
/* Caches e as (f, line). Returns 1 when the cache took e (it is the
 * cache's now: it may be evicted by the next insertion), 0 when it did not
 * (another thread was first, or e alone exceeds the budget): e is still
 * the caller's. */
int fs_src_cache_adopt(faststack_sources *s, srcfile *f, int line, int status,
                       line_entry *e);
/* The record for a file name, created (and checked) on first use. NULL
 * when the table is full or memory ran out. */
srcfile *fs_src_get_file(faststack_sources *s, const char *name, long long now);
/* Refreshes f's status and identity from the file system. A change of
 * identity drops its cached lines and MD5 verdict. */
void fs_src_refresh_file(faststack_sources *s, srcfile *f, long long now);
/* In the no-sources fast path, one file is re-checked now and then: if a
 * source tree appears (mounted, checked out), annotation resumes. */
void fs_src_recheck_no_sources(faststack_sources *s, srcfile *f, long long now);

/* ------------------------------------------------------------ render.c */

/* Renders raw line bytes p[0..n) into out (capacity cap, at least
 * width*4+16) for display: CR stripped, tabs expanded, control bytes and
 * invalid UTF-8 escaped as \xNN, cut at width columns with an ellipsis.
 * Returns the rendered length. Lock not needed. */
size_t fs_src_render(const faststack_sources *s, const unsigned char *p,
                     size_t n, char *out, size_t cap);

#endif /* FASTSTACK_SOURCES_H */

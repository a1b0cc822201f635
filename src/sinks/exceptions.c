/* exceptions.c — the trace at the throw point of every C++ exception.
 *
 * The interposed ABI entry points (cxxhooks.c) call in here at each
 * throw: the thread's PCs are captured (the capture stage: no allocation,
 * a few ns a frame) into a record, and the record is kept in a table
 * keyed by the thrown object's address. The destructor passed to
 * __cxa_throw is replaced by a wrapper that takes the record out of the
 * table and frees it, then calls the original: the record lives exactly
 * as long as the exception object, however many catch blocks,
 * std::exception_ptr copies and threads it passes through. A rethrow
 * (`throw;`, std::rethrow_exception) is the same object, so it finds the
 * same record and keeps the original site.
 *
 * Reading "the exception being handled" uses the Itanium C++ ABI as
 * libstdc++ lays it out on x86-64: __cxa_get_globals()->caughtExceptions
 * is the innermost caught exception's header (struct __cxa_exception,
 * 112 bytes), the thrown object follows it; a dependent exception (what
 * std::rethrow_exception throws) points to its primary object instead.
 * The layout is checked once, on a real exception object, before any of
 * it is trusted; a runtime that differs turns the feature off.
 *
 * Nothing here links against libstdc++: its functions are looked up
 * with dlsym, so a C program that never loads it pays nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sinks/sinks.h"
#include "symbolize/symbolize.h"

/* ------------------------------------------------------------ the ABI
 * Offsets from the thrown object (libstdc++, x86-64; checked by
 * layout_ok before use). */
#define FS_CXA_HEADER 112      /* sizeof(struct __cxa_exception) */
#define FS_CXA_TYPE 112        /* exceptionType: obj - 112 */
#define FS_CXA_DEST 104        /* exceptionDestructor: obj - 104 */
#define FS_CXA_CLASS 32        /* unwindHeader.exception_class: obj - 32 */
#define FS_CXA_CLASS_AT_HDR 80 /* the same, from the header */
/* "GNUCC++\0" and "GNUCC++\1" as the unwinder's 64-bit class. */
#define FS_CXA_PRIMARY 0x474e5543432b2b00ull
#define FS_CXA_DEPENDENT 0x474e5543432b2b01ull
/* Vtable slots (Itanium ABI: virtual functions in declaration order, a
 * destructor taking two): type_info's __do_catch, std::exception's
 * what(). */
#define FS_VSLOT_DO_CATCH 4
#define FS_VSLOT_WHAT 2

typedef void *(*get_globals_fn)(void);
typedef void *(*alloc_exc_fn)(size_t);
typedef void (*free_exc_fn)(void *);
typedef void *(*init_primary_fn)(void *, void *, void (*)(void *));
typedef _Bool (*do_catch_fn)(const void *self, const void *thrown_type,
                             void **obj, unsigned outer);
typedef const char *(*what_fn)(const void *self);

static struct {
  get_globals_fn get_globals;
  const void *std_exception_type; /* &typeid(std::exception) */
  do_catch_fn class_do_catch;     /* __class_type_info::__do_catch */
} cxx;

static fs_cxx_next next_fns;

/* 0 not decided yet, 1 on, 2 off. */
static _Atomic int exc_state;

void *fs_cxx_sym(const char *name)
{
  static void *_Atomic lib;
  void *h = atomic_load_explicit(&lib, memory_order_acquire);
  if (!h) {
    /* RTLD_NOLOAD: only the copy the process already has. A C program
     * that dlopen'ed a C++ library RTLD_LOCAL has it outside the global
     * scope, which this handle still reaches. */
    h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (h) atomic_store_explicit(&lib, h, memory_order_release);
  }
  void *p = h ? dlsym(h, name) : NULL;
  return p ? p : dlsym(RTLD_DEFAULT, name);
}

/* The next definition after ours (RTLD_NEXT keeps a chain of
 * interposers, a sanitizer's for one), else the runtime's own. */
static void *next_sym(const char *name)
{
  void *p = dlsym(RTLD_NEXT, name);
  if (p) return p;
  void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
  return h ? dlsym(h, name) : NULL;
}

static void next_lookup(void)
{
  next_fns.cxa_throw = (fs_cxa_throw_fn)next_sym("__cxa_throw");
  next_fns.cxa_rethrow = (fs_cxa_rethrow_fn)next_sym("__cxa_rethrow");
  next_fns.rethrow_exception = (fs_rethrow_ptr_fn)next_sym(
      "_ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE");
}

const fs_cxx_next *fs_cxx_next_fns(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, next_lookup);
  return &next_fns;
}

static uint64_t load_u64(const void *p)
{
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void *load_ptr(const void *p)
{
  void *v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The layout the offsets above describe, checked on an exception object
 * the runtime itself allocates and initializes. */
static int layout_ok(void)
{
  alloc_exc_fn alloc = (alloc_exc_fn)fs_cxx_sym("__cxa_allocate_exception");
  free_exc_fn release = (free_exc_fn)fs_cxx_sym("__cxa_free_exception");
  init_primary_fn init =
      (init_primary_fn)fs_cxx_sym("__cxa_init_primary_exception");
  if (!alloc || !release || !init || !cxx.std_exception_type) return 0;
  char *obj = alloc(16);
  if (!obj) return 0;
  void (*probe_dest)(void *) = release; /* any function: only stored */
  init(obj, (void *)cxx.std_exception_type, probe_dest);
  int ok = load_ptr(obj - FS_CXA_TYPE) == cxx.std_exception_type &&
           load_ptr(obj - FS_CXA_DEST) == (void *)probe_dest &&
           load_u64(obj - FS_CXA_CLASS) == FS_CXA_PRIMARY;
  release(obj);
  return ok;
}

static __thread int tid_cache __attribute__((tls_model("initial-exec")));

/* A forked child's thread has another id. */
static void forget_tid(void)
{
  tid_cache = 0;
}

/* Decides once whether exceptions are recorded and reported. */
static int exc_decide(void)
{
  const char *v = getenv("FASTSTACK_EXCEPTIONS");
  if (v && v[0] == '0' && v[1] == '\0') return 2;
  cxx.get_globals = (get_globals_fn)fs_cxx_sym("__cxa_get_globals");
  cxx.std_exception_type = fs_cxx_sym("_ZTISt9exception");
  cxx.class_do_catch = (do_catch_fn)fs_cxx_sym(
      "_ZNK10__cxxabiv117__class_type_info10__do_catchEPKSt9type_infoPPvj");
  if (!cxx.get_globals || !layout_ok()) return 2;
  pthread_atfork(NULL, NULL, forget_tid);
  /* what() is asked through the catch machinery only when
   * typeid(std::exception)'s vtable has __do_catch where the ABI puts
   * it. */
  void **vt = load_ptr(cxx.std_exception_type);
  if (!cxx.class_do_catch || !vt ||
      vt[FS_VSLOT_DO_CATCH] != (void *)cxx.class_do_catch)
    cxx.class_do_catch = NULL;
  return 1;
}

int fs_exc_enabled(void)
{
  int s = atomic_load_explicit(&exc_state, memory_order_acquire);
  if (FS_LIKELY(s)) return s == 1;
  /* No libstdc++ yet: decide later (a C program may load it). */
  if (!fs_cxx_sym("__cxa_get_globals")) {
    const char *v = getenv("FASTSTACK_EXCEPTIONS");
    return v && v[0] == '0' && v[1] == '\0' ? 0 : -1;
  }
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  s = atomic_load_explicit(&exc_state, memory_order_relaxed);
  if (!s) {
    s = exc_decide();
    atomic_store_explicit(&exc_state, s, memory_order_release);
  }
  pthread_mutex_unlock(&mu);
  return s == 1;
}

/* ------------------------------------------------------------ records */

typedef struct fs_xrec {
  struct fs_xrec *_Atomic next;
  const void *obj; /* NULL: dead, waiting to be unlinked */
  void (*dest)(void *);
  int tid;
  int n;
  uintptr_t pcs[];
} fs_xrec;

/* A bucket's lock word is its holder's token (the address of a
 * thread-local byte): a thread that finds its own token there is a
 * signal handler that interrupted this thread inside the table. */
typedef struct fs_xbucket {
  _Atomic uintptr_t owner;
  fs_xrec *_Atomic head;
} fs_xbucket;

#define FS_XBUCKETS 1024
static fs_xbucket xtab[FS_XBUCKETS];
static _Atomic long live_records;
static __thread char xtoken __attribute__((tls_model("initial-exec")));

static void exc_destroy(void *obj);

static fs_xbucket *bucket_of(const void *obj)
{
  uint64_t h = ((uintptr_t)obj >> 4) * 0x9e3779b97f4a7c15ull;
  return &xtab[h >> (64 - 10)];
}

/* 1: locked. 0: this thread holds it already, frozen beneath a signal
 * handler; the bucket is consistent at every store, so it may be read,
 * and nobody else changes it meanwhile (they wait for the lock). */
static int bucket_lock(fs_xbucket *b)
{
  uintptr_t me = (uintptr_t)&xtoken;
  for (unsigned spins = 0;; spins++) {
    uintptr_t cur = 0;
    if (atomic_compare_exchange_weak_explicit(
            &b->owner, &cur, me, memory_order_acquire, memory_order_relaxed))
      return 1;
    if (cur == me) return 0;
    if (spins > 64) sched_yield();
    else fs_arch_cpu_relax();
  }
}

static void bucket_unlock(fs_xbucket *b)
{
  atomic_store_explicit(&b->owner, 0, memory_order_release);
}

typedef fs_xrec *_Atomic fs_xlink;

/* Under the lock: the link to the record of obj, dead ones freed on the
 * way. Stores are releases: a signal handler on this thread may walk the
 * list between any two of them (find_frozen). */
static fs_xlink *find_locked(fs_xbucket *b, const void *obj)
{
  fs_xlink *link = &b->head;
  fs_xrec *r;
  while ((r = atomic_load_explicit(link, memory_order_relaxed))) {
    if (!r->obj) {
      atomic_store_explicit(link, atomic_load(&r->next), memory_order_release);
      free(r);
      atomic_fetch_sub_explicit(&live_records, 1, memory_order_relaxed);
      continue;
    }
    if (r->obj == obj) return link;
    link = &r->next;
  }
  return NULL;
}

/* Without the lock (its holder is this thread, frozen). */
static fs_xrec *find_frozen(fs_xbucket *b, const void *obj)
{
  fs_xrec *r = atomic_load_explicit(&b->head, memory_order_acquire);
  for (; r; r = atomic_load_explicit(&r->next, memory_order_acquire))
    if (r->obj == obj) return r;
  return NULL;
}

static int thread_id(void)
{
  if (FS_UNLIKELY(!tid_cache)) tid_cache = fs_gettid();
  return tid_cache;
}

static fs_xrec *rec_new(const void *obj, const uintptr_t *pcs, int n)
{
  fs_xrec *r = malloc(fs_exc_record_bytes(n));
  if (!r) return NULL;
  atomic_init(&r->next, NULL);
  r->obj = obj;
  r->dest = NULL;
  r->tid = thread_id();
  r->n = n;
  memcpy(r->pcs, pcs, (size_t)n * sizeof *pcs);
  return r;
}

size_t fs_exc_record_bytes(int n)
{
  return sizeof(fs_xrec) + (size_t)(n > 0 ? n : 0) * sizeof(uintptr_t);
}

long fs_exc_live_records(void)
{
  return atomic_load_explicit(&live_records, memory_order_relaxed);
}

/* Puts r in the table unless obj has a record already. hdr_dest, when
 * not NULL, is the object's destructor slot: the wrapper goes there, and
 * its value into r (a rethrow of an object thrown without a record). 1:
 * inserted. */
static int insert(fs_xrec *r, void (**hdr_dest)(void *))
{
  fs_xbucket *b = bucket_of(r->obj);
  if (!bucket_lock(b)) return 0;
  int fresh = !find_locked(b, r->obj);
  if (fresh) {
    if (hdr_dest) {
      r->dest = *hdr_dest;
      *hdr_dest = exc_destroy;
    }
    atomic_store_explicit(&r->next,
                          atomic_load_explicit(&b->head, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&b->head, r, memory_order_release);
    atomic_fetch_add_explicit(&live_records, 1, memory_order_relaxed);
  }
  bucket_unlock(b);
  return fresh;
}

/* The wrapper destructor: the record goes with the object. */
static void exc_destroy(void *obj)
{
  fs_xbucket *b = bucket_of(obj);
  void (*dest)(void *) = NULL;
  if (bucket_lock(b)) {
    fs_xlink *link = find_locked(b, obj);
    fs_xrec *r = link ? atomic_load(link) : NULL;
    if (r) {
      atomic_store_explicit(link, atomic_load(&r->next), memory_order_release);
      dest = r->dest;
      atomic_fetch_sub_explicit(&live_records, 1, memory_order_relaxed);
    }
    bucket_unlock(b);
    free(r);
  } else {
    /* The table is this thread's, frozen below a signal handler: mark
     * the record dead; the next locked pass frees it. */
    fs_xrec *r = find_frozen(b, obj);
    if (r) {
      dest = r->dest;
      r->obj = NULL;
    }
  }
  if (dest) dest(obj);
}

/* ------------------------------------------------------------ recording */

__attribute__((noinline)) void (*fs_exc_on_throw(void *obj,
                                                 void (*dest)(void *),
                                                 int skip))(void *)
{
  if (!obj || fs_exc_enabled() != 1) return dest;
  uintptr_t pcs[FASTSTACK_EXCEPTION_MAX_PCS];
  int n = faststack_capture(pcs, FASTSTACK_EXCEPTION_MAX_PCS, skip + 1);
  fs_xrec *r = rec_new(obj, pcs, n);
  if (!r) return dest;
  r->dest = dest;
  if (!insert(r, NULL)) {
    free(r);
    return dest;
  }
  return exc_destroy;
}

/* The primary object of the exception being handled, or NULL. */
static void *caught_object(void)
{
  if (!cxx.get_globals) return NULL;
  void **g = cxx.get_globals();
  char *hdr = g ? g[0] : NULL;
  if (!hdr) return NULL;
  uint64_t cls = load_u64(hdr + FS_CXA_CLASS_AT_HDR);
  if (cls == FS_CXA_PRIMARY) return hdr + FS_CXA_HEADER;
  if (cls == FS_CXA_DEPENDENT) return load_ptr(hdr);
  return NULL; /* a foreign exception (another language's) */
}

__attribute__((noinline)) void fs_exc_on_rethrow(void *obj, int skip)
{
  if (fs_exc_enabled() != 1) return;
  if (!obj) obj = caught_object();
  /* Only a primary object has the destructor slot the wrapper needs. */
  if (!obj || load_u64((char *)obj - FS_CXA_CLASS) != FS_CXA_PRIMARY) return;
  fs_xbucket *b = bucket_of(obj);
  if (!bucket_lock(b)) return;
  int known = find_locked(b, obj) != NULL;
  bucket_unlock(b);
  if (known) return;
  uintptr_t pcs[FASTSTACK_EXCEPTION_MAX_PCS];
  int n = faststack_capture(pcs, FASTSTACK_EXCEPTION_MAX_PCS, skip + 1);
  fs_xrec *r = rec_new(obj, pcs, n);
  if (r && !insert(r, (void (**)(void *))((char *)obj - FS_CXA_DEST))) free(r);
}

/* ------------------------------------------------------------ reading */

int fs_exc_current(void **obj, const void **type)
{
  if (fs_exc_enabled() != 1) return 0;
  void *o = caught_object();
  if (!o) return 0;
  *obj = o;
  *type = load_ptr((char *)o - FS_CXA_TYPE);
  return 1;
}

int fs_exc_trace(const void *obj, uintptr_t *pcs, int max, int *tid)
{
  *tid = 0;
  if (!obj || !pcs || max <= 0) return 0;
  fs_xbucket *b = bucket_of(obj);
  int locked = bucket_lock(b);
  fs_xlink *link = locked ? find_locked(b, obj) : NULL;
  fs_xrec *r = locked ? (link ? atomic_load(link) : NULL) : find_frozen(b, obj);
  int n = 0;
  if (r) {
    n = r->n < max ? r->n : max;
    memcpy(pcs, r->pcs, (size_t)n * sizeof *pcs);
    *tid = r->tid;
  }
  if (locked) bucket_unlock(b);
  return n;
}

/* std::exception's what() when the thrown type derives from it
 * (publicly and unambiguously: the test a catch clause makes), else
 * NULL. */
static const char *what_of(void *obj, const void *type)
{
  if (!cxx.class_do_catch || !type) return NULL;
  void *sub = obj;
  if (!cxx.class_do_catch(cxx.std_exception_type, type, &sub, 1) || !sub)
    return NULL;
  void **vt = load_ptr(sub);
  what_fn what = vt ? (what_fn)vt[FS_VSLOT_WHAT] : NULL;
  return what ? what(sub) : NULL;
}

/* The type's name as people write it. type_info::name() is the mangled
 * type, with a '*' in front for types local to a unit. */
static void out_type(fs_out *o, const void *type)
{
  const char *m = type ? load_ptr((const char *)type + sizeof(void *)) : NULL;
  if (!m) {
    fs_out_str(o, "(unknown type)");
    return;
  }
  if (*m == '*') m++;
  char buf[1024];
  if (fs_demangle(m, 1, buf, sizeof buf)) fs_out_str(o, buf);
  else fs_out_str(o, m);
}

void fs_exc_describe(fs_out *o, void *obj, const void *type, int json)
{
  const char *what = what_of(obj, type);
  if (!json) {
    out_type(o, type);
    if (what) {
      fs_out_str(o, ": ");
      fs_out_str(o, what);
    }
    return;
  }
  char name[1024];
  fs_out tmp;
  fs_out_init_buf(&tmp, name, sizeof name);
  out_type(&tmp, type);
  fs_out_finish(&tmp);
  fs_out_str(o, "\"exception\":");
  fs_json_str(o, name);
  fs_out_str(o, ",\"what\":");
  fs_json_str(o, what);
}

void fs_exc_write_trace(fs_out *o, const void *obj,
                        const faststack_format_options *opts)
{
  uintptr_t pcs[FASTSTACK_EXCEPTION_MAX_PCS];
  int tid;
  int n = fs_exc_trace(obj, pcs, FASTSTACK_EXCEPTION_MAX_PCS, &tid);
  if (opts->format == FASTSTACK_FORMAT_RAW) {
    fs_raw_trace(o, pcs, n, 0);
    return;
  }
  faststack_format_options f = *opts;
  if (n == 0 && f.format != FASTSTACK_FORMAT_JSON) {
    fs_out_str(o, "(no throw site recorded)\n");
    return;
  }
  char head[96];
  if (!f.header && f.format != FASTSTACK_FORMAT_JSON) {
    fs_out h;
    fs_out_init_buf(&h, head, sizeof head);
    fs_out_str(&h, "thrown in ");
    fs_out_thread(&h, tid);
    fs_out_char(&h, ':');
    fs_out_finish(&h);
    f.header = head;
  }
  /* Through a buffer: the JSON object loses its newline to nest. */
  char small[16384];
  char *buf = small;
  size_t need = faststack_format_trace(pcs, n, 0, &f, small, sizeof small);
  if (need >= sizeof small) {
    buf = malloc(need + 1);
    if (buf) faststack_format_trace(pcs, n, 0, &f, buf, need + 1);
    else {
      buf = small;
      need = sizeof small - 1;
    }
  }
  while (f.format == FASTSTACK_FORMAT_JSON && need > 0 && buf[need - 1] == '\n')
    need--;
  fs_out_mem(o, buf, need);
  if (f.format != FASTSTACK_FORMAT_JSON && (need == 0 || buf[need - 1] != '\n'))
    fs_out_char(o, '\n');
  if (buf != small) free(buf);
}

/* ------------------------------------------------------------ public API */

FASTSTACK_API int faststack_exception_pcs(uintptr_t *pcs, int max)
{
  void *obj;
  const void *type;
  int tid;
  if (!pcs || max <= 0 || !fs_exc_current(&obj, &type)) return 0;
  return fs_exc_trace(obj, pcs, max, &tid);
}

static int exception_out(fs_out *o, const faststack_format_options *opts)
{
  void *obj;
  const void *type;
  if (!fs_exc_current(&obj, &type)) return -1;
  faststack_format_options d;
  if (!opts) {
    faststack_format_options_init(&d, FASTSTACK_FORMAT_GO);
    opts = &d;
  }
  if (opts->format == FASTSTACK_FORMAT_JSON) {
    fs_out_char(o, '{');
    fs_exc_describe(o, obj, type, 1);
    fs_out_str(o, ",\"trace\":");
    fs_exc_write_trace(o, obj, opts);
    fs_out_str(o, "}\n");
    return 0;
  }
  fs_out_str(o, "exception ");
  fs_exc_describe(o, obj, type, 0);
  fs_out_char(o, '\n');
  fs_exc_write_trace(o, obj, opts);
  return 0;
}

FASTSTACK_API size_t faststack_format_exception(
    const faststack_format_options *opts, char *buf, size_t cap)
{
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  exception_out(&o, opts);
  return fs_out_finish(&o);
}

FASTSTACK_API int faststack_print_exception(int fd,
                                            const faststack_format_options *o)
{
  if (fd < 0) return -1;
  faststack_format_options c;
  if (o) c = *o;
  else faststack_format_options_init(&c, FASTSTACK_FORMAT_GO);
  c.color = fs_format_use_color(&c, fd);
  /* Into memory first: one write, so reports of concurrent catches do
   * not interleave line by line. */
  char small[16384];
  char *buf = small;
  fs_out out;
  fs_out_init_buf(&out, small, sizeof small);
  if (exception_out(&out, &c) != 0) return -1;
  size_t need = fs_out_finish(&out);
  if (need >= sizeof small) {
    char *big = malloc(need + 1);
    if (big) {
      buf = big;
      need = faststack_format_exception(&c, big, need + 1);
    } else {
      need = sizeof small - 1;
    }
  }
  int rc = fs_write_all(fd, buf, need);
  if (buf != small) free(buf);
  return rc;
}

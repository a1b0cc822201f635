/* stacktable.c — interning of captured stacks with counts.
 *
 * The table lives in one mmap'd block sized at create time, so insertion
 * allocates nothing and can run in a signal handler. Open addressing keyed
 * by a hash of the PCs; each slot moves EMPTY -> BUSY -> READY exactly
 * once (claimed by CAS), so a READY slot's PCs never change and readers
 * need no lock. A writer that meets a BUSY slot does not wait for it (the
 * owner may be the very thread this handler interrupted): it probes on,
 * at worst interning a duplicate of that stack, which consumers merge. */
#include "sinks/sinks.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

enum { SLOT_EMPTY = 0, SLOT_BUSY = 1, SLOT_READY = 2, SLOT_DEAD = 3 };

typedef struct slot {
  _Atomic uint32_t state;
  uint32_t n;     /* PCs in the stack */
  uint32_t flags; /* FASTSTACK_PCS_* given at insertion */
  uint32_t pad;
  uint64_t hash;
  uint64_t off; /* index of the first PC in the arena */
  _Atomic uint64_t count;
} slot;

/* What every insertion reads shares no cache line with what insertions
 * write (the arena's fill level, the overflow count: written only for a
 * new stack or a full table). There is no running total: a counter every
 * insertion adds to would bounce between the cores of threads that
 * insert at once; faststack_stack_table_total sums the slots instead. */
struct faststack_stack_table {
  size_t map_size;
  size_t cap;       /* slots, a power of two */
  size_t arena_cap; /* PCs */
  slot *slots;
  uintptr_t *arena;
  _Alignas(64) _Atomic size_t arena_used;
  _Atomic uint64_t overflow;
};

/* One step of a lane: FNV-style mixing of a whole word. */
static inline uint64_t mix(uint64_t h, uint64_t w)
{
  h ^= w;
  h *= 0x100000001b3ull;
  return h ^ (h >> 29);
}

static inline uint64_t rotl(uint64_t x, int r)
{
  return (x << r) | (x >> (64 - r));
}

static uint64_t hash_pcs(const uintptr_t *pcs, int n, unsigned flags)
{
  /* Four independent lanes, so the multiplies overlap instead of waiting
   * on each other (a profiler hashes every sample's stack), folded and
   * avalanched at the end: cheap, and good enough for open addressing
   * over code addresses. */
  uint64_t h0 = 0x9e3779b97f4a7c15ull ^ (uint64_t)n ^ ((uint64_t)flags << 56);
  uint64_t h1 = h0 ^ 0x243f6a8885a308d3ull, h2 = h0 ^ 0x13198a2e03707344ull,
           h3 = h0 ^ 0xa4093822299f31d0ull;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    h0 = mix(h0, (uint64_t)pcs[i]);
    h1 = mix(h1, (uint64_t)pcs[i + 1]);
    h2 = mix(h2, (uint64_t)pcs[i + 2]);
    h3 = mix(h3, (uint64_t)pcs[i + 3]);
  }
  for (; i < n; i++) h0 = mix(h0, (uint64_t)pcs[i]);
  uint64_t h = h0 ^ rotl(h1, 17) ^ rotl(h2, 31) ^ rotl(h3, 47);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

faststack_stack_table *faststack_stack_table_create(size_t max_stacks,
                                                    size_t max_pcs)
{
  if (max_stacks == 0) max_stacks = 4096;
  if (max_pcs == 0) max_pcs = max_stacks * 32;
  /* Keep the load factor at or below 1/2 so probes stay short. */
  size_t cap = 16;
  while (cap < 2 * max_stacks) {
    if (cap > ((size_t)1 << 40)) return NULL;
    cap <<= 1;
  }
  size_t hdr = (sizeof(struct faststack_stack_table) + 63) & ~(size_t)63;
  size_t size = hdr + cap * sizeof(slot) + max_pcs * sizeof(uintptr_t);
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return NULL;
  faststack_stack_table *t = mem;
  t->map_size = size;
  t->cap = cap;
  t->arena_cap = max_pcs;
  t->slots = (slot *)((char *)mem + hdr);
  t->arena = (uintptr_t *)(t->slots + cap);
  return t;
}

void faststack_stack_table_free(faststack_stack_table *t)
{
  if (t) munmap(t, t->map_size);
}

uint64_t faststack_stack_table_insert(faststack_stack_table *t,
                                      const uintptr_t *pcs, int n,
                                      unsigned flags, uint64_t count)
{
  if (!t || n < 0 || (n > 0 && !pcs)) return 0;
  uint64_t h = hash_pcs(pcs, n, flags);
  size_t mask = t->cap - 1;
  for (size_t probe = 0, i = (size_t)h & mask; probe < t->cap;
       probe++, i = (i + 1) & mask) {
    slot *s = &t->slots[i];
    uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    if (st == SLOT_EMPTY) {
      uint32_t want = SLOT_EMPTY;
      if (!atomic_compare_exchange_strong_explicit(&s->state, &want, SLOT_BUSY,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire)) {
        st = want; /* lost the race; look at what won */
      } else {
        size_t off = atomic_fetch_add_explicit(&t->arena_used, (size_t)n,
                                               memory_order_relaxed);
        if (off + (size_t)n > t->arena_cap) {
          /* Arena exhausted: the slot stays dead so nobody waits on it. */
          atomic_store_explicit(&s->state, SLOT_DEAD, memory_order_release);
          break;
        }
        if (n) memcpy(&t->arena[off], pcs, (size_t)n * sizeof(uintptr_t));
        s->n = (uint32_t)n;
        s->flags = flags;
        s->hash = h;
        s->off = off;
        atomic_store_explicit(&s->count, count, memory_order_relaxed);
        atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
        return (uint64_t)i + 1;
      }
    }
    if (st == SLOT_READY && s->hash == h && s->n == (uint32_t)n &&
        s->flags == flags &&
        (n == 0 ||
         memcmp(&t->arena[s->off], pcs, (size_t)n * sizeof(uintptr_t)) == 0)) {
      atomic_fetch_add_explicit(&s->count, count, memory_order_relaxed);
      return (uint64_t)i + 1;
    }
    /* BUSY, DEAD or another stack: probe on. */
  }
  atomic_fetch_add_explicit(&t->overflow, count, memory_order_relaxed);
  return 0;
}

size_t faststack_stack_table_foreach(const faststack_stack_table *t,
                                     faststack_stack_visit fn, void *arg)
{
  if (!t || !fn) return 0;
  size_t visited = 0;
  faststack_stack_table *m = (faststack_stack_table *)t;
  for (size_t i = 0; i < t->cap; i++) {
    slot *s = &m->slots[i];
    if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
      continue;
    faststack_stack_entry e = {
        .id = (uint64_t)i + 1,
        .pcs = &t->arena[s->off],
        .n = (int)s->n,
        .flags = s->flags,
        .count = atomic_load_explicit(&s->count, memory_order_relaxed),
    };
    visited++;
    if (fn(arg, &e) != 0) break;
  }
  return visited;
}

int faststack_stack_table_get(const faststack_stack_table *t, uint64_t id,
                              faststack_stack_entry *out)
{
  if (!t || !out || id == 0 || id > t->cap) return 0;
  slot *s = &((faststack_stack_table *)t)->slots[id - 1];
  if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
    return 0;
  out->id = id;
  out->pcs = &t->arena[s->off];
  out->n = (int)s->n;
  out->flags = s->flags;
  out->count = atomic_load_explicit(&s->count, memory_order_relaxed);
  return 1;
}

uint64_t faststack_stack_table_overflow(const faststack_stack_table *t)
{
  return t ? atomic_load_explicit(&((faststack_stack_table *)t)->overflow,
                                  memory_order_relaxed)
           : 0;
}

uint64_t faststack_stack_table_total(const faststack_stack_table *t)
{
  if (!t) return 0;
  faststack_stack_table *m = (faststack_stack_table *)t;
  uint64_t sum = atomic_load_explicit(&m->overflow, memory_order_relaxed);
  for (size_t i = 0; i < t->cap; i++)
    if (atomic_load_explicit(&m->slots[i].state, memory_order_acquire) ==
        SLOT_READY)
      sum += atomic_load_explicit(&m->slots[i].count, memory_order_relaxed);
  return sum;
}

void faststack_stack_table_reset(faststack_stack_table *t)
{
  if (!t) return;
  memset(t->slots, 0, t->cap * sizeof(slot));
  atomic_store(&t->arena_used, 0);
  atomic_store(&t->overflow, 0);
}
